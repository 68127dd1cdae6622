/*
 * trust.c - StrictModes for the pipeline's trusted files (see trust.h): owner root or us, not
 * writable by group or others, nor replaceable through their directory.
 */
#include "trust.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

struct first_problem {
	char *msg;
	int count;
};

/* The command that fixes a problem of `path` (a new string owned by the caller). */
static char *
fix_for(bool owner, const char *path)
{
	if (owner)
		return xasprintf("chown root %s (or run the pipeline as its owner)", path);
	return xasprintf("chmod go-w %s", path);
}

/* The problem of one stat result (owner, write bits), or NULL if there is none. Static text. */
static const char *
mode_problem(const struct stat *st, bool is_dir, bool *owner)
{
	*owner = st->st_uid != 0 && st->st_uid != geteuid();
	if (*owner)
		return is_dir ? "its directory is owned by another user" : "is owned by another user";
	if ((st->st_mode & 022) != 0 && !(is_dir && (st->st_mode & S_ISVTX)))
		return is_dir ? "its directory is writable by group or others" : "is writable by group or others";
	return NULL;
}

/* Checks one trusted path (a file, or formats_dir) and the directory holding it. */
static int
check_path(const char *path, const char *role, trust_problem_fn fn, void *arg)
{
	struct stat st;
	const char *what;
	bool owner;
	char *dir, *slash, *msg, *fix;
	int n = 0;

	if (path == NULL || *path == '\0' || stat(path, &st) != 0)
		return 0;       /* missing: whoever uses it reports that */
	if ((what = mode_problem(&st, false, &owner)) != NULL) {
		msg = xasprintf("%s (%s) %s (owner uid %u, mode %04o)", path, role, what, (unsigned)st.st_uid,
		    (unsigned)(st.st_mode & 07777));
		fix = fix_for(owner, path);
		fn(arg, path, msg, fix);
		free(msg);
		free(fix);
		n++;
	}
	dir = xstrdup(path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	else
		strcpy(dir, ".");
	if (stat(dir, &st) == 0 && (what = mode_problem(&st, true, &owner)) != NULL) {
		msg = xasprintf("%s (%s): %s %s (owner uid %u, mode %04o), so the file can be replaced", path, role,
		    what, dir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		fix = fix_for(owner, dir);
		fn(arg, path, msg, fix);
		free(msg);
		free(fix);
		n++;
	}
	free(dir);
	return n;
}

static int
check_endpoint(const struct endpoint_cfg *ep, trust_problem_fn fn, void *arg)
{
	return check_path(ep->known_hosts, "known_hosts", fn, arg) + check_path(ep->key_file, "key_file", fn, arg);
}

/* formats_dir itself and every *.layout in it. */
static int
check_formats(const char *dir, trust_problem_fn fn, void *arg)
{
	DIR *d;
	struct dirent *de;
	int n;

	if (dir == NULL)
		return 0;
	n = check_path(dir, "formats_dir", fn, arg);
	if ((d = opendir(dir)) == NULL)
		return n;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		char *p;

		if (len <= 7 || strcmp(de->d_name + len - 7, ".layout") != 0)
			continue;
		p = xasprintf("%s/%s", dir, de->d_name);
		n += check_path(p, "layout", fn, arg);
		free(p);
	}
	closedir(d);
	return n;
}

int
trust_check_all(const struct config *cfg, trust_problem_fn fn, void *arg)
{
	size_t i;
	int n = 0;

	n += check_path(cfg->path, "the configuration", fn, arg);
	n += check_path(cfg->db_password_file, "password_file", fn, arg);
	n += check_formats(cfg->formats_dir, fn, arg);
	for (i = 0; i < cfg->n_sources; i++)
		n += check_endpoint(&cfg->sources[i].ep, fn, arg);
	if (cfg->have_payments_out)
		n += check_endpoint(&cfg->payments_out, fn, arg);
	if (cfg->have_issuance_out)
		n += check_endpoint(&cfg->issuance_out, fn, arg);
	return n;
}

static void
keep_first(void *arg, const char *path, const char *what, const char *fix)
{
	struct first_problem *fp = arg;

	(void)path;
	if (fp->count++ == 0)
		fp->msg = xasprintf("%s: anyone who can write it could redirect payments or add a host key; "
		    "fix: %s", what, fix);
}

enum perr
trust_require(const struct config *cfg)
{
	struct first_problem fp = { NULL, 0 };
	enum perr e = PERR_OK;

	trust_check_all(cfg, keep_first, &fp);
	if (fp.count > 0)
		e = perr_set(PERR_CONFIG, "refusing to start: %s%s", fp.msg,
		    fp.count > 1 ? " (and more: `pipeline doctor` lists them all)" : "");
	free(fp.msg);
	return e;
}
