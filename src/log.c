/*
 * log.c - structured event lines (logfmt or JSON) on stderr and in the per-run log file.
 */
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum log_level min_level = LOG_INFO;
static int as_json;
static int64_t ctx_run_id;
static char ctx_date[16];
static char ctx_invocation[64];
static FILE *log_file;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

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

/* Appends v quoted for logfmt (quotes only when needed) or JSON (always). */
static void
put_value(char *buf, size_t cap, size_t *len, const char *v)
{
	bool quote = as_json || *v == '\0' || strpbrk(v, " =\"\\\n\t") != NULL;
	const unsigned char *p;

#define PUT(c) do { if (*len + 1 < cap) buf[(*len)++] = (c); } while (0)
	if (quote)
		PUT('"');
	for (p = (const unsigned char *)v; *p; p++) {
		if (*p == '"' || *p == '\\') {
			PUT('\\');
			PUT((char)*p);
		} else if (*p == '\n') {
			PUT('\\');
			PUT('n');
		} else if (*p < 0x20) {
			char hex[8];
			int i;

			snprintf(hex, sizeof hex, "\\u%04x", *p);
			for (i = 0; hex[i]; i++)
				PUT(hex[i]);
		} else
			PUT((char)*p);
	}
	if (quote)
		PUT('"');
#undef PUT
	buf[*len] = '\0';
}

static void
put_pair(char *buf, size_t cap, size_t *len, const char *k, const char *v, bool first)
{
	int n;

	if (as_json)
		n = snprintf(buf + *len, cap - *len, "%s\"%s\":", first ? "" : ",", k);
	else
		n = snprintf(buf + *len, cap - *len, "%s%s=", first ? "" : " ", k);
	if (n > 0 && (size_t)n < cap - *len)
		*len += (size_t)n;
	put_value(buf, cap, len, v);
}

static void
emit(enum log_level level, const char *stage, const char *msg, va_list ap)
{
	char line[8192], ts[32], run[24];
	size_t len = 0;
	time_t now = time(NULL);
	struct tm tm;
	const char *k;

	if (level < min_level)
		return;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (as_json)
		line[len++] = '{';
	line[len] = '\0';
	put_pair(line, sizeof line - 2, &len, "ts", ts, true);
	put_pair(line, sizeof line - 2, &len, "level", level_names[level], false);
	if (ctx_run_id > 0) {
		snprintf(run, sizeof run, "%lld", (long long)ctx_run_id);
		put_pair(line, sizeof line - 2, &len, "run", run, false);
	}
	if (stage && *stage)
		put_pair(line, sizeof line - 2, &len, "stage", stage, false);
	if (ctx_date[0])
		put_pair(line, sizeof line - 2, &len, "date", ctx_date, false);
	put_pair(line, sizeof line - 2, &len, "msg", msg, false);
	while ((k = va_arg(ap, const char *)) != NULL) {
		const char *v = va_arg(ap, const char *);

		put_pair(line, sizeof line - 2, &len, k, v ? v : "", false);
	}
	if (ctx_invocation[0])
		put_pair(line, sizeof line - 2, &len, "invocation", ctx_invocation, false);
	if (as_json)
		line[len++] = '}';
	line[len++] = '\n';
	line[len] = '\0';
	fputs(line, stderr);
	if (log_file) {
		fputs(line, log_file);
		fflush(log_file);
	}
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
	char msg[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	emit_none(level, stage, msg, (const char *)NULL);
}
