/*
 * fetch.c - the fetch stage: brings each [source.*]'s files for the business date into
 * <data_dir>/inbox/DATE/SOURCE/ and records them in fetched_file.
 *
 * Per source: connect (src/transport.c does the strict SSH part), list remote_dir, take the
 * regular files whose names are safe and match the source's anchored pattern (with %Y %m %d %y
 * replaced by the business date), download each one atomically, then decide by SHA-256:
 *   - same remote name and same content as a file already recorded for the source and date:
 *     nothing to do (a rerun fetches nothing new);
 *   - same remote name, different content: CONFLICT, kept beside the first as NAME.<sha-12> and a
 *     FILE_CONFLICT exception is opened (a bank re-sent a corrected statement; a person decides);
 *   - content identical to any earlier file (also under another name or date): DUPLICATE of it;
 *   - otherwise NEW.
 * Each file is recorded in its own transaction together with its rename into place, so a killed
 * run leaves either a recorded file or nothing (a file renamed but not recorded is replaced on the
 * next run). Stale temporary files (names starting with '.') in the inbox are ours and removed.
 *
 * Missing input: a required source with fewer than expected_count files of new content (NEW or
 * CONFLICT; a DUPLICATE is an old file re-sent, not the day's input) recorded for the date is
 * looked at again missing_retries times (missing_backoff_ms, doubled each time), then the stage
 * returns PERR_NOT_AVAILABLE (exit 3) naming every missing source. Connection loss and timeouts
 * are retried ep.retries times with retry_backoff_ms doubled. Host key, authentication and
 * configuration errors are not retried. A failure of one source does not stop the others; the
 * stage returns the first hard error, else PERR_NOT_AVAILABLE, else OK.
 *
 * --force: the fetch stage never deletes what it fetched (later stages refer to it); a forced
 * rerun looks at the servers again and adds only what is new.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <dirent.h>
#include <errno.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "exceptions.h"
#include "log.h"
#include "signals.h"
#include "stage.h"
#include "transport.h"
#include "utf8.h"
#include "util.h"

#define STAGE "fetch"

struct source_state {
	const struct source_cfg *src;
	char *pattern;          /* expanded */
	pcre2_code *re;
	char *inbox;            /* data_dir/inbox/DATE/SOURCE */
	int fetched;            /* new rows written by this execution */
	int64_t have;           /* NEW and CONFLICT rows recorded for source and date */
	int64_t dups;           /* DUPLICATE rows: a re-sent old file is not today's input */
	int changing;           /* files seen changing while read in the last pass (looked at again) */
	char *changing_detail;  /* the last such file's detail */
	enum perr err;          /* hard error of this source, PERR_OK if none */
	char *err_detail;
};

static void
msleep(int64_t ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR && stop_check() == PERR_OK)
		;   /* a stop (SIGTERM/SIGINT, src/signals.h) ends the wait; the next connect refuses */
}

/*
 * A remote name made printable for a log line: control bytes and the backslash as \xNN, bidi
 * controls and invisible characters as \uXXXX (src/utf8.h). Caller frees.
 */
static char *
printable(const char *s, size_t len)
{
	return utf8_shown(s, len, UTF8_SHOWN_FIELD | UTF8_SHOWN_BACKSLASH);
}

/* The longest local file name (NAME_MAX on Linux). */
#define NAME_MAX_BYTES 255

/* How many bytes of UTF-8 `s` fit in `max` without cutting a character. */
static size_t
name_cut(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

/*
 * The inbox name a download is staged under: derived from a hash of the remote name, so that any
 * name the server may legally send (up to max_name_len, 255 bytes) still leaves room for the
 * transport's own ".<name>.part.<pid>" temporary. Caller frees.
 */
static char *
staged_name(const char *inbox, const char *name)
{
	char hex[65];

	sha256_hex(name, strlen(name), hex);
	return xasprintf("%s/.incoming.%.24s", inbox, hex);
}

static enum perr
compile_pattern(struct source_state *ss, date_t date)
{
	int errcode;
	PCRE2_SIZE off;
	enum perr e;

	e = transport_pattern_expand(ss->src->pattern, date, &ss->pattern);
	if (e != PERR_OK)
		return perr_set(e, "[source.%s] %s", ss->src->name, perr_detail());
	ss->re = pcre2_compile((PCRE2_SPTR)ss->pattern, PCRE2_ZERO_TERMINATED,
	    PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C, &errcode, &off,
	    NULL);
	if (ss->re == NULL) {
		PCRE2_UCHAR msg[256];

		pcre2_get_error_message(errcode, msg, sizeof msg);
		return perr_set(PERR_CONFIG, "[source.%s] pattern %s: %s at offset %zu", ss->src->name,
		    ss->pattern, (const char *)msg, (size_t)off);
	}
	return PERR_OK;
}

static bool
pattern_matches(const struct source_state *ss, const char *name, size_t len)
{
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(ss->re, NULL);
	int rc = pcre2_match(ss->re, (PCRE2_SPTR)name, len, 0, 0, md, NULL);

	pcre2_match_data_free(md);
	return rc >= 0;
}

/* Removes our temporary files (names starting with '.') left by a killed run. */
static void
clean_inbox(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			log_event(LOG_INFO, STAGE, "removed a temporary file left by an interrupted run", "dir", dir,
			    "file", de->d_name, (const char *)NULL);
	}
	closedir(d);
}

/*
 * Counts what the source delivered for the date: *have the files with new content (NEW, CONFLICT),
 * *dups the byte-identical re-sends (DUPLICATE), which do not count as the expected input.
 */
static enum perr
count_recorded(struct stage_ctx *ctx, const char *source, int64_t *have, int64_t *dups)
{
	const char *p[2] = { source, ctx->date_iso };
	PGresult *r = db_query(ctx->db, PGRES_TUPLES_OK,
	    "SELECT count(*) FILTER (WHERE status <> 'DUPLICATE'), count(*) FILTER (WHERE status = 'DUPLICATE')"
	    " FROM fetched_file WHERE source = $1 AND business_date = $2::date", 2, p);

	if (r == NULL)
		return PERR_DB;
	*have = db_get_i64(r, 0, 0);
	*dups = db_get_i64(r, 0, 1);
	PQclear(r);
	return PERR_OK;
}

/*
 * Decides what a downloaded file is, records it and renames it into place, in one transaction.
 * `staged` is the downloaded file in the inbox; on return it has been renamed or removed.
 * *is_new says a row was written.
 */
static enum perr
record_file(struct stage_ctx *ctx, struct source_state *ss, const char *name, const char *staged,
    const struct transfer_info *ti, bool *is_new)
{
	const char *src = ss->src->name;
	char size[24], run[24], ms[24], fid[24];
	const char *status = "NEW";
	char *local = NULL, *first = NULL, *dup_of = NULL;
	PGresult *r;
	enum perr e;

	*is_new = false;
	if ((e = db_begin(ctx->db)) != PERR_OK)
		goto fail;
	{
		const char *p[4] = { src, ctx->date_iso, name, ti->sha256 };

		r = db_query(ctx->db, PGRES_TUPLES_OK,
		    "SELECT file_id FROM fetched_file WHERE source = $1 AND business_date = $2::date"
		    " AND remote_name = $3 AND sha256 = $4", 4, p);
		if (r == NULL) {
			e = PERR_DB;
			goto fail;
		}
		if (PQntuples(r) > 0) {
			log_event(LOG_INFO, STAGE, "already fetched, unchanged", "source", src, "file", name,
			    "file_id", PQgetvalue(r, 0, 0), (const char *)NULL);
			PQclear(r);
			db_rollback(ctx->db);
			unlink(staged);
			return PERR_OK;
		}
		PQclear(r);
	}
	{
		const char *p[3] = { src, ctx->date_iso, name };

		r = db_query(ctx->db, PGRES_TUPLES_OK,
		    "SELECT file_id, local_path, sha256 FROM fetched_file WHERE source = $1"
		    " AND business_date = $2::date AND remote_name = $3 ORDER BY file_id LIMIT 1", 3, p);
		if (r == NULL) {
			e = PERR_DB;
			goto fail;
		}
		if (PQntuples(r) > 0) {
			status = "CONFLICT";
			first = xasprintf("file %s (%s, SHA-256 %.12s...)", PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1),
			    PQgetvalue(r, 0, 2));
		}
		PQclear(r);
	}
	{
		const char *p[1] = { ti->sha256 };

		r = db_query(ctx->db, PGRES_TUPLES_OK, "SELECT min(file_id) FROM fetched_file WHERE sha256 = $1",
		    1, p);
		if (r == NULL) {
			e = PERR_DB;
			goto fail;
		}
		if (!PQgetisnull(r, 0, 0)) {
			/* Byte-identical to an earlier file: never loaded twice, whatever its name or date. */
			status = "DUPLICATE";
			dup_of = xstrdup(PQgetvalue(r, 0, 0));
		}
		PQclear(r);
	}
	/*
	 * The first file of a remote name keeps it; later versions go beside it as NAME.<sha-12>, the
	 * name cut (at a UTF-8 character boundary) so that it still fits NAME_MAX.
	 */
	if (first == NULL)
		local = xasprintf("%s/%s", ss->inbox, name);
	else
		local = xasprintf("%s/%.*s.%.12s", ss->inbox, (int)name_cut(name, NAME_MAX_BYTES - 13), name,
		    ti->sha256);

	snprintf(size, sizeof size, "%lld", (long long)ti->size);
	snprintf(run, sizeof run, "%lld", (long long)ctx->run_id);
	{
		const char *p[9] = { ctx->date_iso, src, name, local, size, ti->sha256, status, dup_of, run };

		r = db_query(ctx->db, PGRES_TUPLES_OK,
		    "INSERT INTO fetched_file (business_date, source, remote_name, local_path, size_bytes, sha256,"
		    " status, duplicate_of, run_id) VALUES ($1::date, $2, $3, $4, $5::bigint, $6, $7, $8::bigint,"
		    " $9::bigint) RETURNING file_id", 9, p);
		if (r == NULL) {
			e = PERR_DB;
			goto fail;
		}
		snprintf(fid, sizeof fid, "%s", PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	if (!strcmp(status, "CONFLICT")) {
		struct exception_rec x;
		char *subject = xasprintf("file:%s", fid);
		char *detail = xasprintf("%s sent %s again for %s with different content (%lld bytes, SHA-256 %.12s...);"
		    " the first copy is %s, the new one was kept beside it as %s and neither was overwritten."
		    " Decide which one is valid before it is loaded.", src, name, ctx->date_iso, (long long)ti->size,
		    ti->sha256, first, local);

		memset(&x, 0, sizeof x);
		x.type = "FILE_CONFLICT";
		x.severity = "ERROR";
		x.subject = subject;
		x.account_no = ss->src->account_no;
		x.item_date = ctx->date_iso;
		x.statement_ref = name;
		x.detail = detail;
		e = exception_open(ctx, STAGE, &x, NULL);
		free(subject);
		free(detail);
		if (e != PERR_OK)
			goto fail;
	}
	if (rename(staged, local) != 0) {
		e = perr_set(PERR_IO, "%s: rename to %s: %s", staged, local, strerror(errno));
		goto fail;
	}
	if ((e = fsync_dir_of(local, false)) != PERR_OK)
		goto fail_renamed;
	if ((e = db_commit(ctx->db)) != PERR_OK)
		goto fail_renamed;
	*is_new = true;
	snprintf(ms, sizeof ms, "%lld", (long long)ti->elapsed_ms);
	log_event(!strcmp(status, "CONFLICT") ? LOG_WARN : LOG_INFO, STAGE, "file fetched", "source", src,
	    "file", name, "status", status, "file_id", fid, "size", size, "sha256", ti->sha256, "ms", ms,
	    "local", local, (const char *)NULL);
	free(local);
	free(first);
	free(dup_of);
	return PERR_OK;

fail_renamed:
	/* Not recorded: take the file away again so that nothing unrecorded sits under a final name. */
	unlink(local);
fail:
	db_rollback(ctx->db);
	unlink(staged);
	free(local);
	free(first);
	free(dup_of);
	return e;
}

/* One pass over a source: connect, list, fetch what matches. Hard errors return at once. */
static enum perr
fetch_pass(struct stage_ctx *ctx, struct source_state *ss, enum perr *file_err, char **file_detail)
{
	const struct source_cfg *src = ss->src;
	struct transport *t = NULL;
	struct remote_list l = { NULL, 0 };
	enum perr e;
	size_t i;

	if ((e = transport_open(&src->ep, &t)) != PERR_OK) {
		if (e == PERR_NOT_AVAILABLE && src->ep.transport == TRANSPORT_DIR)
			return PERR_OK;   /* a drop directory not created yet: nothing there */
		return e;
	}
	if ((e = transport_list(t, &l)) != PERR_OK) {
		transport_close(t);
		return e;
	}
	for (i = 0; i < l.n; i++) {
		const struct remote_entry *re = &l.v[i];
		const char *why;
		char *shown = printable(re->name, re->name_len);
		char *staged, *label;
		struct transfer_info ti;
		bool is_new;

		if (re->name_len > (size_t)src->ep.max_name_len) {
			log_event(LOG_WARN, STAGE, "remote name refused", "source", src->name, "file", shown,
			    "reason", "is longer than max_name_len", (const char *)NULL);
			free(shown);
			continue;
		}
		if (!transport_name_safe(re->name, re->name_len, &why)) {
			log_event(LOG_WARN, STAGE, "remote name refused", "source", src->name, "file", shown,
			    "reason", why, (const char *)NULL);
			free(shown);
			continue;
		}
		if (!pattern_matches(ss, re->name, re->name_len)) {
			log_event(LOG_DEBUG, STAGE, "not this source's file", "source", src->name, "file", shown,
			    (const char *)NULL);
			free(shown);
			continue;
		}
		if (re->type != REMOTE_FILE) {
			log_event(LOG_WARN, STAGE, "matching name is not a regular file; skipped", "source", src->name,
			    "file", shown, "type", re->type == REMOTE_DIR ? "directory" :
			    re->type == REMOTE_SYMLINK ? "symlink" : "other", (const char *)NULL);
			free(shown);
			continue;
		}
		ctx->rows_in++;
		staged = staged_name(ss->inbox, re->name);
		label = xasprintf("%s/%s", src->name, re->name);
		memset(&ti, 0, sizeof ti);
		e = transport_get(t, re->name, re->size, staged, src->max_size, label, &ti);
		free(label);
		if (e == PERR_OK) {
			e = record_file(ctx, ss, re->name, staged, &ti, &is_new);
			if (e == PERR_OK && is_new) {
				ss->fetched++;
				ctx->rows_out++;
				if (src->archive_dir != NULL && transport_archive(t, re->name, src->archive_dir) != PERR_OK)
					log_event(LOG_WARN, STAGE, "could not archive the remote file", "source", src->name,
					    "file", shown, "error", perr_detail(), (const char *)NULL);
			}
		}
		free(staged);
		if (e == PERR_REMOTE_CHANGING) {
			/* Not taken now; fetch_source looks at the source again later (changed_retries). */
			log_event(LOG_WARN, STAGE, "file changed while it was read; not taken, looking again later",
			    "source", src->name, "file", shown, "error", perr_detail(), (const char *)NULL);
			ss->changing++;
			free(ss->changing_detail);
			ss->changing_detail = xstrdup(perr_detail());
			free(shown);
			e = PERR_OK;
			if (transport_broken(t))
				break;
			continue;
		}
		if (e == PERR_TOO_LARGE || e == PERR_UNSAFE_NAME || e == PERR_REMOTE_OVERRUN || e == PERR_LIMIT) {
			/* This file is refused; the others may still come. The stage fails at the end. */
			log_event(LOG_ERROR, STAGE, "file refused", "source", src->name, "file", shown, "error",
			    perr_detail(), (const char *)NULL);
			if (*file_err == PERR_OK) {
				*file_err = e;
				*file_detail = xstrdup(perr_detail());
			}
			free(shown);
			if (transport_broken(t)) {    /* a cut-off transfer leaves the session unusable: the stage fails */
				e = PERR_OK;
				break;
			}
			continue;
		}
		free(shown);
		if (e != PERR_OK)
			break;
	}
	remote_list_free(&l);
	transport_close(t);
	return e;
}

/* A source with connection retries and missing-file retries. Sets ss->err on a hard error. */
static void
fetch_source(struct stage_ctx *ctx, struct source_state *ss)
{
	const struct source_cfg *src = ss->src;
	int64_t backoff = src->ep.retry_backoff_ms > 0 ? src->ep.retry_backoff_ms : 0;
	int64_t mbackoff = src->missing_backoff_ms > 0 ? src->missing_backoff_ms : 0;
	int conn_try = 0, miss_try = 0, change_try = 0;
	enum perr file_err = PERR_OK;
	char *file_detail = NULL;
	char num[16];
	enum perr e;

	for (;;) {
		e = fetch_pass(ctx, ss, &file_err, &file_detail);
		if (e != PERR_OK && transport_retryable(e) && conn_try < src->ep.retries) {
			conn_try++;
			snprintf(num, sizeof num, "%d", conn_try);
			log_event(LOG_WARN, STAGE, "connection problem; retrying", "source", src->name, "attempt", num,
			    "error", perr_detail(), (const char *)NULL);
			msleep(backoff);
			backoff *= 2;
			continue;
		}
		if (e != PERR_OK)
			break;
		if (ss->changing > 0) {
			if (change_try >= src->changed_retries) {
				e = perr_set(PERR_REMOTE_CHANGING, "%s (still changing after %d look(s) again: changed_retries)",
				    ss->changing_detail, change_try);
				break;
			}
			change_try++;
			ss->changing = 0;
			msleep(mbackoff);
			mbackoff *= 2;
			continue;
		}
		if ((e = count_recorded(ctx, src->name, &ss->have, &ss->dups)) != PERR_OK)
			break;
		if (!src->required || ss->have >= src->expected_count || miss_try >= src->missing_retries)
			break;
		miss_try++;
		snprintf(num, sizeof num, "%d", miss_try);
		log_event(LOG_INFO, STAGE, "expected file not there yet; looking again", "source", src->name,
		    "pattern", ss->pattern, "attempt", num, (const char *)NULL);
		msleep(mbackoff);
		mbackoff *= 2;
	}
	if (e == PERR_OK && file_err != PERR_OK) {
		e = file_err;
		perr_set(e, "%s", file_detail);
	}
	free(file_detail);
	if (e != PERR_OK) {
		ss->err = e;
		ss->err_detail = xstrdup(perr_detail());
		/* said once: a refused file's own line already gave this error */
		if (!log_error_logged(ss->err_detail))
			log_event(LOG_ERROR, STAGE, "source failed", "source", src->name, "error", ss->err_detail,
			    (const char *)NULL);
	}
}

enum perr
stage_fetch(struct stage_ctx *ctx)
{
	const struct config *cfg = ctx->cfg;
	struct source_state *st;
	enum perr e = PERR_OK, hard = PERR_OK;
	char *hard_detail = NULL, *missing = NULL;
	size_t i;

	if (cfg->n_sources == 0) {
		log_event(LOG_WARN, STAGE, "no [source.*] configured; nothing to fetch", (const char *)NULL);
		return PERR_OK;
	}
	st = xcalloc(cfg->n_sources, sizeof *st);
	for (i = 0; i < cfg->n_sources; i++) {
		struct source_state *ss = &st[i];

		ss->src = &cfg->sources[i];
		if ((e = compile_pattern(ss, ctx->date)) != PERR_OK)
			goto out;
		ss->inbox = xasprintf("%s/inbox/%s/%s", cfg->data_dir, ctx->date_iso, ss->src->name);
		if ((e = mkdir_p(ss->inbox, 0750)) != PERR_OK)
			goto out;
		clean_inbox(ss->inbox);
	}
	for (i = 0; i < cfg->n_sources; i++) {
		struct source_state *ss = &st[i];

		fetch_source(ctx, ss);
		if (ss->err != PERR_OK) {
			if (hard == PERR_OK) {
				hard = ss->err;
				hard_detail = xstrdup(ss->err_detail);
			}
			continue;
		}
		if (ss->src->required && ss->have < ss->src->expected_count) {
			char dupnote[96] = "";
			char *m;

			if (ss->dups > 0)
				snprintf(dupnote, sizeof dupnote, " (and %lld byte-identical re-send(s) of earlier files)",
				    (long long)ss->dups);
			m = xasprintf("%s%s%s: %lld of %d expected file(s) matching %s in %s%s",
			    missing ? missing : "", missing ? "; " : "", ss->src->name, (long long)ss->have,
			    ss->src->expected_count, ss->pattern, ss->src->ep.remote_dir, dupnote);

			free(missing);
			missing = m;
		} else {
			char n1[16], n2[24];

			snprintf(n1, sizeof n1, "%d", ss->fetched);
			snprintf(n2, sizeof n2, "%lld", (long long)ss->have);
			log_event(LOG_INFO, STAGE, "source done", "source", ss->src->name, "new", n1, "recorded", n2,
			    (const char *)NULL);
		}
	}
	if (hard != PERR_OK) {
		if (missing != NULL)
			e = perr_set(hard, "%s (also missing: %s)", hard_detail, missing);
		else
			e = perr_set(hard, "%s", hard_detail);
	} else if (missing != NULL) {
		e = perr_set(PERR_NOT_AVAILABLE, "input for %s not there yet: %s", ctx->date_iso, missing);
	}
out:
	for (i = 0; i < cfg->n_sources; i++) {
		free(st[i].pattern);
		pcre2_code_free(st[i].re);
		free(st[i].inbox);
		free(st[i].err_detail);
		free(st[i].changing_detail);
	}
	free(st);
	free(hard_detail);
	free(missing);
	return e;
}
