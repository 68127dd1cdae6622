/*
 * notify.c - the end-of-run summary (see notify.h): gathering it from the database, formatting it
 * as a mail message and as JSON, sending it through a command and a webhook, and the cut-off rule.
 * The command `pipeline notify` is commands/notify.c.
 */
#include "notify.h"
#include "childenv.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db.h"
#include "jsonout.h"
#include "log.h"
#include "money.h"
#include "signals.h"
#include "util.h"

#define FIELD_MAX 300   /* a field quoted in a message is cut here: mail lines stay under 998 bytes */

/* ------------------------------------------------------------------ summary */

static void
breaks_free(struct notify_break *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(b[i].type);
		free(b[i].subject);
		free(b[i].account);
		free(b[i].detail);
	}
}

/*
 * Exceptions chosen by `sql` (columns exception_id, type, subject, account, amount_minor, currency,
 * detail, opened_date) into b[0..NOTIFY_MAX_BREAKS), *n their count.
 */
static enum perr
gather_breaks(PGconn *db, const char *sql, struct notify_break *b, size_t *n)
{
	PGresult *res = db_query(db, PGRES_TUPLES_OK, sql, 0, NULL);

	if (res == NULL)
		return PERR_DB;
	for (int i = 0; i < PQntuples(res) && *n < NOTIFY_MAX_BREAKS; i++) {
		struct notify_break *x = &b[(*n)++];
		const struct currency *cur = currency_find(PQgetvalue(res, i, 5));
		char m[MONEY_BUFSZ];

		x->exception_id = db_get_i64(res, i, 0);
		x->type = xstrdup(PQgetvalue(res, i, 1));
		x->subject = xstrdup(PQgetvalue(res, i, 2));
		x->account = xstrdup(PQgetvalue(res, i, 3));
		money_format(PQgetisnull(res, i, 4) ? 0 : db_get_i64(res, i, 4), cur ? cur->exponent : 0, m);
		snprintf(x->amount, sizeof x->amount, "%s %s", cur ? cur->code : "", m);
		x->detail = xstrdup(PQgetvalue(res, i, 6));
		snprintf(x->opened, sizeof x->opened, "%s", PQgetvalue(res, i, 7));
	}
	PQclear(res);
	return PERR_OK;
}

void
notify_summary_free(struct notify_summary *s)
{
	size_t i;

	if (s == NULL)
		return;
	free(s->error);
	for (i = 0; i < s->n_stages; i++)
		free(s->stages[i].error);
	for (i = 0; i < s->n_exc; i++)
		free(s->exc[i].type);
	free(s->exc);
	breaks_free(s->breaks, s->n_breaks);
	breaks_free(s->rejected, s->n_rejected);
	free(s->report_path);
	free(s->log_dir);
	free(s->gather_error);
	memset(s, 0, sizeof *s);
}

static enum perr
gather_db(PGconn *db, struct notify_summary *s)
{
	const char *params[1] = { s->date };
	PGresult *res;
	enum perr e;
	int i;

	res = db_query(db, PGRES_TUPLES_OK,
	    "SELECT s.stage, coalesce(r.state, 'pending'), coalesce(r.run_id, 0), coalesce(r.rows_in, 0),"
	    "       coalesce(r.rows_out, 0), coalesce(r.exceptions, 0), coalesce(r.error, ''),"
	    "       coalesce(r.invocation, '')"
	    "  FROM unnest(ARRAY['fetch','normalize','reconcile','settle','report'])"
	    "       WITH ORDINALITY AS s(stage, ord)"
	    "  LEFT JOIN LATERAL (SELECT * FROM stage_run x WHERE x.business_date = $1::date"
	    "                      AND x.stage = s.stage ORDER BY run_id DESC LIMIT 1) r ON true"
	    " ORDER BY s.ord", 1, params);
	if (res == NULL)
		return PERR_DB;
	for (i = 0; i < PQntuples(res) && s->n_stages < NOTIFY_MAX_STAGES; i++) {
		struct notify_stage *st = &s->stages[s->n_stages++];

		snprintf(st->stage, sizeof st->stage, "%s", PQgetvalue(res, i, 0));
		snprintf(st->state, sizeof st->state, "%s", PQgetvalue(res, i, 1));
		st->run_id = db_get_i64(res, i, 2);
		st->rows_in = db_get_i64(res, i, 3);
		st->rows_out = db_get_i64(res, i, 4);
		st->exceptions = db_get_i64(res, i, 5);
		st->error = PQgetvalue(res, i, 6)[0] ? xstrdup(PQgetvalue(res, i, 6)) : NULL;
		snprintf(st->invocation, sizeof st->invocation, "%s", PQgetvalue(res, i, 7));
	}
	PQclear(res);

	res = db_query(db, PGRES_TUPLES_OK,
	    "SELECT type, count(*) FILTER (WHERE opened_date = $1::date),"
	    "       count(*) FILTER (WHERE status = 'OPEN')"
	    "  FROM exception WHERE status = 'OPEN' OR opened_date = $1::date"
	    " GROUP BY type ORDER BY type", 1, params);
	if (res == NULL)
		return PERR_DB;
	s->exc = xcalloc((size_t)PQntuples(res) + 1, sizeof *s->exc);
	for (i = 0; i < PQntuples(res); i++) {
		struct notify_exc_count *c = &s->exc[s->n_exc++];

		c->type = xstrdup(PQgetvalue(res, i, 0));
		c->new_count = db_get_i64(res, i, 1);
		c->open_count = db_get_i64(res, i, 2);
		s->new_total += c->new_count;
		s->open_total += c->open_count;
	}
	PQclear(res);

	/* Largest first by magnitude of minor units; amounts of different currencies are not
	 * converted, this only picks what to show. */
	if ((e = gather_breaks(db,
	    "SELECT exception_id, type, subject, coalesce(account_no, ''), amount_minor, coalesce(currency, ''),"
	    "       detail, opened_date"
	    "  FROM exception WHERE status = 'OPEN' AND amount_minor IS NOT NULL"
	    " ORDER BY abs(amount_minor) DESC, exception_id LIMIT 5", s->breaks, &s->n_breaks)) != PERR_OK)
		return e;
	/* Payments the bank rejected, whatever their size: named every night until a person acts. */
	if ((e = gather_breaks(db,
	    "SELECT exception_id, type, subject, coalesce(account_no, ''), amount_minor, coalesce(currency, ''),"
	    "       detail, opened_date"
	    "  FROM exception WHERE status = 'OPEN' AND type = 'PAYMENT_REJECTED'"
	    " ORDER BY opened_date, exception_id LIMIT 5", s->rejected, &s->n_rejected)) != PERR_OK)
		return e;
	res = db_query(db, PGRES_TUPLES_OK,
	    "SELECT count(*) FROM exception WHERE status = 'OPEN' AND type = 'PAYMENT_REJECTED'", 0, NULL);
	if (res == NULL)
		return PERR_DB;
	s->rejected_total = db_get_i64(res, 0, 0);
	PQclear(res);
	return PERR_OK;
}

void
notify_gather(const struct config *cfg, PGconn *db, date_t date, struct notify_summary *s)
{
	struct stat st;
	char *path;

	date_format_iso(date, s->date);
	if (gethostname(s->host, sizeof s->host) != 0)
		snprintf(s->host, sizeof s->host, "unknown");
	s->host[sizeof s->host - 1] = '\0';
	s->log_dir = xasprintf("%s/log/%s", cfg->data_dir, s->date);
	path = xasprintf("%s/%s/recon-%s.xlsx", cfg->report_dir, s->date, s->date);
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
		s->report_path = path;
	else
		free(path);
	if (db == NULL || PQstatus(db) != CONNECTION_OK) {
		s->gather_error = xstrdup("no database connection: stage states and exceptions unknown");
		return;
	}
	if (PQtransactionStatus(db) != PQTRANS_IDLE)
		db_rollback(db);
	if (gather_db(db, s) != PERR_OK)
		s->gather_error = xasprintf("could not read the database: %s", perr_detail());
}

/* ------------------------------------------------------------------ formatting */

/* Copies s into buf as one line of printable ASCII (others become '?', controls ' '), at most cap-1 bytes. */
static void
ascii_line(char *buf, size_t cap, const char *s)
{
	size_t n = 0;

	for (; s && *s && n + 1 < cap; s++) {
		unsigned char c = (unsigned char)*s;

		buf[n++] = c < 0x20 || c == 0x7f ? ' ' : c >= 0x80 ? '?' : (char)c;
	}
	buf[n] = '\0';
}

/* Writes s on one line (controls become spaces), cut to FIELD_MAX bytes with "...". */
static void
put_field(FILE *fp, const char *s)
{
	size_t n = 0;

	for (; s && *s; s++, n++) {
		unsigned char c = (unsigned char)*s;

		if (n == FIELD_MAX) {
			fputs("...", fp);
			return;
		}
		fputc(c < 0x20 || c == 0x7f ? ' ' : c, fp);
	}
}

static const char *
first_failed_stage(const struct notify_summary *s)
{
	size_t i;

	for (i = 0; i < s->n_stages; i++)
		if (!strcmp(s->stages[i].state, "failed"))
			return s->stages[i].stage;
	return NULL;
}

void
notify_subject(const struct notify_summary *s, char *buf, size_t cap)
{
	char tail[160];
	const char *stage = first_failed_stage(s);

	if (s->error && strcmp(s->status, "OK") != 0) {
		char err[120];

		ascii_line(err, sizeof err, s->error);
		if (stage && strcmp(s->status, "FAILED") == 0)
			snprintf(tail, sizeof tail, "%s failed: %s", stage, err);
		else
			snprintf(tail, sizeof tail, "%s", err);
	} else
		snprintf(tail, sizeof tail, "%lld new, %lld open exceptions", (long long)s->new_total,
		    (long long)s->open_total);
	{
		char line[512];

		snprintf(line, sizeof line, "[pipeline] %s %s: %s", s->date, s->status, tail);
		if (cap > 201)
			cap = 201;
		ascii_line(buf, cap, line);
	}
}

/* The exceptions listed in a message: id, type, amount, opened, subject, account, then the detail. */
static void
put_breaks(FILE *fp, const struct notify_break *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		fprintf(fp, "  #%lld %-24s %20s  opened %s  %s%s%s\n    ", (long long)b[i].exception_id, b[i].type,
		    b[i].amount, b[i].opened, b[i].subject, b[i].account[0] ? "  account " : "", b[i].account);
		put_field(fp, b[i].detail);
		fputc('\n', fp);
	}
}

static void
write_body(FILE *fp, const struct notify_summary *s)
{
	size_t i;

	fprintf(fp, "Nightly reconciliation for business date %s on %s: %s (exit %d)\n", s->date, s->host,
	    s->status, s->exit_code);
	if (s->error) {
		fputs("Error: ", fp);
		put_field(fp, s->error);
		fputc('\n', fp);
	}
	if (s->gather_error) {
		fputs("Note: ", fp);
		put_field(fp, s->gather_error);
		fputc('\n', fp);
	}
	if (s->n_stages) {
		fprintf(fp, "\nStages\n  %-10s %-8s %8s %10s %10s %10s\n", "STAGE", "STATE", "RUN", "ROWS IN",
		    "ROWS OUT", "EXCEPTIONS");
		for (i = 0; i < s->n_stages; i++) {
			const struct notify_stage *st = &s->stages[i];

			fprintf(fp, "  %-10s %-8s %8lld %10lld %10lld %10lld\n", st->stage, st->state,
			    (long long)st->run_id, (long long)st->rows_in, (long long)st->rows_out,
			    (long long)st->exceptions);
			if (st->error) {
				fputs("             error: ", fp);
				put_field(fp, st->error);
				fputc('\n', fp);
			}
		}
	}
	if (!s->gather_error) {
		fprintf(fp, "\nExceptions by type (new on %s / open now)\n", s->date);
		for (i = 0; i < s->n_exc; i++)
			fprintf(fp, "  %-28s %6lld / %lld\n", s->exc[i].type, (long long)s->exc[i].new_count,
			    (long long)s->exc[i].open_count);
		fprintf(fp, "  %-28s %6lld / %lld\n", "total", (long long)s->new_total, (long long)s->open_total);
		if (s->n_rejected) {
			fprintf(fp, "\nPayments rejected by the bank (%lld open; nothing is re-sent automatically)\n",
			    (long long)s->rejected_total);
			put_breaks(fp, s->rejected, s->n_rejected);
		}
		if (s->n_breaks) {
			fputs("\nLargest open breaks\n", fp);
			put_breaks(fp, s->breaks, s->n_breaks);
		}
	}
	fputc('\n', fp);
	fprintf(fp, "Report: %s\n", s->report_path ? s->report_path : "(none written for this date)");
	fprintf(fp, "Logs:   %s/\n", s->log_dir ? s->log_dir : "");
	fprintf(fp, "More:   pipeline status --date %s\n", s->date);
}

char *
notify_format_mail(const struct notify_summary *s, const char *mail_to, const char *mail_from)
{
	char *buf = NULL, subject[256];
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	if (fp == NULL) {
		fprintf(stderr, "pipeline: out of memory\n");
		abort();
	}
	notify_subject(s, subject, sizeof subject);
	if (mail_to && *mail_to)
		fprintf(fp, "To: %s\n", mail_to);
	if (mail_from && *mail_from)
		fprintf(fp, "From: %s\n", mail_from);
	fprintf(fp, "Subject: %s\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n"
	    "Content-Transfer-Encoding: 8bit\nX-Pipeline-Date: %s\nX-Pipeline-Status: %s\n\n",
	    subject, s->date, s->status);
	write_body(fp, s);
	if (fclose(fp) != 0) {
		fprintf(stderr, "pipeline: out of memory\n");
		abort();
	}
	return buf;
}

static json_t *
stage_json(const struct notify_stage *st)
{
	json_t *o = json_object();

	jsonout_set(o, "stage", jsonout_str(st->stage));
	jsonout_set(o, "state", jsonout_str(st->state));
	jsonout_set(o, "invocation", jsonout_str(st->invocation));
	jsonout_set(o, "run_id", jsonout_int(st->run_id));
	jsonout_set(o, "rows_in", jsonout_int(st->rows_in));
	jsonout_set(o, "rows_out", jsonout_int(st->rows_out));
	jsonout_set(o, "exceptions", jsonout_int(st->exceptions));
	jsonout_set(o, "error", jsonout_str_or_null(st->error));
	return o;
}

static json_t *
break_json(const struct notify_break *b)
{
	json_t *o = json_object();

	jsonout_set(o, "exception_id", jsonout_int(b->exception_id));
	jsonout_set(o, "type", jsonout_str(b->type));
	jsonout_set(o, "amount", jsonout_str(b->amount));
	jsonout_set(o, "subject", jsonout_str(b->subject));
	jsonout_set(o, "account", jsonout_str(b->account));
	jsonout_set(o, "opened", jsonout_str(b->opened));
	jsonout_set(o, "detail", jsonout_str(b->detail));
	return o;
}

/* The mail text (subject, blank line, body) the JSON carries in "text". The caller frees it. */
static char *
mail_text(const struct notify_summary *s)
{
	char *body = NULL, subject[256];
	size_t blen = 0;
	FILE *fp = open_memstream(&body, &blen);

	if (fp == NULL)
		abort();
	notify_subject(s, subject, sizeof subject);
	fprintf(fp, "%s\n\n", subject);
	write_body(fp, s);
	if (fclose(fp) != 0)
		abort();
	return body;
}

char *
notify_format_json(const struct notify_summary *s)
{
	json_t *o = json_object(), *stages = json_array(), *exc = json_array(), *breaks = json_array();
	json_t *rejected = json_array();
	char *text = mail_text(s), *json, *out;
	size_t i;

	for (i = 0; i < s->n_stages; i++)
		json_array_append_new(stages, stage_json(&s->stages[i]));
	for (i = 0; i < s->n_exc; i++) {
		json_t *t = json_object();

		jsonout_set(t, "type", jsonout_str(s->exc[i].type));
		jsonout_set(t, "new", jsonout_int(s->exc[i].new_count));
		jsonout_set(t, "open", jsonout_int(s->exc[i].open_count));
		json_array_append_new(exc, t);
	}
	for (i = 0; i < s->n_breaks; i++)
		json_array_append_new(breaks, break_json(&s->breaks[i]));
	for (i = 0; i < s->n_rejected; i++)
		json_array_append_new(rejected, break_json(&s->rejected[i]));
	jsonout_set(o, "text", jsonout_str(text));
	jsonout_set(o, "date", jsonout_str(s->date));
	jsonout_set(o, "status", jsonout_str(s->status));
	jsonout_set(o, "exit_code", jsonout_int(s->exit_code));
	jsonout_set(o, "host", jsonout_str(s->host));
	jsonout_set(o, "error", jsonout_str_or_null(s->error));
	jsonout_set(o, "stages", stages);
	jsonout_set(o, "exceptions", exc);
	jsonout_set(o, "new_total", jsonout_int(s->new_total));
	jsonout_set(o, "open_total", jsonout_int(s->open_total));
	jsonout_set(o, "rejected_payments", rejected);
	jsonout_set(o, "rejected_payments_open", jsonout_int(s->rejected_total));
	jsonout_set(o, "largest_breaks", breaks);
	jsonout_set(o, "report", jsonout_str_or_null(s->report_path));
	free(text);
	json = jsonout_dumps(o, JSONOUT_COMPACT);
	if (asprintf(&out, "%s\n", json) < 0)
		abort();
	free(json);
	return out;
}

/* ------------------------------------------------------------------ channels */

/*
 * Runs `command` with /bin/sh -c, the message on its stdin, its stdout sent to our stderr, killed
 * (with its process group) after timeout_s, without our secrets in its environment. Non-zero exit
 * is a failure.
 */
static enum perr
send_command(const struct config *cfg, const char *command, const char *msg, const struct notify_summary *s,
    int timeout_s)
{
	int fds[2], status = 0;
	pid_t pid;
	size_t len = strlen(msg), off = 0;
	int64_t deadline = now_ms() + (int64_t)timeout_s * 1000;
	struct sigaction ign, old;
	enum perr e = PERR_OK;

	if (pipe(fds) != 0)
		return perr_set(PERR_IO, "notify: pipe: %s", strerror(errno));
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0) {
		close(fds[0]);
		close(fds[1]);
		return perr_set(PERR_IO, "notify: fork: %s", strerror(errno));
	}
	if (pid == 0) {
		setpgid(0, 0);
		dup2(fds[0], STDIN_FILENO);
		dup2(STDERR_FILENO, STDOUT_FILENO);
		/* nothing of ours (database socket, log file) leaks into the mail command */
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
		child_env_scrub(cfg);   /* the mail command is another program: none of our secrets */
		setenv("PIPELINE_NOTIFY_DATE", s->date, 1);
		setenv("PIPELINE_NOTIFY_STATUS", s->status, 1);
		execl("/bin/sh", "sh", "-c", command, (char *)NULL);
		_exit(127);
	}
	close(fds[0]);
	memset(&ign, 0, sizeof ign);
	ign.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &ign, &old);   /* a command that exits early must not kill us */
	fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK);
	while (off < len) {
		ssize_t n = write(fds[1], msg + off, len - off);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && now_ms() < deadline) {
			usleep(10000);
			continue;
		}
		e = perr_set(PERR_IO, "notify: command did not read the message: %s",
		    n < 0 && errno != EAGAIN ? strerror(errno) : "timed out");
		break;
	}
	close(fds[1]);
	sigaction(SIGPIPE, &old, NULL);
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			return perr_set(PERR_IO, "notify: waitpid: %s", strerror(errno));
		}
		if (now_ms() >= deadline) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return perr_set(PERR_IO, "notify: command did not finish within %d s; killed", timeout_s);
		}
		usleep(20000);
	}
	if (e != PERR_OK)
		return e;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return PERR_OK;
	if (WIFEXITED(status))
		return perr_set(PERR_IO, "notify: command exited with status %d", WEXITSTATUS(status));
	return perr_set(PERR_IO, "notify: command killed by signal %d", WTERMSIG(status));
}

/* "https://host:port" of a URL, never its path or query (they may hold a token). */
static void
url_origin(const char *url, char *buf, size_t cap)
{
	const char *p = strstr(url, "://"), *end;
	const char *at;

	if (p == NULL) {
		snprintf(buf, cap, "(invalid URL)");
		return;
	}
	p += 3;
	end = p + strcspn(p, "/?#");
	at = memchr(p, '@', (size_t)(end - p));
	if (at)
		p = at + 1;       /* drop user:password@ */
	snprintf(buf, cap, "%.*s%.*s", (int)(strstr(url, "://") + 3 - url), url, (int)(end - p), p);
}

static size_t
discard_body(char *ptr, size_t size, size_t nmemb, void *user)
{
	(void)ptr;
	(void)user;
	return size * nmemb;
}

static enum perr
send_webhook(const char *url, const char *json, int timeout_s)
{
	static bool curl_ready;
	char origin[256], err[CURL_ERROR_SIZE];
	struct curl_slist *hdr = NULL;
	CURLcode rc;
	CURL *c;
	long code = 0;

	url_origin(url, origin, sizeof origin);
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return perr_set(PERR_IO, "notify: libcurl initialisation failed");
		curl_ready = true;
	}
	if ((c = curl_easy_init()) == NULL)
		return perr_set(PERR_NOMEM, "notify: libcurl: out of memory");
	err[0] = '\0';
	hdr = curl_slist_append(hdr, "Content-Type: application/json; charset=utf-8");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)timeout_s);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)(timeout_s < 10 ? timeout_s : 10));
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(json));
	curl_easy_setopt(c, CURLOPT_USERAGENT, "pipeline/" PIPELINE_VERSION);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_body);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	curl_slist_free_all(hdr);
	/* curl's message names the host at most; the URL itself is never put into a message */
	if (rc != CURLE_OK)
		return perr_set(PERR_IO, "notify: webhook %s: %s", origin, curl_easy_strerror(rc));
	if (code < 200 || code > 299)
		return perr_set(PERR_IO, "notify: webhook %s answered HTTP %ld", origin, code);
	return PERR_OK;
}

static const char *
webhook_url(const struct config *cfg)
{
	if (cfg->notify_webhook_url_env) {
		const char *v = getenv(cfg->notify_webhook_url_env);

		if (v && *v)
			return v;
	}
	return cfg->notify_webhook_url;
}

enum perr
notify_send(const struct config *cfg, const struct notify_summary *s)
{
	enum perr first = PERR_OK, e;
	const char *url = webhook_url(cfg);
	char origin[256];

	if (cfg->notify_command && *cfg->notify_command) {
		char *msg = notify_format_mail(s, cfg->notify_mail_to, cfg->notify_mail_from);

		e = send_command(cfg, cfg->notify_command, msg, s, cfg->notify_timeout_s);
		free(msg);
		if (e == PERR_OK)
			log_event(LOG_INFO, "notify", "notification sent", "channel", "command", "status", s->status,
			    (const char *)NULL);
		else {
			log_event(LOG_WARN, "notify", "notification failed", "channel", "command", "error",
			    perr_detail(), (const char *)NULL);
			first = e;
		}
	}
	if (cfg->notify_webhook_url_env && (url == NULL || *url == '\0')) {
		e = perr_set(PERR_CONFIG, "notify: webhook_url_env names $%s, which is not set",
		    cfg->notify_webhook_url_env);
		log_event(LOG_WARN, "notify", "notification failed", "channel", "webhook", "error", perr_detail(),
		    (const char *)NULL);
		if (first == PERR_OK)
			first = e;
	} else if (url && *url) {
		char *json = notify_format_json(s);

		url_origin(url, origin, sizeof origin);
		e = send_webhook(url, json, cfg->notify_timeout_s);
		free(json);
		if (e == PERR_OK)
			log_event(LOG_INFO, "notify", "notification sent", "channel", "webhook", "to", origin,
			    "status", s->status, (const char *)NULL);
		else {
			log_event(LOG_WARN, "notify", "notification failed", "channel", "webhook", "error",
			    perr_detail(), (const char *)NULL);
			if (first == PERR_OK)
				first = e;
		}
	}
	if (first != PERR_OK && perr_last() != first)
		perr_set(first, "notify: a channel failed (see the log)");
	return first;
}

bool
notify_configured(const struct config *cfg)
{
	return (cfg->notify_command && *cfg->notify_command) || cfg->notify_webhook_url
	    || cfg->notify_webhook_url_env;
}

/* ------------------------------------------------------------------ cut-off */

enum perr
notify_cut_off(const struct config *cfg, date_t date, time_t *out)
{
	if (cfg->notify_cut_off_min < 0)
		return perr_set(PERR_NOT_FOUND, "no [notify] cut_off is configured");
	/* the cut-off is a wall-clock time on the day after the business date */
	return zone_wall_time(cfg->timezone, date + 1, cfg->notify_cut_off_min / 60,
	    cfg->notify_cut_off_min % 60, out);
}

/* ------------------------------------------------------------------ end of a run */

void
notify_run_end(const struct config *cfg, PGconn *db, date_t date, enum perr result)
{
	struct notify_summary s;
	enum perr saved_code = perr_last();
	char *saved = xstrdup(perr_detail());
	const char *error = NULL;
	bool has_cut_off = false;

	if (cfg == NULL || !notify_configured(cfg))
		goto out;
	if (result != PERR_OK)
		error = saved_code == result && saved[0] ? saved : perr_message(result);
	if (result == PERR_OK && cfg->notify_failure_only)
		goto out;
	if (result == PERR_OK && db != NULL && log_get_invocation()[0]) {
		/* A rerun that found every stage done (a weekend or holiday rerun of the same business
		 * date) has nothing new to say: only runs that executed a stage report success. */
		const char *params[1] = { log_get_invocation() };
		PGresult *res = db_query(db, PGRES_TUPLES_OK,
		    "SELECT count(*) FROM stage_run WHERE invocation = $1", 1, params);

		if (res != NULL && db_get_i64(res, 0, 0) == 0) {
			PQclear(res);
			log_event(LOG_INFO, "notify", "every stage was already done; no notification", (const char *)NULL);
			goto out;
		}
		PQclear(res);
	}
	if (result == PERR_NOT_AVAILABLE) {
		const char *retrying = getenv("PIPELINE_NOTIFY_RETRYING");
		time_t cut;

		/* deploy/pipeline-nightly sets this on every attempt but the last: it will try again */
		if (retrying && !strcmp(retrying, "1")) {
			log_event(LOG_INFO, "notify", "input not there yet; the nightly wrapper retries, no notification",
			    (const char *)NULL);
			goto out;
		}
		has_cut_off = notify_cut_off(cfg, date, &cut) == PERR_OK;
		if (has_cut_off && time(NULL) < cut) {
			char when[32];
			struct tm tm;

			gmtime_r(&cut, &tm);
			strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
			log_event(LOG_INFO, "notify", "input not there yet; no notification before the cut-off",
			    "cut_off", when, (const char *)NULL);
			goto out;
		}
	}
	memset(&s, 0, sizeof s);
	notify_gather(cfg, db, date, &s);
	s.exit_code = stop_exit_status(result);    /* 128 + signal when stopped, as the process exits */
	s.status = result == PERR_OK ? "OK" : result == PERR_NOT_AVAILABLE ? "INPUT MISSING"
	    : result == PERR_EXCEPTIONS ? "EXCEPTIONS" : "FAILED";
	if (error)
		s.error = result != PERR_NOT_AVAILABLE ? xstrdup(error)
		    : has_cut_off ? xasprintf("input still missing at the cut-off, giving up: %s", error)
		    : xasprintf("input missing (no cut_off set: not retried): %s", error);
	(void)notify_send(cfg, &s);   /* logged inside; never changes the run's outcome */
	notify_summary_free(&s);
out:
	if (saved_code != PERR_OK || saved[0])
		perr_set(saved_code, "%s", saved);
	else
		perr_clear();
	free(saved);
}
