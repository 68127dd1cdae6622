/*
 * config.c - reads pipeline.conf with libinih and validates every key strictly.
 *
 * libinih calls handler() once per key; a handler that returns 0 makes ini_parse() return that
 * line number, which is how every error here names its line. Duplicate sections are detected by
 * remembering which sections were already closed.
 */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "money.h"
#include "util.h"

struct parse_state {
	struct config *cfg;
	char err[512];               /* first error, without the file:line prefix */
	char current[128];           /* section of the previous key */
	char *closed[CONFIG_MAX_SOURCES + 16];
	size_t n_closed;
	char seen_keys[4096];        /* single-valued keys seen in the current section */
};

static int
fail(struct parse_state *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
fail(struct parse_state *ps, const char *fmt, ...)
{
	va_list ap;

	if (ps->err[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(ps->err, sizeof ps->err, fmt, ap);
		va_end(ap);
	}
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
	return fail(ps, "unknown key \"%s\" in [source.%s]", k, src->name);
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

static int
check_section(struct parse_state *ps, const char *section)
{
	size_t i;

	if (strcmp(ps->current, section) == 0)
		return 1;
	if (ps->current[0] != '\0' && ps->n_closed < sizeof ps->closed / sizeof ps->closed[0])
		ps->closed[ps->n_closed++] = xstrdup(ps->current);
	for (i = 0; i < ps->n_closed; i++)
		if (strcmp(ps->closed[i], section) == 0)
			return fail(ps, "section [%s] appears twice", section);
	snprintf(ps->current, sizeof ps->current, "%s", section);
	strcpy(ps->seen_keys, "\n");
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
	if (!check_section(ps, section) || !check_repeat(ps, section, k))
		return 0;

	if (!strcmp(section, "pipeline")) {
		if (!strcmp(k, "data_dir")) { free(cfg->data_dir); cfg->data_dir = resolve(cfg, v); return 1; }
		if (!strcmp(k, "timezone")) { set_str(&cfg->timezone, v); return 1; }
		if (!strcmp(k, "company")) { set_str(&cfg->company, v); return 1; }
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
	} else if (!strcmp(section, "match")) {
		if (!strcmp(k, "window_days")) return int_key(ps, k, v, 0, 60, &cfg->match_window_days);
		if (!strcmp(k, "rules")) return parse_rules(ps, v);
	} else if (!strcmp(section, "settle")) {
		if (!strcmp(k, "four_eyes_limit")) return parse_limit(ps, v);
		if (!strcmp(k, "pay_despite_breaks")) return parse_bool(ps, k, v, &cfg->pay_despite_breaks);
		if (!strcmp(k, "status_deadline_days")) return int_key(ps, k, v, 1, 60, &cfg->status_deadline_days);
		if (!strcmp(k, "debtor_name")) { set_str(&cfg->debtor_name, v); return 1; }
		if (!strcmp(k, "debtor_bic")) { set_str(&cfg->debtor_bic, v); return 1; }
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
		return fail(ps, "unknown key \"%s\" in [%s]", k, section);
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
		}
		return source_key(ps, src, k, v);
	} else
		return fail(ps, "unknown section [%s]", section);
	return fail(ps, "unknown key \"%s\" in [%s]", k, section);
}

static enum perr
validate_endpoint(const struct config *cfg, const char *what, const struct endpoint_cfg *ep)
{
	if (ep->remote_dir == NULL || ep->remote_dir[0] == '\0')
		return perr_set(PERR_CONFIG, "%s: [%s] needs remote_dir", cfg->path, what);
	if (ep->transport == TRANSPORT_SFTP) {
		if (!ep->host || !ep->user || !ep->key_file || !ep->known_hosts)
			return perr_set(PERR_CONFIG, "%s: [%s] with transport = sftp needs host, user, "
			    "key_file and known_hosts", cfg->path, what);
	}
	return PERR_OK;
}

static enum perr
validate(struct config *cfg)
{
	size_t i;
	char what[96];
	enum perr e;
	date_t today;

	if (date_today_in_zone(cfg->timezone, &today) != PERR_OK)
		return perr_set(PERR_CONFIG, "%s: [pipeline] timezone: %s", cfg->path, perr_detail());

	for (i = 0; i < cfg->n_sources; i++) {
		struct source_cfg *src = &cfg->sources[i];

		snprintf(what, sizeof what, "source.%s", src->name);
		if ((e = validate_endpoint(cfg, what, &src->ep)) != PERR_OK)
			return e;
		if (!src->pattern || !src->format)
			return perr_set(PERR_CONFIG, "%s: [%s] needs pattern and format", cfg->path, what);
		if (src->pattern[0] != '^' || src->pattern[strlen(src->pattern) - 1] != '$')
			return perr_set(PERR_CONFIG, "%s: [%s] pattern must be anchored (^...$)", cfg->path, what);
		if (src->ep.transport == TRANSPORT_DIR && src->ep.remote_dir[0] != '/') {
			char *abs = resolve(cfg, src->ep.remote_dir);

			free(src->ep.remote_dir);
			src->ep.remote_dir = abs;
		}
	}
	if (cfg->have_payments_out && (e = validate_endpoint(cfg, "outbound.payments", &cfg->payments_out)))
		return e;
	if (cfg->have_issuance_out && (e = validate_endpoint(cfg, "outbound.issuance", &cfg->issuance_out)))
		return e;
	if (cfg->have_payments_out && cfg->payments_out.transport == TRANSPORT_DIR
	    && cfg->payments_out.remote_dir[0] != '/') {
		char *abs = resolve(cfg, cfg->payments_out.remote_dir);

		free(cfg->payments_out.remote_dir);
		cfg->payments_out.remote_dir = abs;
	}
	if (cfg->have_issuance_out && cfg->issuance_out.transport == TRANSPORT_DIR
	    && cfg->issuance_out.remote_dir[0] != '/') {
		char *abs = resolve(cfg, cfg->issuance_out.remote_dir);

		free(cfg->issuance_out.remote_dir);
		cfg->issuance_out.remote_dir = abs;
	}
	if (!strcmp(cfg->owner_role, cfg->nightly_role))
		return perr_set(PERR_CONFIG, "%s: [database] owner_role and nightly_role are both \"%s\": the "
		    "nightly must run as a role that cannot rewrite the journal, so they must differ", cfg->path,
		    cfg->owner_role);
	if (cfg->db_password_file) {
		struct stat st;

		if (stat(cfg->db_password_file, &st) != 0)
			return perr_set(PERR_CONFIG, "%s: password_file %s: %s", cfg->path,
			    cfg->db_password_file, strerror(errno));
		if (st.st_mode & 077)
			return perr_set(PERR_CONFIG, "%s: password_file %s is readable by others (mode %03o); "
			    "run chmod 600 %s", cfg->path, cfg->db_password_file, st.st_mode & 0777,
			    cfg->db_password_file);
	}
	return PERR_OK;
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
	cfg->notify_cut_off_min = -1;
	cfg->notify_timeout_s = 20;
	cfg->housekeep_keep_days = 90;

	line = ini_parse_string(text, handler, &ps);
	free(text);
	for (i = 0; i < ps.n_closed; i++)
		free(ps.closed[i]);
	if (line != 0) {
		config_free(cfg);
		if (line < 0)
			return perr_set(PERR_CONFIG, "%s: cannot parse", path);
		return perr_set(PERR_CONFIG, "%s:%d: %s", path, line,
		    ps.err[0] ? ps.err : "syntax error (expected [section] or key = value)");
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
	free(cfg->notify_command);
	free(cfg->notify_mail_to);
	free(cfg->notify_mail_from);
	free(cfg->notify_webhook_url);
	free(cfg->notify_webhook_url_env);
	free(cfg->housekeep_archive_dir);
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
