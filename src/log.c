/*
 * log.c - structured event lines (logfmt or JSON) on stderr and in the per-run log file.
 *
 * A line is built in a buffer that grows as needed, so nothing is cut at a fixed size; one value
 * longer than LOG_VALUE_MAX bytes is shortened at a character boundary and ends with
 * "...[N more bytes]", so a line stays readable and, in JSON (written by jansson), valid.
 *
 * Timestamps are UTC, written with a Z. Under systemd (stderr is the journal: $JOURNAL_STREAM
 * names its device and inode) each line on stderr starts with its syslog priority, sd-daemon's
 * "<3>" (error), "<4>" (warn), "<6>" (info), "<7>" (debug), so `journalctl -p err` finds the
 * errors; the run log file never has the prefix. The error of the last error line is remembered
 * (log_error_logged), so the command's final message (commands/cli.c) does not repeat it.
 */
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "jsonout.h"
#include "utf8.h"
#include "util.h"

#define LOG_VALUE_MAX 4096

static enum log_level min_level = LOG_INFO;
static int as_json;
static int64_t ctx_run_id;
static char ctx_date[16];
static char ctx_invocation[64];
static FILE *log_file;
static int journal = -1;        /* stderr is the journal: unknown (-1), no (0), yes (1) */
static char *last_error;        /* the "error" value of the last error line, or NULL */

static const char *const level_names[] = { "debug", "info", "warn", "error" };
static const char *const level_prio[] = { "<7>", "<6>", "<4>", "<3>" };   /* sd-daemon.h */

bool
log_to_journal(void)
{
	const char *js;
	struct stat st;
	unsigned long long dev, ino;

	if (journal < 0) {
		js = getenv("JOURNAL_STREAM");
		journal = js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0
		    && (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
	}
	return journal == 1;
}

bool
log_error_logged(const char *text)
{
	return last_error != NULL && text != NULL && strcmp(last_error, text) == 0;
}

void log_set_level(enum log_level min) { min_level = min; }
void log_set_json(int json) { as_json = json; }

void
log_set_context(int64_t run_id, const char *date)
{
	ctx_run_id = run_id;
	snprintf(ctx_date, sizeof ctx_date, "%s", date ? date : "");
}

void
log_set_invocation(const char *id)
{
	snprintf(ctx_invocation, sizeof ctx_invocation, "%s", id ? id : "");
}

const char *
log_get_invocation(void)
{
	return ctx_invocation;
}

void
log_set_file(const char *path)
{
	if (log_file) {
		fclose(log_file);
		log_file = NULL;
	}
	if (path)
		log_file = fopen(path, "a");
}

/* The key/value pairs of one line, in order; values point into the caller's strings. */
struct pairs {
	const char **k, **v;
	int n;
};

/* Room is made by emit() for every pair it adds (the fixed ones and the caller's). */
static void
add(struct pairs *p, const char *k, const char *v)
{
	p->k[p->n] = k;
	p->v[p->n] = v ? v : "";
	p->n++;
}

/* Appends v to fp as a logfmt value: quoted only when needed, shortened past LOG_VALUE_MAX. */
static void
put_logfmt_value(FILE *fp, const char *v)
{
	size_t n = strlen(v), keep = utf8_cut(v, n, LOG_VALUE_MAX);
	bool quote = n == 0 || keep < n || strpbrk(v, " =\"\\\n\t") != NULL;
	const unsigned char *p, *end = (const unsigned char *)v + keep;

	if (quote)
		fputc('"', fp);
	for (p = (const unsigned char *)v; p < end; p++) {
		unsigned cp;
		size_t k = utf8_invisible((const char *)p, (size_t)(end - p), &cp);

		if (k > 0) {    /* a bidi control or invisible character: shown, never obeyed */
			fprintf(fp, "\\u%04x", cp);
			p += k - 1;
		} else if (*p == '"' || *p == '\\')
			fprintf(fp, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", fp);
		else if (*p < 0x20)
			fprintf(fp, "\\u%04x", *p);
		else
			fputc(*p, fp);
	}
	if (keep < n)
		fprintf(fp, "...[%zu more bytes]", n - keep);
	if (quote)
		fputc('"', fp);
}

/* The whole line (with its newline) as a malloc'd string; the caller frees it. */
static char *
format_line(const struct pairs *p)
{
	char *line = NULL;
	size_t len = 0;
	FILE *fp;
	int i;

	if (as_json) {
		json_t *o = json_object();
		char *s;

		for (i = 0; i < p->n; i++)
			jsonout_set(o, p->k[i], jsonout_str_max(p->v[i], LOG_VALUE_MAX));
		s = jsonout_dumps(o, JSONOUT_COMPACT);
		if (asprintf(&line, "%s\n", s) < 0)
			abort();
		free(s);
		return line;
	}
	if ((fp = open_memstream(&line, &len)) == NULL)
		abort();
	for (i = 0; i < p->n; i++) {
		fprintf(fp, "%s%s=", i ? " " : "", p->k[i]);
		put_logfmt_value(fp, p->v[i]);
	}
	fputc('\n', fp);
	if (fclose(fp) != 0)
		abort();
	return line;
}

static void
emit(enum log_level level, const char *stage, const char *msg, va_list ap)
{
	char ts[32], run[24];
	time_t now = time(NULL);
	struct tm tm;
	struct pairs p = { .n = 0 };
	const char *k;
	char *line;
	va_list count;
	int n = 7;      /* ts level run stage date msg invocation */

	if (level < min_level)
		return;
	va_copy(count, ap);
	while (va_arg(count, const char *) != NULL) {
		(void)va_arg(count, const char *);
		n++;
	}
	va_end(count);
	p.k = xmalloc(sizeof *p.k * (size_t)n);
	p.v = xmalloc(sizeof *p.v * (size_t)n);
	gmtime_r(&now, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
	add(&p, "ts", ts);
	add(&p, "level", level_names[level]);
	if (ctx_run_id > 0) {
		snprintf(run, sizeof run, "%lld", (long long)ctx_run_id);
		add(&p, "run", run);
	}
	if (stage && *stage)
		add(&p, "stage", stage);
	if (ctx_date[0])
		add(&p, "date", ctx_date);
	add(&p, "msg", msg);
	while ((k = va_arg(ap, const char *)) != NULL)
		add(&p, k, va_arg(ap, const char *));
	if (ctx_invocation[0])
		add(&p, "invocation", ctx_invocation);
	line = format_line(&p);
	if (level == LOG_ERROR) {
		int i;

		for (i = 0; i < p.n; i++)
			if (!strcmp(p.k[i], "error")) {
				free(last_error);
				last_error = xstrdup(p.v[i]);
			}
	}
	if (log_to_journal())
		fputs(level_prio[level], stderr);
	fputs(line, stderr);
	if (log_file) {
		fputs(line, log_file);
		fflush(log_file);
	}
	free(line);
	free(p.k);
	free(p.v);
}

void
log_event(enum log_level level, const char *stage, const char *msg, ...)
{
	va_list ap;

	va_start(ap, msg);
	emit(level, stage, msg, ap);
	va_end(ap);
}

static void
emit_none(enum log_level level, const char *stage, const char *msg, ...)
{
	va_list ap;

	va_start(ap, msg);
	emit(level, stage, msg, ap);
	va_end(ap);
}

void
log_msg(enum log_level level, const char *stage, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	emit_none(level, stage, msg ? msg : fmt, (const char *)NULL);
	free(msg);
}
