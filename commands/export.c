/*
 * export.c - `pipeline export exceptions --date D [--format csv|json]`: every exception open as
 * of the business date D (opened on or before D and not closed by then), to stdout.
 *
 * Columns: id,type,severity,account,date,amount,currency,reference,statement_ref,ledger_id,
 * age_days,detail - date is the item's date, amount a signed decimal string in major units (empty
 * when the exception has no amount), age_days the business days from the day it was opened to D
 * (calendar from the configuration). Rows are ordered by id.
 * CSV is RFC 4180 (CRLF, quotes doubled) and text that comes from outside (references, details,
 * accounts) is defused for spreadsheets by the OWASP rule: a cell starting with = + - @ tab or CR
 * gets a leading '. JSON is one array of objects with the same keys.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bizdate.h"
#include "cli.h"
#include "commands.h"
#include "csvout.h"
#include "db.h"
#include "jsonout.h"
#include "money.h"
#include "util.h"

static const char export_usage[] =
    "usage: pipeline export exceptions [--date YYYY-MM-DD] [--format csv|json]\n";

static const char *const columns[] = {
	"id", "type", "severity", "account", "date", "amount", "currency", "reference", "statement_ref",
	"ledger_id", "age_days", "detail",
};
#define N_COLUMNS 12

/* Which columns are text from outside (OWASP-defused in CSV, quoted strings in JSON either way). */
static const bool is_text[N_COLUMNS] = { false, false, false, true, false, false, false, true, true, true,
	false, true };

/*
 * One exception as a JSON object with the CSV's column names as keys: id and age_days numbers; no
 * account, date, amount or currency is null; everything else a string.
 */
static json_t *
row_json(const char *const vals[N_COLUMNS])
{
	json_t *o = json_object();
	int k;

	for (k = 0; k < N_COLUMNS; k++) {
		json_t *v;

		if (k == 0 || k == 10)
			v = jsonout_int(atoll(vals[k]));
		else if (vals[k][0] == '\0' && (k == 3 || k == 4 || k == 5 || k == 6))
			v = json_null();
		else
			v = jsonout_str(vals[k]);
		jsonout_set(o, columns[k], v);
	}
	return o;
}

static enum perr
export_exceptions(const struct config *cfg, PGconn *db, date_t date, bool json)
{
	char iso[DATE_BUFSZ];
	const char *params[1];
	PGresult *res;
	int i, n, k;
	enum perr e = PERR_OK;

	params[0] = date_format_iso(date, iso);
	res = db_query(db, PGRES_TUPLES_OK,
	    "SELECT x.exception_id, x.type, x.severity, coalesce(x.account_no, ''),"
	    "       coalesce(to_char(x.item_date, 'YYYY-MM-DD'), ''), x.amount_minor, coalesce(x.currency, ''),"
	    "       x.reference, x.statement_ref, x.ledger_id, to_char(x.opened_date, 'YYYY-MM-DD'), x.detail"
	    "  FROM exception x"
	    " WHERE x.opened_date <= $1::date AND (x.status = 'OPEN' OR x.closed_date > $1::date)"
	    " ORDER BY x.exception_id", 1, params);
	if (res == NULL)
		return PERR_DB;
	n = PQntuples(res);
	if (json)
		printf("[");
	else {
		for (k = 0; k < N_COLUMNS; k++)
			printf("%s%s", k ? "," : "", columns[k]);
		printf("\r\n");
	}
	for (i = 0; i < n; i++) {
		char amount[MONEY_BUFSZ] = "", age[16];
		const char *vals[N_COLUMNS];
		date_t opened;

		if (!PQgetisnull(res, i, 5)) {
			const struct currency *c = currency_find(PQgetvalue(res, i, 6));

			if (c == NULL) {
				e = perr_set(PERR_CURRENCY, "export: exception %s has unknown currency \"%s\"",
				    PQgetvalue(res, i, 0), PQgetvalue(res, i, 6));
				break;
			}
			money_format(db_get_i64(res, i, 5), c->exponent, amount);
		}
		if ((e = date_parse_iso(PQgetvalue(res, i, 10), &opened)) != PERR_OK)
			break;
		snprintf(age, sizeof age, "%d", calendar_business_days_between(&cfg->calendar, opened, date));
		vals[0] = PQgetvalue(res, i, 0);
		vals[1] = PQgetvalue(res, i, 1);
		vals[2] = PQgetvalue(res, i, 2);
		vals[3] = PQgetvalue(res, i, 3);
		vals[4] = PQgetvalue(res, i, 4);
		vals[5] = amount;
		vals[6] = PQgetvalue(res, i, 6);
		vals[7] = PQgetvalue(res, i, 7);
		vals[8] = PQgetvalue(res, i, 8);
		vals[9] = PQgetvalue(res, i, 9);
		vals[10] = age;
		vals[11] = PQgetvalue(res, i, 11);
		if (json) {
			printf("%s\n  ", i ? "," : "");
			if (jsonout_write(stdout, row_json(vals), JSON_PRESERVE_ORDER, NULL) != 0) {
				e = perr_set(PERR_IO, "export: writing to standard output failed");
				break;
			}
		} else {
			for (k = 0; k < N_COLUMNS; k++) {
				if (k)
					putchar(',');
				csv_put(stdout, vals[k], is_text[k]);
			}
			printf("\r\n");
		}
	}
	if (json && e == PERR_OK)
		printf("%s]\n", n ? "\n" : "");
	PQclear(res);
	return e;
}

int
cmd_export(int argc, char **argv, const char *config_path)
{
	static const struct option opts[] = {
		{ "date", required_argument, NULL, 'd' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *date_arg = NULL, *format = "csv";
	struct config *cfg = NULL;
	PGconn *db = NULL;
	date_t date;
	int c;
	enum perr e;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': date_arg = optarg; break;
		case 'f': format = optarg; break;
		case 'h':
			printf("%s"
			    "Writes every exception open as of the business date (default: the last business day) to\n"
			    "stdout with the columns id,type,severity,account,date,amount,currency,reference,\n"
			    "statement_ref,ledger_id,age_days,detail. Amounts are decimal strings in major units;\n"
			    "age_days counts business days since the exception was opened.\n", export_usage);
			return 0;
		default:
			fputs(export_usage, stderr);
			return 2;
		}
	}
	if (optind + 1 != argc || strcmp(argv[optind], "exceptions") != 0) {
		fputs(export_usage, stderr);
		return 2;
	}
	if (strcmp(format, "csv") != 0 && strcmp(format, "json") != 0) {
		fprintf(stderr, "pipeline: usage error: export: --format must be csv or json, not \"%s\"\n", format);
		return 2;
	}
	if ((e = cli_open(config_path, "export", &cfg, &db)) != PERR_OK)
		return cli_fail(e);
	if ((e = cli_date(cfg, date_arg, &date)) == PERR_OK)
		e = export_exceptions(cfg, db, date, !strcmp(format, "json"));
	PQfinish(db);
	config_free(cfg);
	return e == PERR_OK ? 0 : cli_fail(e);
}
