/*
 * notify.c - `pipeline notify`: --test sends the summary of a date now through every configured
 * channel; --cut-off prints what the nightly wrapper needs to know to retry exit 3. The summary
 * itself (gathering, formatting, sending) is reports/notify.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "commands.h"
#include "notify.h"

static void
usage_notify(FILE *fp)
{
	fprintf(fp,
	    "usage: pipeline notify --test [--date YYYY-MM-DD]\n"
	    "       pipeline notify --cut-off [--date YYYY-MM-DD]\n\n"
	    "--test     sends the summary of the date as it stands now through every configured channel\n"
	    "           ([notify] command, webhook_url): checks the channels work. Exit 0 if all accepted it.\n"
	    "--cut-off  prints \"DATE SECONDS_LEFT CUT_OFF\" for the nightly wrapper: the business date (pinned\n"
	    "           once), the seconds until its cut-off (0 when passed) and the cut-off in UTC, or\n"
	    "           \"DATE none -\" when no cut_off is configured.\n");
}

int
cmd_notify(int argc, char **argv, const char *config_path)
{
	static const struct option opts[] = {
		{ "date", required_argument, NULL, 'd' },
		{ "test", no_argument, NULL, 't' },
		{ "cut-off", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *date_arg = NULL;
	int mode = 0, c;
	struct config *cfg = NULL;
	PGconn *db = NULL;
	date_t date;
	enum perr e;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': date_arg = optarg; break;
		case 't': case 'c':
			if (mode && mode != c) {
				usage_notify(stderr);
				return 2;
			}
			mode = c;
			break;
		case 'h': usage_notify(stdout); return 0;
		default: usage_notify(stderr); return 2;
		}
	}
	if (optind != argc || mode == 0) {
		usage_notify(stderr);
		return 2;
	}
	if (mode == 'c') {
		time_t cut;
		char iso[DATE_BUFSZ], when[32];
		struct tm tm;

		if ((e = cli_open(config_path, "notify", &cfg, NULL)) != PERR_OK)
			return cli_fail(e);
		if ((e = cli_date(cfg, date_arg, &date)) != PERR_OK)
			goto out;
		date_format_iso(date, iso);
		e = notify_cut_off(cfg, date, &cut);
		if (e == PERR_NOT_FOUND) {
			printf("%s none -\n", iso);
			e = PERR_OK;
		} else if (e == PERR_OK) {
			time_t now = time(NULL);

			gmtime_r(&cut, &tm);
			strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
			printf("%s %lld %s\n", iso, (long long)(now < cut ? cut - now : 0), when);
		}
		goto out;
	}
	if ((e = cli_open(config_path, "notify", &cfg, &db)) != PERR_OK)
		return cli_fail(e);
	if ((e = cli_date(cfg, date_arg, &date)) != PERR_OK)
		goto out;
	if (!notify_configured(cfg)) {
		e = perr_set(PERR_CONFIG, "%s: [notify] has no command, mail_to, webhook_url or webhook_url_env: "
		    "nothing to send to", cfg->path);
		goto out;
	}
	{
		struct notify_summary s;

		memset(&s, 0, sizeof s);
		notify_gather(cfg, db, date, &s);
		s.status = "TEST";
		e = notify_send(cfg, &s);
		notify_summary_free(&s);
		if (e == PERR_OK)
			printf("notification sent\n");
	}
out:
	PQfinish(db);
	config_free(cfg);
	return e == PERR_OK ? 0 : cli_fail(e);
}
