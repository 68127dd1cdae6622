/*
 * config.h - pipeline.conf: the one configuration file, parsed strictly.
 *
 * INI syntax (libinih). Unknown sections, unknown keys, duplicate sections and bad values are
 * errors naming the file and line. Secrets never live in this file: a key passphrase or database
 * password is named by an environment variable (`*_env`) or a file that must be mode 0600 or stricter.
 * Relative paths in the file are resolved against the directory holding the file. References between
 * sections (formats, accounts), patterns, zones and required sections are checked at load too, and
 * every error names the line (config_line).
 * docs/configuration.md documents every key; keep the two in step.
 */
#ifndef PIPELINE_CONFIG_H
#define PIPELINE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bizdate.h"
#include "errors.h"

#define CONFIG_MAX_SOURCES 32
#define CONFIG_MAX_PATTERNS 8

enum transport_kind { TRANSPORT_DIR = 0, TRANSPORT_SFTP = 1 };

/* Where files come from or go to: an SFTP server, or a local directory. */
struct endpoint_cfg {
	enum transport_kind transport;
	char *host;               /* sftp */
	int port;                 /* sftp, default 22 */
	char *user;               /* sftp */
	char *key_file;           /* sftp: Ed25519 or ECDSA private key, mode 0600 */
	char *key_passphrase_env; /* sftp: name of the environment variable holding the passphrase, or NULL */
	char *known_hosts;        /* sftp: OpenSSH known_hosts file */
	char *remote_dir;         /* sftp: directory on the server; dir: the local directory */
	int connect_timeout_s;    /* default 15 */
	int io_timeout_s;         /* default 60: a stuck server must not hang the night */
	int retries;              /* default 3, on connection loss */
	int retry_backoff_ms;     /* default 1000, doubled each retry */
	/* Bounds on what an untrusted server can make us do (docs/fetch.md, "Limits"). */
	int64_t list_max_entries; /* default 100000 entries in one listing */
	int64_t list_max_bytes;   /* default 16 MiB of names in one listing */
	int list_timeout_s;       /* default 300: a listing that never ends is cut off */
	int file_timeout_s;       /* default 3600: a transfer that drips is cut off */
	int max_name_len;         /* default 255 (the most a local file name can be): longer names are skipped */
};

/* [source.NAME]: one stream of statement files. */
struct source_cfg {
	char *name;               /* NAME from the section header; also the inbox subdirectory */
	struct endpoint_cfg ep;
	char *pattern;            /* PCRE2, anchored; strftime-style %Y %m %d %y are replaced by the business date */
	char *format;             /* "mt940", "trustee_register" or a CSV layout name from formats/ (without .layout) */
	char *encoding;           /* "UTF-8" (default) or "ISO-8859-1" */
	char *account_no;         /* expected account, or NULL (then taken from the file) */
	char *reference_patterns[CONFIG_MAX_PATTERNS]; /* PCRE2, tried in order; first capture group or whole match */
	size_t n_reference_patterns;
	bool required;            /* default true: missing means exit 3 */
	bool mt940_strict;        /* default false: MT940 dialects are tolerated and recorded; true refuses them */
	int expected_count;       /* default 1 */
	int64_t max_size;         /* bytes, default 256 MiB */
	char *archive_dir;        /* remote directory to move fetched files to, or NULL */
	int missing_retries;      /* default 0: how often to look again for a missing file before exit 3 */
	int missing_backoff_ms;   /* default 5000 */
	int changed_retries;      /* default 3: how often a file that changed while read is read again (after
	                           * missing_backoff_ms, doubled) before the source fails */
};

struct config {
	char *path;               /* the file read */
	char *base_dir;           /* its directory: relative paths resolve against it */

	/* [pipeline] */
	char *data_dir;           /* default "var" */
	char *timezone;           /* default "Asia/Singapore" */
	char *company;            /* report document property */
	char *log_format;         /* "logfmt" (default) or "json" */
	char *formats_dir;        /* default "formats" */

	/* [calendar] */
	struct calendar calendar;

	/* [database] */
	char *db_conninfo;        /* libpq connection string; empty = embedded cluster under data_dir/pg */
	char *db_password_file;   /* optional, mode 0600: its first line becomes PGPASSWORD */
	char *pg_bindir;          /* embedded cluster: where initdb/pg_ctl live; default from pg_config */
	char *owner_role;         /* owns the schema; `db init` runs the migrations as it (pipeline_owner) */
	char *nightly_role;       /* every other command runs as it: no UPDATE/DELETE of money (pipeline_nightly) */

	/* [accounts]: every account_no a source names must be one of these */
	char *client_money_account;
	char *operating_account;
	char **trustee_accounts;  /* trustee = A, B: trustee accounts whose statements are fetched */
	size_t n_trustee_accounts;
	char **other_accounts;    /* other = A, B: any further account a source fetches statements of */
	size_t n_other_accounts;

	/* [match] */
	int match_window_days;    /* default 3 business days */
	bool rule_reference, rule_batch, rule_amount_date; /* default all true */

	/* [settle] */
	char *four_eyes_currency;        /* currency of the limit, e.g. "SGD" */
	int64_t four_eyes_limit_minor;   /* transfers above this are held; INT64_MAX = no limit */
	bool pay_despite_breaks;         /* default false */
	int status_deadline_days;        /* default 2: business days an UPLOADED transfer may wait for its pain.002 */
	char *debtor_name;               /* pain.001 initiating party / debtor name */
	char *debtor_bic;                /* pain.001 debtor agent BIC */
	/* DvP: an offering's issuance file waits until its payments are uploaded and verified,
	 * accepted by the bank (pain.002), or settled (seen on the statement) */
	enum { ISSUE_AFTER_UPLOADED = 0, ISSUE_AFTER_ACCEPTED, ISSUE_AFTER_SETTLED } issue_after;
	struct endpoint_cfg payments_out;  /* [outbound.payments] */
	struct endpoint_cfg issuance_out;  /* [outbound.issuance] */
	bool have_payments_out, have_issuance_out;

	/* [report] */
	char *report_dir;         /* default data_dir/reports */
	long matched_row_cap;     /* default 100000 */
	long sheet_row_limit;     /* default 1048576 (Excel's limit, header included) */
	/* Service levels of open ERROR exceptions ("needs action today" on the Summary): overdue once
	 * older than config_sla_days(type) business days, or sla_large_days when at least
	 * sla_large_minor in sla_large_currency (no currency set: no amount rule). */
	int sla_days;                       /* default 5 */
	struct { char *type; int days; } *sla_types;   /* sla_days.TYPE, in file order */
	size_t n_sla_types;
	char sla_large_currency[4];
	int64_t sla_large_minor;
	int sla_large_days;                 /* default 1 */

	/* [notify] (docs/operations.md): the end-of-run summary */
	char *notify_command;     /* message on stdin; default "/usr/sbin/sendmail -t" when mail_to is set */
	char *notify_mail_to;     /* To: header (comma-separated addresses), or NULL */
	char *notify_mail_from;   /* From: header, or NULL */
	char *notify_webhook_url; /* JSON POST target, or NULL; may embed a token: never logged */
	char *notify_webhook_url_env; /* name of an environment variable holding the webhook URL */
	bool notify_failure_only; /* on = failure: only failures and exit 3 past the cut-off */
	int notify_cut_off_min;   /* minutes after midnight on the day after the business date; -1 none */
	int notify_timeout_s;     /* default 20: a stuck mail command or webhook must not hang the night */

	/* [housekeep] */
	int housekeep_keep_days;  /* default 90; 0 = housekeep does nothing */
	bool housekeep_remove;    /* action = remove (default archive: moved under archive_dir) */
	char *housekeep_archive_dir; /* default data_dir/archive */

	/* [source.NAME] */
	struct source_cfg sources[CONFIG_MAX_SOURCES];
	size_t n_sources;

	char digest[65];          /* SHA-256 of the file's bytes, recorded with every run */

	struct config_line {      /* where each key was read (config_line) */
		char *section, *key; /* key NULL: the section's first line */
		int line;
	} *lines;
	size_t n_lines;
};

/*
 * Reads and validates the file at `path`. On success *out is a new config owned by the caller
 * (free with config_free). On failure returns PERR_CONFIG with "file:line: reason" in perr_detail.
 */
enum perr config_load(const char *path, struct config **out);
/* Safe to call with NULL. */
void config_free(struct config *cfg);

/* Resolves a path from the config against base_dir. Returns a new string owned by the caller. */
char *config_path(const struct config *cfg, const char *p);

const struct source_cfg *config_source(const struct config *cfg, const char *name);

/* Business days an open ERROR exception of `type` may age before it is overdue ([report] sla_days*). */
int config_sla_days(const struct config *cfg, const char *type);

/* The line `key` of [section] was read from (key NULL: the section's first line), or 0. */
int config_line(const struct config *cfg, const char *section, const char *key);

/*
 * Checks a source's `format` name at load: PERR_OK, or an error whose detail says why (not a
 * format, with "did you mean"; its layout does not parse). src/ cannot call formats/, so the
 * program sets formats/format.c's format_check here before loading (commands/main.c); without
 * one, formats are checked only when a stage opens them.
 */
typedef enum perr (*config_format_check_fn)(const char *formats_dir, const char *name);
void config_set_format_check(config_format_check_fn fn);

#endif
