/*
 * housekeep.c - `pipeline housekeep`: retention of the files the pipeline keeps on disk.
 *
 * The fetched statement files (data_dir/inbox/DATE/), the reports (report_dir/DATE/) and the per-run
 * logs (data_dir/log/DATE/) of business dates older than [housekeep] keep_days calendar days before
 * today (configured time zone) are moved under archive_dir/{inbox,reports,log}/DATE (action =
 * archive, the default) or deleted (action = remove). Age is read from the DATE directory name, not
 * from file times, so the result does not depend on when files were copied. Only directories named
 * exactly YYYY-MM-DD are touched. The database is never touched: its records are the audit trail
 * (fetched_file rows keep naming the original path). Files made for the bank and the trustee
 * (data_dir/outbox) are kept: they are the evidence of what was paid and issued.
 *
 * Idempotent: a second run finds nothing to do. An archive destination that already exists is
 * never overwritten: that directory is skipped with an error and the command exits 1.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "config.h"
#include "log.h"
#include "util.h"

struct hk_totals {
	int moved, removed, failed, kept;
};

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP ? rmdir(path) != 0 : unlink(path) != 0)
		return errno ? errno : EIO;
	return 0;
}

/* rm -rf without following symbolic links (FTW_PHYS) and children first (FTW_DEPTH). */
static enum perr
remove_tree(const char *path)
{
	int r = nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);

	if (r != 0)
		return perr_set(PERR_IO, "%s: cannot remove: %s", path, strerror(r > 0 ? r : errno));
	return PERR_OK;
}

/* Handles one kind of dated directory ("inbox", "reports", "log") under `root`. */
static void
sweep(const struct config *cfg, const char *kind, const char *root, date_t before, bool dry_run,
    struct hk_totals *tot)
{
	DIR *d = opendir(root);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, i;

	if (d == NULL) {
		if (errno != ENOENT) {
			log_event(LOG_ERROR, "housekeep", "cannot read directory", "dir", root, "error",
			    strerror(errno), (const char *)NULL);
			tot->failed++;
		}
		return;
	}
	while ((de = readdir(d)) != NULL) {
		date_t dt;
		char check[DATE_BUFSZ];

		if (strlen(de->d_name) != 10 || date_parse_iso(de->d_name, &dt) != PERR_OK
		    || strcmp(date_format_iso(dt, check), de->d_name) != 0)
			continue;       /* not ours: left alone */
		if (dt >= before) {
			tot->kept++;
			continue;
		}
		names = xrealloc(names, (n + 1) * sizeof *names);
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	/* oldest first, so an interrupted run leaves the newest data in place */
	for (i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			char *t = names[j];

			names[j] = names[j - 1];
			names[j - 1] = t;
		}
	for (i = 0; i < n; i++) {
		char *src = xasprintf("%s/%s", root, names[i]);
		struct stat st;

		if (lstat(src, &st) != 0 || !S_ISDIR(st.st_mode)) {
			free(src);
			continue;
		}
		if (cfg->housekeep_remove) {
			if (dry_run)
				printf("would remove %s\n", src);
			else if (remove_tree(src) == PERR_OK) {
				printf("removed %s\n", src);
				log_event(LOG_INFO, "housekeep", "removed", "kind", kind, "dir", src, (const char *)NULL);
				tot->removed++;
			} else {
				log_event(LOG_ERROR, "housekeep", "remove failed", "error", perr_detail(),
				    (const char *)NULL);
				tot->failed++;
			}
		} else {
			char *parent = xasprintf("%s/%s", cfg->housekeep_archive_dir, kind);
			char *dst = xasprintf("%s/%s", parent, names[i]);

			if (dry_run)
				printf("would archive %s -> %s\n", src, dst);
			else if (lstat(dst, &st) == 0) {
				log_event(LOG_ERROR, "housekeep", "archive destination exists; not overwritten",
				    "dir", src, "destination", dst, (const char *)NULL);
				fprintf(stderr, "pipeline: housekeep: %s already exists: move or remove it by hand, "
				    "then run housekeep again\n", dst);
				tot->failed++;
			} else if (mkdir_p(parent, 0750) != PERR_OK || rename(src, dst) != 0) {
				const char *why = errno == EXDEV
				    ? "the archive is on another file system (rename only): put archive_dir on the "
				      "same file system as data_dir, or use action = remove"
				    : strerror(errno);

				log_event(LOG_ERROR, "housekeep", "archive failed", "dir", src, "error", why,
				    (const char *)NULL);
				fprintf(stderr, "pipeline: housekeep: cannot move %s to %s: %s\n", src, dst, why);
				tot->failed++;
			} else {
				fsync_dir_of(parent, true);
				fsync_dir_of(root, true);
				printf("archived %s -> %s\n", src, dst);
				log_event(LOG_INFO, "housekeep", "archived", "kind", kind, "dir", src, "to", dst,
				    (const char *)NULL);
				tot->moved++;
			}
			free(parent);
			free(dst);
		}
		free(src);
		free(names[i]);
	}
	free(names);
}

static void
usage_housekeep(FILE *fp)
{
	fprintf(fp,
	    "usage: pipeline housekeep [--dry-run] [--keep-days N]\n\n"
	    "Archives (or, with [housekeep] action = remove, deletes) the fetched statement files, reports\n"
	    "and run logs of business dates more than keep_days calendar days before today. Never touches\n"
	    "the database or the outbox (files sent to the bank and the trustee).\n"
	    "  --dry-run      print what would be done, change nothing\n"
	    "  --keep-days N  override [housekeep] keep_days for this run (N >= 1)\n");
}

int
cmd_housekeep(int argc, char **argv, const char *config_path)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "keep-days", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct config *cfg = NULL;
	struct hk_totals tot = { 0, 0, 0, 0 };
	bool dry_run = false;
	long keep = -1;
	date_t today, before;
	char iso[DATE_BUFSZ], *dir;
	enum perr e;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': dry_run = true; break;
		case 'k': {
			char *end;

			errno = 0;
			keep = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || errno || keep < 1 || keep > 36500) {
				fprintf(stderr, "pipeline: housekeep: --keep-days %s: expected a whole number from 1 to 36500\n",
				    optarg);
				return 2;
			}
			break;
		}
		case 'h': usage_housekeep(stdout); return 0;
		default: usage_housekeep(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage_housekeep(stderr);
		return 2;
	}
	if ((e = cli_open(config_path, "housekeep", &cfg, NULL)) != PERR_OK)
		return cli_fail(e);
	if (keep < 0)
		keep = cfg->housekeep_keep_days;
	if (keep == 0) {
		printf("housekeep: [housekeep] keep_days = 0: retention is off, nothing done\n");
		config_free(cfg);
		return 0;
	}
	if ((e = date_today_in_zone(cfg->timezone, &today)) != PERR_OK) {
		config_free(cfg);
		return cli_fail(e);
	}
	before = today - (date_t)keep;
	log_event(LOG_INFO, "housekeep", dry_run ? "dry run" : "started", "older_than", date_format_iso(before, iso),
	    "action", cfg->housekeep_remove ? "remove" : "archive", (const char *)NULL);
	dir = xasprintf("%s/inbox", cfg->data_dir);
	sweep(cfg, "inbox", dir, before, dry_run, &tot);
	free(dir);
	sweep(cfg, "reports", cfg->report_dir, before, dry_run, &tot);
	dir = xasprintf("%s/log", cfg->data_dir);
	sweep(cfg, "log", dir, before, dry_run, &tot);
	free(dir);
	printf("housekeep: business dates before %s: %d archived, %d removed, %d failed, %d kept\n", iso,
	    tot.moved, tot.removed, tot.failed, tot.kept);
	config_free(cfg);
	return tot.failed ? 1 : 0;
}
