/*
 * config.c - reads pipeline.conf with libinih and validates every key strictly.
 *
 * libinih calls handler() once per key; a handler that returns 0 makes ini_parse() return that
 * line number, which is how every error here names its line. The lines are read through
 * read_line() below, which counts them, so each key's line is remembered (config_line) and the
 * checks after parsing (validate: references between sections, patterns, required sections) name
 * the line too. Duplicate sections are detected by remembering which sections were already closed.
 *
 * Adding a key: handle it in handler() (or source_key/endpoint_key) and add its name to
 * section_keys below, which is what "did you mean" suggests from.
 */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "money.h"
#include "suggest.h"
#include "transport.h"
#include "util.h"

struct parse_state {
	struct config *cfg;
	const char *text;            /* the file's bytes; read_line() walks them */
	int line;                    /* line number of the line inih read last */
	int err_line;                /* line of the first error */
	int header_line;             /* line of the last [section] header read */
	char **long_values;          /* values of lines too long for inih (read_line) */
	size_t n_long;
	char err[512];               /* first error, without the file:line prefix */
	char current[128];           /* section of the previous key */
	char *closed[CONFIG_MAX_SOURCES + 16];
	size_t n_closed;
	char seen_keys[4096];        /* single-valued keys seen in the current section */
};

/*
 * The keys of each section, space-separated: what an unknown key is compared with for "did you
 * mean". A section name ending in '.' stands for every section with that prefix ([source.NAME]).
 * Keep in step with handler() and docs/configuration.md.
 */
#define ENDPOINT_KEYS "transport host port user key_file key_passphrase_env known_hosts remote_dir " \
	"connect_timeout io_timeout retries retry_backoff_ms "
static const struct {
	const char *section;
	const char *keys;
} section_keys[] = {
	{ "pipeline", "data_dir timezone company formats_dir log_format" },
	{ "calendar", "holidays" },
	{ "database", "conninfo password_file pg_bindir owner_role nightly_role" },
	{ "accounts", "client_money operating trustee other" },
	{ "match", "window_days rules" },
	{ "settle", "four_eyes_limit pay_despite_breaks debtor_name debtor_bic" },
	{ "report", "dir matched_row_cap sheet_row_limit" },
	{ "notify", "command mail_to mail_from webhook_url webhook_url_env on cut_off timeout" },
	{ "housekeep", "keep_days action archive_dir" },
	{ "outbound.payments", ENDPOINT_KEYS },
	{ "outbound.issuance", ENDPOINT_KEYS },
	{ "source.", ENDPOINT_KEYS "pattern format encoding account_no reference_pattern required "
	  "expected_count max_size archive_dir missing_retries missing_backoff_ms" },
};
#define N_SECTION_KEYS (sizeof section_keys / sizeof section_keys[0])

/* The section_keys row of `section`, or NULL. */
static const char *
keys_of(const char *section)
{
	size_t i, n;

	for (i = 0; i < N_SECTION_KEYS; i++) {
		n = strlen(section_keys[i].section);
		if (section_keys[i].section[n - 1] == '.' ? !strncmp(section, section_keys[i].section, n)
		    : !strcmp(section, section_keys[i].section))
			return section_keys[i].keys;
	}
	return NULL;
}

/* " (did you mean \"X\"?)" for the word of the space-separated `words` closest to `w`, or "". */
static void
did_you_mean(const char *w, const char *words, char *out, size_t cap)
{
	char *copy = xstrdup(words ? words : ""), *tok, *save = NULL;
	const char *cand[64], *best;
	size_t n = 0;

	out[0] = '\0';
	for (tok = strtok_r(copy, " ", &save); tok && n < 64; tok = strtok_r(NULL, " ", &save))
		cand[n++] = tok;
	if ((best = near_word(w, cand, n)) != NULL)
		snprintf(out, cap, " (did you mean \"%s\"?)", best);
	free(copy);
}

static int
fail(struct parse_state *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
fail(struct parse_state *ps, const char *fmt, ...)
{
	va_list ap;

	if (ps->err[0] == '\0') {
		ps->err_line = ps->line;
		va_start(ap, fmt);
		vsnprintf(ps->err, sizeof ps->err, fmt, ap);
		va_end(ap);
	}
	return 0;
}

/* "unknown key" with the nearest key of the section, if one is near. */
static int
unknown_key(struct parse_state *ps, const char *section, const char *k)
{
	char hint[128];

	did_you_mean(k, keys_of(section), hint, sizeof hint);
	return fail(ps, "unknown key \"%s\" in [%s]%s", k, section, hint);
}

/* "unknown section" with the nearest known section name, if one is near. */
static int
unknown_section(struct parse_state *ps, const char *section)
{
	char names[512] = "", hint[160];
	size_t i;

	if (!strncmp(section, "source", 6) || !strncmp(section, "sources.", 8))
		return fail(ps, "unknown section [%s] (a statement source is [source.NAME])", section);
	for (i = 0; i < N_SECTION_KEYS; i++)
		if (section_keys[i].section[strlen(section_keys[i].section) - 1] != '.')
			snprintf(names + strlen(names), sizeof names - strlen(names), "%s ", section_keys[i].section);
	did_you_mean(section, names, hint, sizeof hint);
	return fail(ps, "unknown section [%s]%s", section, hint);
}

/* Remembers the line of `key` in `section` (key NULL: the section's first line). */
static void
note_line(struct config *cfg, const char *section, const char *key, int line)
{
	struct config_line *l;

	cfg->lines = xrealloc(cfg->lines, (cfg->n_lines + 1) * sizeof *cfg->lines);
	l = &cfg->lines[cfg->n_lines++];
	l->section = xstrdup(section);
	l->key = key ? xstrdup(key) : NULL;
	l->line = line;
}

int
config_line(const struct config *cfg, const char *section, const char *key)
{
	size_t i;

	for (i = 0; i < cfg->n_lines; i++)
		if (!strcmp(cfg->lines[i].section, section)
		    && (key == NULL ? cfg->lines[i].key == NULL : cfg->lines[i].key && !strcmp(cfg->lines[i].key, key)))
			return cfg->lines[i].line;
	return 0;
}

static char *
resolve(const struct config *cfg, const char *p)
{
	if (p[0] == '/' || cfg->base_dir == NULL)
		return xstrdup(p);
	return xasprintf("%s/%s", cfg->base_dir, p);
}

char *
config_path(const struct config *cfg, const char *p)
{
	return resolve(cfg, p);
}

static void
set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

static int
parse_int(struct parse_state *ps, const char *key, const char *v, long lo, long hi, long *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || errno != 0 || n < lo || n > hi)
		return fail(ps, "%s = \"%s\": expected a whole number from %ld to %ld", key, v, lo, hi);
	*out = n;
	return 1;
}

/*
 * A name that goes into pain.001 (Nm, Max140Text): at most 140 characters, counted as UTF-8
 * characters. The full text rules (formats/paytext.h) apply again before settle commits.
 */
static int
name_fits(struct parse_state *ps, const char *key, const char *v)
{
	size_t chars = 0;

	for (const char *p = v; *p; p++)
		chars += ((unsigned char)*p & 0xc0) != 0x80;
	if (chars > 140)
		return fail(ps, "%s: %zu characters, at most 140 allowed (pain.001 Nm)", key, chars);
	return 1;
}

static int
parse_bool(struct parse_state *ps, const char *key, const char *v, bool *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "on"))
		*out = true;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "off"))
		*out = false;
	else
		return fail(ps, "%s = \"%s\": expected yes or no", key, v);
	return 1;
}

static int
int_key(struct parse_state *ps, const char *key, const char *v, long lo, long hi, int *out)
{
	long n;

	if (!parse_int(ps, key, v, lo, hi, &n))
		return 0;
	*out = (int)n;
	return 1;
}

/* A 64-bit whole-number key (long is 64 bits on the platforms we build for). */
static int
i64_key(struct parse_state *ps, const char *key, const char *v, long lo, long hi, int64_t *out)
{
	long n;

	if (!parse_int(ps, key, v, lo, hi, &n))
		return 0;
	*out = (int64_t)n;
	return 1;
}

/*
 * A database role name: lower-case letters, digits and underscores, starting with a letter or
 * underscore, at most 63 bytes, so it needs no quoting in SQL or in a connection string.
 */
static int
role_key(struct parse_state *ps, const char *key, const char *v, char **out)
{
	size_t i, n = strlen(v);
	bool ok = n > 0 && n <= 63 && !(v[0] >= '0' && v[0] <= '9');

	for (i = 0; ok && i < n; i++)
		ok = (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') || v[i] == '_';
	if (!ok || !strncmp(v, "pg_", 3))
		return fail(ps, "%s = \"%s\": expected a role name of lower-case letters, digits and _ "
		    "(at most 63, not starting with a digit or pg_)", key, v);
	set_str(out, v);
	return 1;
}

/* Keys common to [source.*] and [outbound.*]. Returns 1 handled, 0 error, -1 not an endpoint key. */
static int
endpoint_key(struct parse_state *ps, struct endpoint_cfg *ep, const char *k, const char *v)
{
	struct config *cfg = ps->cfg;

	if (!strcmp(k, "transport")) {
		if (!strcmp(v, "sftp"))
			ep->transport = TRANSPORT_SFTP;
		else if (!strcmp(v, "dir"))
			ep->transport = TRANSPORT_DIR;
		else
			return fail(ps, "transport = \"%s\": expected sftp or dir", v);
		return 1;
	}
	if (!strcmp(k, "host")) { set_str(&ep->host, v); return 1; }
	if (!strcmp(k, "user")) { set_str(&ep->user, v); return 1; }
	if (!strcmp(k, "port")) return int_key(ps, k, v, 1, 65535, &ep->port);
	if (!strcmp(k, "key_file")) { free(ep->key_file); ep->key_file = resolve(cfg, v); return 1; }
	if (!strcmp(k, "key_passphrase_env")) { set_str(&ep->key_passphrase_env, v); return 1; }
	if (!strcmp(k, "known_hosts")) { free(ep->known_hosts); ep->known_hosts = resolve(cfg, v); return 1; }
	if (!strcmp(k, "remote_dir")) { set_str(&ep->remote_dir, v); return 1; }
	if (!strcmp(k, "connect_timeout")) return int_key(ps, k, v, 1, 3600, &ep->connect_timeout_s);
	if (!strcmp(k, "io_timeout")) return int_key(ps, k, v, 1, 3600, &ep->io_timeout_s);
	if (!strcmp(k, "retries")) return int_key(ps, k, v, 0, 100, &ep->retries);
	if (!strcmp(k, "retry_backoff_ms")) return int_key(ps, k, v, 0, 600000, &ep->retry_backoff_ms);
	if (!strcmp(k, "list_max_entries")) return i64_key(ps, k, v, 1, 100000000, &ep->list_max_entries);
	if (!strcmp(k, "list_max_bytes")) return i64_key(ps, k, v, 1, 1LL << 32, &ep->list_max_bytes);
	if (!strcmp(k, "list_timeout")) return int_key(ps, k, v, 1, 86400, &ep->list_timeout_s);
	if (!strcmp(k, "file_timeout")) return int_key(ps, k, v, 1, 86400, &ep->file_timeout_s);
	if (!strcmp(k, "max_name_len")) return int_key(ps, k, v, 1, 255, &ep->max_name_len);
	return -1;
}

static void
endpoint_defaults(struct endpoint_cfg *ep)
{
	ep->transport = TRANSPORT_SFTP;
	ep->port = 22;
	ep->connect_timeout_s = 15;
	ep->io_timeout_s = 60;
	ep->retries = 3;
	ep->retry_backoff_ms = 1000;
	ep->list_max_entries = 100000;
	ep->list_max_bytes = 16LL * 1024 * 1024;
	ep->list_timeout_s = 300;
	ep->file_timeout_s = 3600;
	ep->max_name_len = 255;
}

static bool
valid_name(const char *s)
{
	if (*s == '\0' || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')
		    || *s == '_' || *s == '-'))
			return false;
	return true;
}

static int
source_key(struct parse_state *ps, struct source_cfg *src, const char *k, const char *v)
{
	int r = endpoint_key(ps, &src->ep, k, v);
	long n;

	if (r >= 0)
		return r;
	if (!strcmp(k, "pattern")) { set_str(&src->pattern, v); return 1; }
	if (!strcmp(k, "format")) { set_str(&src->format, v); return 1; }
	if (!strcmp(k, "encoding")) {
		if (strcmp(v, "UTF-8") && strcmp(v, "ISO-8859-1"))
			return fail(ps, "encoding = \"%s\": expected UTF-8 or ISO-8859-1", v);
		set_str(&src->encoding, v);
		return 1;
	}
	if (!strcmp(k, "account_no")) { set_str(&src->account_no, v); return 1; }
	if (!strcmp(k, "reference_pattern")) {
		if (src->n_reference_patterns == CONFIG_MAX_PATTERNS)
			return fail(ps, "reference_pattern: at most %d per source", CONFIG_MAX_PATTERNS);
		src->reference_patterns[src->n_reference_patterns++] = xstrdup(v);
		return 1;
	}
	if (!strcmp(k, "required")) return parse_bool(ps, k, v, &src->required);
	if (!strcmp(k, "mt940_strict")) return parse_bool(ps, k, v, &src->mt940_strict);
	if (!strcmp(k, "expected_count")) return int_key(ps, k, v, 0, 1000, &src->expected_count);
	if (!strcmp(k, "max_size")) {
		if (!parse_int(ps, k, v, 1, LONG_MAX, &n))
			return 0;
		src->max_size = n;
		return 1;
	}
	if (!strcmp(k, "archive_dir")) { set_str(&src->archive_dir, v); return 1; }
	if (!strcmp(k, "missing_retries")) return int_key(ps, k, v, 0, 1000, &src->missing_retries);
	if (!strcmp(k, "missing_backoff_ms")) return int_key(ps, k, v, 0, 3600000, &src->missing_backoff_ms);
	if (!strcmp(k, "changed_retries")) return int_key(ps, k, v, 0, 1000, &src->changed_retries);
	{
		char section[80];

		snprintf(section, sizeof section, "source.%s", src->name);
		return unknown_key(ps, section, k);
	}
}

static int
parse_holidays(struct parse_state *ps, const char *v)
{
	struct calendar *cal = &ps->cfg->calendar;
	char *copy = xstrdup(v), *tok, *save = NULL;
	size_t i, j;

	for (tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		date_t d;

		if (date_parse_iso(tok, &d) != PERR_OK) {
			fail(ps, "holidays: \"%s\" is not a date YYYY-MM-DD", tok);
			free(copy);
			return 0;
		}
		cal->holidays = xrealloc(cal->holidays, (cal->n_holidays + 1) * sizeof *cal->holidays);
		cal->holidays[cal->n_holidays++] = d;
	}
	free(copy);
	/* sort (insertion: the list is short) and drop duplicates */
	for (i = 1; i < cal->n_holidays; i++)
		for (j = i; j > 0 && cal->holidays[j - 1] > cal->holidays[j]; j--) {
			date_t t = cal->holidays[j];

			cal->holidays[j] = cal->holidays[j - 1];
			cal->holidays[j - 1] = t;
		}
	for (i = j = 0; i < cal->n_holidays; i++)
		if (j == 0 || cal->holidays[j - 1] != cal->holidays[i])
			cal->holidays[j++] = cal->holidays[i];
	cal->n_holidays = j;
	return 1;
}

/* A comma-separated list of words, appended to *list. */
static int
parse_list(const char *v, char ***list, size_t *n)
{
	char *copy = xstrdup(v), *tok, *save = NULL;

	for (tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		*list = xrealloc(*list, (*n + 1) * sizeof **list);
		(*list)[(*n)++] = xstrdup(tok);
	}
	free(copy);
	return 1;
}

static int
parse_rules(struct parse_state *ps, const char *v)
{
	struct config *cfg = ps->cfg;
	char *copy = xstrdup(v), *tok, *save = NULL;

	cfg->rule_reference = cfg->rule_batch = cfg->rule_amount_date = false;
	for (tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		if (!strcmp(tok, "reference"))
			cfg->rule_reference = true;
		else if (!strcmp(tok, "batch"))
			cfg->rule_batch = true;
		else if (!strcmp(tok, "amount_date"))
			cfg->rule_amount_date = true;
		else {
			fail(ps, "rules: \"%s\" is not a rule (reference, batch, amount_date)", tok);
			free(copy);
			return 0;
		}
	}
	free(copy);
	return 1;
}

static int
parse_limit(struct parse_state *ps, const char *v)
{
	struct config *cfg = ps->cfg;
	const struct currency *cur;
	char code[4];

	if (!strcmp(v, "none")) {
		cfg->four_eyes_limit_minor = INT64_MAX;
	cfg->status_deadline_days = 2;
		return 1;
	}
	if (strlen(v) < 5 || v[3] != ' ')
		return fail(ps, "four_eyes_limit = \"%s\": expected \"CUR AMOUNT\" (e.g. SGD 5000000.00) or none", v);
	memcpy(code, v, 3);
	code[3] = '\0';
	if ((cur = currency_find(code)) == NULL)
		return fail(ps, "four_eyes_limit: unknown currency \"%s\"", code);
	if (money_parse(v + 4, strlen(v + 4), cur->exponent, &money_style_plain,
	    &cfg->four_eyes_limit_minor) != PERR_OK || cfg->four_eyes_limit_minor < 0)
		return fail(ps, "four_eyes_limit: %s", perr_detail());
	set_str(&cfg->four_eyes_currency, code);
	return 1;
}

/*
 * [report] sla_large_amount = CUR AMOUNT: an ERROR exception of that currency at least this large
 * (either direction) is due within sla_large_days business days, whatever its type.
 */
static int
parse_sla_amount(struct parse_state *ps, const char *v)
{
	struct config *cfg = ps->cfg;
	const struct currency *cur;

	if (strlen(v) < 5 || v[3] != ' ')
		return fail(ps, "sla_large_amount = \"%s\": expected \"CUR AMOUNT\" (e.g. SGD 50000.00)", v);
	memcpy(cfg->sla_large_currency, v, 3);
	cfg->sla_large_currency[3] = '\0';
	if ((cur = currency_find(cfg->sla_large_currency)) == NULL)
		return fail(ps, "sla_large_amount: unknown currency \"%s\"", cfg->sla_large_currency);
	if (money_parse(v + 4, strlen(v + 4), cur->exponent, &money_style_plain, &cfg->sla_large_minor) != PERR_OK ||
	    cfg->sla_large_minor <= 0)
		return fail(ps, "sla_large_amount: %s", cfg->sla_large_minor <= 0 ? "must be positive" : perr_detail());
	return 1;
}

/* [report] sla_days.TYPE = N: business days an open ERROR exception of TYPE may age before it is overdue. */
static int
parse_sla_type(struct parse_state *ps, const char *k, const char *v)
{
	struct config *cfg = ps->cfg;
	const char *type = k + strlen("sla_days.");
	long n;

	if (*type == '\0' || strspn(type, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") != strlen(type))
		return fail(ps, "%s: expected sla_days.TYPE with an exception type in capitals (e.g. sla_days.AMOUNT_MISMATCH)", k);
	if (!parse_int(ps, k, v, 0, 365, &n))
		return 0;
	cfg->sla_types = xrealloc(cfg->sla_types, (cfg->n_sla_types + 1) * sizeof(*cfg->sla_types));
	cfg->sla_types[cfg->n_sla_types].type = xstrdup(type);
	cfg->sla_types[cfg->n_sla_types++].days = (int)n;
	return 1;
}

int
config_sla_days(const struct config *cfg, const char *type)
{
	for (size_t i = cfg->n_sla_types; i > 0; i--)       /* the last setting of a type wins */
		if (!strcmp(cfg->sla_types[i - 1].type, type))
			return cfg->sla_types[i - 1].days;
	return cfg->sla_days;
}

static int
check_section(struct parse_state *ps, const char *section)
{
	size_t i;

	if (section[0] == '\0')
		return fail(ps, "a key before any [section]: every key belongs to a section such as [pipeline]");
	if (strcmp(ps->current, section) == 0)
		return 1;
	if (ps->current[0] != '\0' && ps->n_closed < sizeof ps->closed / sizeof ps->closed[0])
		ps->closed[ps->n_closed++] = xstrdup(ps->current);
	for (i = 0; i < ps->n_closed; i++)
		if (strcmp(ps->closed[i], section) == 0)
			return fail(ps, "section [%s] appears twice", section);
	snprintf(ps->current, sizeof ps->current, "%s", section);
	strcpy(ps->seen_keys, "\n");
	note_line(ps->cfg, section, NULL, ps->header_line ? ps->header_line : ps->line);
	return 1;
}

static int
check_repeat(struct parse_state *ps, const char *section, const char *name)
{
	char tag[256];

	if (!strcmp(name, "reference_pattern"))
		return 1;       /* repeatable by design: patterns are tried in order */
	/* seen_keys is "\nkey1\nkey2\n...": one entry per single-valued key of this section */
	snprintf(tag, sizeof tag, "\n%s\n", name);
	if (strstr(ps->seen_keys, tag) != NULL)
		return fail(ps, "key \"%s\" appears twice in [%s]", name, section);
	if (strlen(ps->seen_keys) + strlen(tag) < sizeof ps->seen_keys)
		strcat(ps->seen_keys, tag + 1);
	return 1;
}

/*
 * A value too long for inih's line buffer: kept aside and handed to inih as "\001N", which
 * handler() turns back into the value (inih's own rules applied: leading and trailing blanks and
 * an inline comment, " ;...", dropped).
 */
static char *
keep_long_value(struct parse_state *ps, const char *v, size_t n)
{
	char *val, *c;
	size_t len;

	while (n > 0 && (*v == ' ' || *v == '\t'))
		v++, n--;
	val = xstrndup(v, n);
	for (c = val; (c = strchr(c, ';')) != NULL; c++)
		if (c > val && (c[-1] == ' ' || c[-1] == '\t')) {
			*c = '\0';
			break;
		}
	len = strlen(val);
	while (len > 0 && (val[len - 1] == ' ' || val[len - 1] == '\t' || val[len - 1] == '\r'))
		val[--len] = '\0';
	ps->long_values = xrealloc(ps->long_values, (ps->n_long + 1) * sizeof *ps->long_values);
	ps->long_values[ps->n_long] = val;
	return val;
}

/*
 * inih's reader (like fgets): hands out the file one line at a time and counts the lines, so the
 * handler knows the line of the key it is given. inih reads at most num - 1 bytes and would take
 * the rest of a longer line for a line of its own: here a long comment is cut short, a long
 * `key = value` line reaches inih as `key = \001N` (keep_long_value), anything else too long is
 * an error naming its line.
 */
static char *
read_line(char *str, int num, void *stream)
{
	struct parse_state *ps = stream;
	const char *p = ps->text, *eq;
	size_t len, n;

	if (*p == '\0' || num < 3)
		return NULL;
	ps->line++;
	len = strcspn(p, "\n");
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '[')
		ps->header_line = ps->line;
	n = len < (size_t)num - 2 ? len : (size_t)num - 2;
	eq = memchr(ps->text, '=', len);
	if (n < len && *p != ';' && *p != '#' && *p != '[' && eq != NULL && (size_t)(eq - ps->text) + 16 < (size_t)num) {
		keep_long_value(ps, eq + 1, len - (size_t)(eq + 1 - ps->text));
		snprintf(str, (size_t)num, "%.*s= \001%zu\n", (int)(eq - ps->text), ps->text, ps->n_long++);
	} else {
		if (n < len && *p != ';' && *p != '#')
			fail(ps, "the line is longer than %d bytes", num - 2);
		memcpy(str, ps->text, n);
		str[n] = '\n';
		str[n + 1] = '\0';
	}
	ps->text += len + (ps->text[len] == '\n');
	return str;
}

static int
handler(void *user, const char *section, const char *k, const char *v)
{
	struct parse_state *ps = user;
	struct config *cfg = ps->cfg;
	long n;

	if (ps->err[0] != '\0')
		return 0;
	if (k == NULL)
		return 1;
	if (v[0] == '\001') {
		size_t i = strtoul(v + 1, NULL, 10);

		if (i >= ps->n_long)
			return fail(ps, "%s: a control character in the value", k);
		v = ps->long_values[i];
	}
	if (!check_section(ps, section) || !check_repeat(ps, section, k))
		return 0;
	note_line(cfg, section, k, ps->line);

	if (!strcmp(section, "pipeline")) {
		if (!strcmp(k, "data_dir")) { free(cfg->data_dir); cfg->data_dir = resolve(cfg, v); return 1; }
		if (!strcmp(k, "timezone")) { set_str(&cfg->timezone, v); return 1; }
		if (!strcmp(k, "company")) {
			if (!name_fits(ps, k, v))
				return 0;
			set_str(&cfg->company, v);
			return 1;
		}
		if (!strcmp(k, "formats_dir")) { free(cfg->formats_dir); cfg->formats_dir = resolve(cfg, v); return 1; }
		if (!strcmp(k, "log_format")) {
			if (strcmp(v, "logfmt") && strcmp(v, "json"))
				return fail(ps, "log_format = \"%s\": expected logfmt or json", v);
			set_str(&cfg->log_format, v);
			return 1;
		}
	} else if (!strcmp(section, "calendar")) {
		if (!strcmp(k, "holidays")) return parse_holidays(ps, v);
	} else if (!strcmp(section, "database")) {
		if (!strcmp(k, "conninfo")) { set_str(&cfg->db_conninfo, v); return 1; }
		if (!strcmp(k, "password_file")) {
			free(cfg->db_password_file);
			cfg->db_password_file = v[0] ? resolve(cfg, v) : NULL;
			return 1;
		}
		if (!strcmp(k, "pg_bindir")) { set_str(&cfg->pg_bindir, v); return 1; }
		if (!strcmp(k, "owner_role")) return role_key(ps, k, v, &cfg->owner_role);
		if (!strcmp(k, "nightly_role")) return role_key(ps, k, v, &cfg->nightly_role);
	} else if (!strcmp(section, "accounts")) {
		if (!strcmp(k, "client_money")) { set_str(&cfg->client_money_account, v); return 1; }
		if (!strcmp(k, "operating")) { set_str(&cfg->operating_account, v); return 1; }
		if (!strcmp(k, "trustee")) return parse_list(v, &cfg->trustee_accounts, &cfg->n_trustee_accounts);
		if (!strcmp(k, "other")) return parse_list(v, &cfg->other_accounts, &cfg->n_other_accounts);
	} else if (!strcmp(section, "match")) {
		if (!strcmp(k, "window_days")) return int_key(ps, k, v, 0, 60, &cfg->match_window_days);
		if (!strcmp(k, "rules")) return parse_rules(ps, v);
	} else if (!strcmp(section, "settle")) {
		if (!strcmp(k, "four_eyes_limit")) return parse_limit(ps, v);
		if (!strcmp(k, "pay_despite_breaks")) return parse_bool(ps, k, v, &cfg->pay_despite_breaks);
		if (!strcmp(k, "status_deadline_days")) return int_key(ps, k, v, 1, 60, &cfg->status_deadline_days);
		if (!strcmp(k, "debtor_name")) {
			if (!name_fits(ps, k, v))
				return 0;
			set_str(&cfg->debtor_name, v);
			return 1;
		}
		if (!strcmp(k, "debtor_bic")) { set_str(&cfg->debtor_bic, v); return 1; }
		if (!strcmp(k, "issue_after")) {
			if (!strcmp(v, "uploaded")) cfg->issue_after = ISSUE_AFTER_UPLOADED;
			else if (!strcmp(v, "accepted")) cfg->issue_after = ISSUE_AFTER_ACCEPTED;
			else if (!strcmp(v, "settled")) cfg->issue_after = ISSUE_AFTER_SETTLED;
			else return fail(ps, "issue_after = \"%s\": expected uploaded, accepted or settled", v);
			return 1;
		}
	} else if (!strcmp(section, "report")) {
		if (!strcmp(k, "dir")) { free(cfg->report_dir); cfg->report_dir = resolve(cfg, v); return 1; }
		if (!strcmp(k, "matched_row_cap")) {
			if (!parse_int(ps, k, v, 1, 1048575, &n)) return 0;
			cfg->matched_row_cap = n;
			return 1;
		}
		if (!strcmp(k, "sheet_row_limit")) {
			if (!parse_int(ps, k, v, 3, 1048576, &n)) return 0;
			cfg->sheet_row_limit = n;
			return 1;
		}
		if (!strcmp(k, "sla_days")) return int_key(ps, k, v, 0, 365, &cfg->sla_days);
		if (!strncmp(k, "sla_days.", 9)) return parse_sla_type(ps, k, v);
		if (!strcmp(k, "sla_large_amount")) return parse_sla_amount(ps, v);
		if (!strcmp(k, "sla_large_days")) return int_key(ps, k, v, 0, 365, &cfg->sla_large_days);
	} else if (!strcmp(section, "notify")) {
		if (!strcmp(k, "command")) { set_str(&cfg->notify_command, v); return 1; }
		if (!strcmp(k, "mail_to") || !strcmp(k, "mail_from")) {
			const char *p;

			for (p = v; *p; p++)
				if ((unsigned char)*p < 0x20 || *p == 0x7f)
					return fail(ps, "%s: control characters are not allowed in a mail header", k);
			set_str(!strcmp(k, "mail_to") ? &cfg->notify_mail_to : &cfg->notify_mail_from, v);
			return 1;
		}
		if (!strcmp(k, "webhook_url")) {
			if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8))
				return fail(ps, "webhook_url: expected an http:// or https:// URL");
			set_str(&cfg->notify_webhook_url, v);
			return 1;
		}
		if (!strcmp(k, "webhook_url_env")) { set_str(&cfg->notify_webhook_url_env, v); return 1; }
		if (!strcmp(k, "on")) {
			if (strcmp(v, "always") && strcmp(v, "failure"))
				return fail(ps, "on = \"%s\": expected always or failure", v);
			cfg->notify_failure_only = !strcmp(v, "failure");
			return 1;
		}
		if (!strcmp(k, "cut_off")) {
			int hh, mm, used = 0;

			if (!strcmp(v, "none")) {
				cfg->notify_cut_off_min = -1;
				return 1;
			}
			if (strlen(v) != 5 || sscanf(v, "%2d:%2d%n", &hh, &mm, &used) != 2 || used != 5
			    || v[0] < '0' || v[0] > '9' || v[3] < '0' || v[3] > '9'
			    || hh < 0 || hh > 23 || mm < 0 || mm > 59)
				return fail(ps, "cut_off = \"%s\": expected HH:MM (00:00 to 23:59) or none", v);
			cfg->notify_cut_off_min = hh * 60 + mm;
			return 1;
		}
		if (!strcmp(k, "timeout")) return int_key(ps, k, v, 1, 600, &cfg->notify_timeout_s);
	} else if (!strcmp(section, "housekeep")) {
		if (!strcmp(k, "keep_days")) return int_key(ps, k, v, 0, 36500, &cfg->housekeep_keep_days);
		if (!strcmp(k, "action")) {
			if (strcmp(v, "archive") && strcmp(v, "remove"))
				return fail(ps, "action = \"%s\": expected archive or remove", v);
			cfg->housekeep_remove = !strcmp(v, "remove");
			return 1;
		}
		if (!strcmp(k, "archive_dir")) {
			free(cfg->housekeep_archive_dir);
			cfg->housekeep_archive_dir = resolve(cfg, v);
			return 1;
		}
	} else if (!strcmp(section, "outbound.payments") || !strcmp(section, "outbound.issuance")) {
		bool pay = !strcmp(section, "outbound.payments");
		struct endpoint_cfg *ep = pay ? &cfg->payments_out : &cfg->issuance_out;
		bool *have = pay ? &cfg->have_payments_out : &cfg->have_issuance_out;
		int r;

		if (!*have) {
			endpoint_defaults(ep);
			*have = true;
		}
		r = endpoint_key(ps, ep, k, v);
		if (r >= 0)
			return r;
		return unknown_key(ps, section, k);
	} else if (!strncmp(section, "source.", 7)) {
		const char *name = section + 7;
		struct source_cfg *src = NULL;
		size_t i;

		for (i = 0; i < cfg->n_sources; i++)
			if (!strcmp(cfg->sources[i].name, name))
				src = &cfg->sources[i];
		if (src == NULL) {
			if (!valid_name(name))
				return fail(ps, "[%s]: a source name is letters, digits, '_' and '-'", section);
			if (cfg->n_sources == CONFIG_MAX_SOURCES)
				return fail(ps, "too many sources (at most %d)", CONFIG_MAX_SOURCES);
			src = &cfg->sources[cfg->n_sources++];
			src->name = xstrdup(name);
			endpoint_defaults(&src->ep);
			src->required = true;
			src->expected_count = 1;
			src->max_size = 256L * 1024 * 1024;
			src->missing_backoff_ms = 5000;
			src->changed_retries = 3;
		}
		return source_key(ps, src, k, v);
	} else
		return unknown_section(ps, section);
	return unknown_key(ps, section, k);
}

static config_format_check_fn format_check_fn;

void
config_set_format_check(config_format_check_fn fn)
{
	format_check_fn = fn;
}

/*
 * The error of a check after parsing: "file:line: key: reason", the line of `key` in [section], or
 * of the section itself when the key is absent (key NULL: "file:line: [section]: reason").
 */
static enum perr
bad(const struct config *cfg, const char *section, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum perr
bad(const struct config *cfg, const char *section, const char *key, const char *fmt, ...)
{
	char reason[1024], where[200];
	int line = key ? config_line(cfg, section, key) : 0;
	va_list ap;

	if (line == 0)
		line = config_line(cfg, section, NULL);
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	if (key && config_line(cfg, section, key))
		snprintf(where, sizeof where, "%s", key);
	else
		snprintf(where, sizeof where, "[%s]", section);
	if (line > 0)
		return perr_set(PERR_CONFIG, "%s:%d: %s: %s", cfg->path, line, where, reason);
	return perr_set(PERR_CONFIG, "%s: %s: %s", cfg->path, where, reason);
}

static enum perr
validate_endpoint(const struct config *cfg, const char *what, const struct endpoint_cfg *ep)
{
	if (ep->remote_dir == NULL || ep->remote_dir[0] == '\0')
		return bad(cfg, what, NULL, "needs remote_dir");
	if (ep->transport == TRANSPORT_SFTP) {
		if (!ep->host || !ep->user || !ep->key_file || !ep->known_hosts)
			return bad(cfg, what, NULL, "with transport = sftp needs host, user, key_file and known_hosts");
	}
	return PERR_OK;
}

/* A local `dir` destination named relative to the file: made absolute (documented base). */
static void
absolute_dir(const struct config *cfg, struct endpoint_cfg *ep)
{
	if (ep->transport == TRANSPORT_DIR && ep->remote_dir[0] != '/') {
		char *abs = resolve(cfg, ep->remote_dir);

		free(ep->remote_dir);
		ep->remote_dir = abs;
	}
}

/* Compiles a PCRE2 pattern (UTF, as fetch and refx do) to see that it can be; "" or the reason. */
static bool
pattern_compiles(const char *re_src, char *why, size_t cap)
{
	int code;
	PCRE2_SIZE off;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)re_src, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &code, &off, NULL);
	PCRE2_UCHAR msg[256];

	if (re != NULL) {
		pcre2_code_free(re);
		return true;
	}
	pcre2_get_error_message(code, msg, sizeof msg);
	snprintf(why, cap, "%s at offset %zu", (const char *)msg, (size_t)off);
	return false;
}

static bool
is_account(const struct config *cfg, const char *no)
{
	size_t i;

	if ((cfg->client_money_account && !strcmp(no, cfg->client_money_account))
	    || (cfg->operating_account && !strcmp(no, cfg->operating_account)))
		return true;
	for (i = 0; i < cfg->n_trustee_accounts; i++)
		if (!strcmp(no, cfg->trustee_accounts[i]))
			return true;
	for (i = 0; i < cfg->n_other_accounts; i++)
		if (!strcmp(no, cfg->other_accounts[i]))
			return true;
	return false;
}

static enum perr
validate_source(struct config *cfg, struct source_cfg *src)
{
	char what[96], why[300];
	char *expanded = NULL;
	const char *cand[16], *near;
	size_t i, n = 0;
	enum perr e;

	snprintf(what, sizeof what, "source.%s", src->name);
	if ((e = validate_endpoint(cfg, what, &src->ep)) != PERR_OK)
		return e;
	if (!src->pattern || !src->format)
		return bad(cfg, what, NULL, "needs pattern and format");
	if (src->pattern[0] != '^' || src->pattern[strlen(src->pattern) - 1] != '$')
		return bad(cfg, what, "pattern", "must be anchored (^...$)");
	if (transport_pattern_expand(src->pattern, 0, &expanded) != PERR_OK)
		return bad(cfg, what, "pattern", "%s", perr_detail());
	if (!pattern_compiles(expanded, why, sizeof why)) {
		free(expanded);
		return bad(cfg, what, "pattern", "not a regular expression: %s", why);
	}
	free(expanded);
	for (i = 0; i < src->n_reference_patterns; i++)
		if (!pattern_compiles(src->reference_patterns[i], why, sizeof why))
			return bad(cfg, what, "reference_pattern", "\"%s\" is not a regular expression: %s",
			    src->reference_patterns[i], why);
	if (src->account_no && !is_account(cfg, src->account_no)) {
		if (cfg->client_money_account)
			cand[n++] = cfg->client_money_account;
		if (cfg->operating_account)
			cand[n++] = cfg->operating_account;
		for (i = 0; i < cfg->n_trustee_accounts && n < sizeof cand / sizeof cand[0]; i++)
			cand[n++] = cfg->trustee_accounts[i];
		for (i = 0; i < cfg->n_other_accounts && n < sizeof cand / sizeof cand[0]; i++)
			cand[n++] = cfg->other_accounts[i];
		near = near_word(src->account_no, cand, n);
		return bad(cfg, what, "account_no", "\"%s\" is not an account of [accounts] (client_money, "
		    "operating, trustee or other)%s%s%s", src->account_no, near ? " (did you mean \"" : "",
		    near ? near : "", near ? "\"?)" : "");
	}
	if (format_check_fn != NULL && format_check_fn(cfg->formats_dir, src->format) != PERR_OK)
		return bad(cfg, what, "format", "%s", perr_detail());
	absolute_dir(cfg, &src->ep);
	return PERR_OK;
}

/* Every section the nightly cannot do without, checked after everything else. */
static enum perr
validate_required(const struct config *cfg)
{
	if (config_line(cfg, "accounts", NULL) == 0)
		return perr_set(PERR_CONFIG, "%s: [accounts]: the section is missing: it names the client_money "
		    "and operating accounts (docs/configuration.md)", cfg->path);
	if (cfg->client_money_account == NULL || cfg->operating_account == NULL)
		return bad(cfg, "accounts", NULL, "needs client_money and operating");
	if (cfg->n_sources == 0)
		return perr_set(PERR_CONFIG, "%s: no [source.NAME] section: the nightly needs at least one "
		    "statement source", cfg->path);
	return PERR_OK;
}

static enum perr
validate(struct config *cfg)
{
	size_t i;
	enum perr e;
	date_t today;

	if (date_today_in_zone(cfg->timezone, &today) != PERR_OK)
		return bad(cfg, "pipeline", "timezone", "%s", perr_detail());
	if (cfg->pg_bindir && cfg->pg_bindir[0] && cfg->pg_bindir[0] != '/')
		return bad(cfg, "database", "pg_bindir", "\"%s\" must be an absolute directory", cfg->pg_bindir);
	for (i = 0; i < cfg->n_sources; i++)
		if ((e = validate_source(cfg, &cfg->sources[i])) != PERR_OK)
			return e;
	if (cfg->have_payments_out && (e = validate_endpoint(cfg, "outbound.payments", &cfg->payments_out)))
		return e;
	if (cfg->have_issuance_out && (e = validate_endpoint(cfg, "outbound.issuance", &cfg->issuance_out)))
		return e;
	if (cfg->have_payments_out)
		absolute_dir(cfg, &cfg->payments_out);
	if (cfg->have_issuance_out)
		absolute_dir(cfg, &cfg->issuance_out);
	if (!strcmp(cfg->owner_role, cfg->nightly_role))
		return bad(cfg, "database", "nightly_role", "owner_role and nightly_role are both \"%s\": the "
		    "nightly must run as a role that cannot rewrite the journal, so they must differ",
		    cfg->owner_role);
	if (cfg->db_password_file) {
		struct stat st;

		if (stat(cfg->db_password_file, &st) != 0)
			return bad(cfg, "database", "password_file", "%s: %s (create it: install -m 0600 /dev/null %s, "
			    "then write the password on its first line)", cfg->db_password_file, strerror(errno),
			    cfg->db_password_file);
		if (st.st_mode & 077)
			return bad(cfg, "database", "password_file", "%s is readable by others (mode %03o); "
			    "run chmod 600 %s", cfg->db_password_file, st.st_mode & 0777, cfg->db_password_file);
	}
	return validate_required(cfg);
}

enum perr
config_load(const char *path, struct config **out)
{
	struct config *cfg = xcalloc(1, sizeof *cfg);
	struct parse_state ps;
	char *slash, *text;
	size_t len, i;
	enum perr e;
	int line;

	memset(&ps, 0, sizeof ps);
	ps.cfg = cfg;
	cfg->path = xstrdup(path);
	cfg->base_dir = xstrdup(path);
	slash = strrchr(cfg->base_dir, '/');
	if (slash == NULL)
		set_str(&cfg->base_dir, ".");
	else if (slash == cfg->base_dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	{
		/* Absolute, so paths handed to other programs (pg_ctl, sshd) mean the same thing. */
		char *abs = realpath(cfg->base_dir, NULL);

		if (abs != NULL) {
			free(cfg->base_dir);
			cfg->base_dir = abs;
		}
	}

	if ((e = read_file(path, &text, &len, 1 << 20)) != PERR_OK) {
		config_free(cfg);
		return perr_set(PERR_CONFIG, "%s", perr_detail());
	}
	if (strlen(text) != len) {
		free(text);
		config_free(cfg);
		return perr_set(PERR_CONFIG, "%s: contains a NUL byte", path);
	}
	sha256_hex(text, len, cfg->digest);

	cfg->data_dir = resolve(cfg, "var");
	cfg->timezone = xstrdup("Asia/Singapore");
	cfg->company = xstrdup("");
	cfg->log_format = xstrdup("logfmt");
	cfg->formats_dir = resolve(cfg, "formats");
	cfg->db_conninfo = xstrdup("");
	cfg->owner_role = xstrdup("pipeline_owner");
	cfg->nightly_role = xstrdup("pipeline_nightly");
	cfg->match_window_days = 3;
	cfg->rule_reference = cfg->rule_batch = cfg->rule_amount_date = true;
	cfg->four_eyes_limit_minor = INT64_MAX;
	cfg->status_deadline_days = 2;
	cfg->matched_row_cap = 100000;
	cfg->sheet_row_limit = 1048576;
	cfg->sla_days = 5;
	cfg->sla_large_days = 1;
	cfg->notify_cut_off_min = -1;
	cfg->notify_timeout_s = 20;
	cfg->housekeep_keep_days = 90;

	ps.text = text;
	line = ini_parse_stream(read_line, &ps, handler, &ps);
	free(text);
	for (i = 0; i < ps.n_closed; i++)
		free(ps.closed[i]);
	for (i = 0; i < ps.n_long; i++)
		free(ps.long_values[i]);
	free(ps.long_values);
	if (line != 0) {
		config_free(cfg);
		if (line < 0)
			return perr_set(PERR_CONFIG, "%s: cannot parse", path);
		if (ps.err[0])
			return perr_set(PERR_CONFIG, "%s:%d: %s", path, ps.err_line, ps.err);
		return perr_set(PERR_CONFIG, "%s:%d: syntax error (expected [section] or key = value)", path, line);
	}
	if (cfg->report_dir == NULL)
		cfg->report_dir = xasprintf("%s/reports", cfg->data_dir);
	if (cfg->housekeep_archive_dir == NULL)
		cfg->housekeep_archive_dir = xasprintf("%s/archive", cfg->data_dir);
	if (cfg->notify_command == NULL && cfg->notify_mail_to != NULL)
		cfg->notify_command = xstrdup("/usr/sbin/sendmail -t");
	if ((e = validate(cfg)) != PERR_OK) {
		config_free(cfg);
		return e;
	}
	*out = cfg;
	return PERR_OK;
}

static void
endpoint_free(struct endpoint_cfg *ep)
{
	free(ep->host);
	free(ep->user);
	free(ep->key_file);
	free(ep->key_passphrase_env);
	free(ep->known_hosts);
	free(ep->remote_dir);
}

void
config_free(struct config *cfg)
{
	size_t i, j;

	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->base_dir);
	free(cfg->data_dir);
	free(cfg->timezone);
	free(cfg->company);
	free(cfg->log_format);
	free(cfg->formats_dir);
	free(cfg->calendar.holidays);
	free(cfg->db_conninfo);
	free(cfg->db_password_file);
	free(cfg->pg_bindir);
	free(cfg->owner_role);
	free(cfg->nightly_role);
	free(cfg->client_money_account);
	free(cfg->operating_account);
	free(cfg->four_eyes_currency);
	free(cfg->debtor_name);
	free(cfg->debtor_bic);
	endpoint_free(&cfg->payments_out);
	endpoint_free(&cfg->issuance_out);
	free(cfg->report_dir);
	for (size_t k = 0; k < cfg->n_sla_types; k++)
		free(cfg->sla_types[k].type);
	free(cfg->sla_types);
	free(cfg->notify_command);
	free(cfg->notify_mail_to);
	free(cfg->notify_mail_from);
	free(cfg->notify_webhook_url);
	free(cfg->notify_webhook_url_env);
	free(cfg->housekeep_archive_dir);
	for (i = 0; i < cfg->n_trustee_accounts; i++)
		free(cfg->trustee_accounts[i]);
	free(cfg->trustee_accounts);
	for (i = 0; i < cfg->n_other_accounts; i++)
		free(cfg->other_accounts[i]);
	free(cfg->other_accounts);
	for (i = 0; i < cfg->n_lines; i++) {
		free(cfg->lines[i].section);
		free(cfg->lines[i].key);
	}
	free(cfg->lines);
	for (i = 0; i < cfg->n_sources; i++) {
		struct source_cfg *s = &cfg->sources[i];

		free(s->name);
		endpoint_free(&s->ep);
		free(s->pattern);
		free(s->format);
		free(s->encoding);
		free(s->account_no);
		for (j = 0; j < s->n_reference_patterns; j++)
			free(s->reference_patterns[j]);
		free(s->archive_dir);
	}
	free(cfg);
}

const struct source_cfg *
config_source(const struct config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->n_sources; i++)
		if (!strcmp(cfg->sources[i].name, name))
			return &cfg->sources[i];
	return NULL;
}
