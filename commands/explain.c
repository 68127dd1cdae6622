/*
 * explain.c - `pipeline explain REF`: for a transfer (TRF-...) its whole history - payment file,
 * upload, every status the bank's pain.002 reports or the statement gave it, with the file or line
 * that said so, its exceptions - and then, for any statement line or ledger movement named by REF (an
 * extracted reference, a bank reference, a line id or "line:ID", a movement id, or a batch id),
 * prints what it matched and by which rule, or why it did not: its exceptions (open, closed or
 * resolved, with who closed them), or that it is pending inside its window, or that its statement
 * failed the gate. Read-only. Exit 0 if something was found, 1 (not found) otherwise.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bizdate.h"
#include "cli.h"
#include "commands.h"
#include "db.h"
#include "money.h"
#include "utf8.h"
#include "util.h"

static const char explain_usage[] = "usage: pipeline explain REF\n";

/*
 * A value from outside (a reference, a narrative, a note) as it may be printed: control, bidi and
 * invisible characters escaped (src/utf8.h). Valid until the eighth call after; owned here.
 */
static const char *
outside(const PGresult *res, int row, int col)
{
	static char *ring[8];
	static unsigned next;
	char **slot = &ring[next++ % 8];

	free(*slot);
	*slot = utf8_shown(PQgetvalue(res, row, col), (size_t)PQgetlength(res, row, col), UTF8_SHOWN_FIELD);
	return *slot;
}

/* Caps what is printed for a reference shared by very many items (a virtual account, say). */
#define EXPLAIN_MAX 50

static void
print_money(const char *label, const char *minor, const char *cur)
{
	const struct currency *c = currency_find(cur);
	char buf[MONEY_BUFSZ];
	long long v = strtoll(minor, NULL, 10);

	printf("%s%s %s", label, cur, money_format((int64_t)v, c ? c->exponent : 0, buf));
}

/*
 * Prints the owners and comments of an exception, oldest first (sql/142: by type and subject, so the
 * notes of an exception a rerun re-created are still its own).
 */
static enum perr
print_notes(PGconn *db, const char *type, const char *subject)
{
	const char *params[2] = { type, subject };
	PGresult *res;
	int i;

	res = db_query(db, PGRES_TUPLES_OK,
	    "SELECT to_char(at, 'YYYY-MM-DD HH24:MI'), what, who, body FROM ("
	    "  SELECT assigned_at AS at, 'assigned to ' || assigned_to AS what, assigned_by AS who, '' AS body,"
	    "         assignment_id AS id, 0 AS k FROM exception_assignment WHERE type = $1 AND subject = $2"
	    "  UNION ALL"
	    "  SELECT written_at, 'comment', written_by, body, comment_id, 1 FROM exception_comment"
	    "   WHERE type = $1 AND subject = $2) n ORDER BY at, k, id", 2, params);
	if (res == NULL)
		return PERR_DB;
	for (i = 0; i < PQntuples(res); i++)
		printf("    %s %s by %s%s%s\n", PQgetvalue(res, i, 0), outside(res, i, 1), outside(res, i, 2),
		    *PQgetvalue(res, i, 3) ? ": " : "", outside(res, i, 3));
	PQclear(res);
	return PERR_OK;
}

/* Prints the exceptions about a subject (and, for a movement, those naming it as ledger_id), with their notes. */
static enum perr
print_exceptions(PGconn *db, const char *subject, const char *ledger_id, int *shown)
{
	const char *params[2] = { subject, ledger_id ? ledger_id : "" };
	PGresult *res;
	enum perr e = PERR_OK;
	int i, n;

	res = db_query(db, PGRES_TUPLES_OK,
	    "SELECT exception_id, type, severity, status, to_char(opened_date, 'YYYY-MM-DD'),"
	    "       coalesce(to_char(closed_date, 'YYYY-MM-DD'), ''), coalesce(closed_by, ''),"
	    "       coalesce(close_note, ''), detail, subject"
	    "  FROM exception"
	    " WHERE subject = $1 OR ($2 <> '' AND subject <> $1 AND type IN ('AMOUNT_MISMATCH', 'AMBIGUOUS')"
	    "                        AND $2 = ANY (string_to_array(ledger_id, ',')))"
	    " ORDER BY exception_id", 2, params);
	if (res == NULL)
		return PERR_DB;
	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		printf("  exception %s: %s (%s) %s, opened %s", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
		    PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), PQgetvalue(res, i, 4));
		if (strcmp(PQgetvalue(res, i, 3), "OPEN") != 0)
			printf(", closed %s by %s%s%s", PQgetvalue(res, i, 5), outside(res, i, 6),
			    *PQgetvalue(res, i, 7) ? ": " : "", outside(res, i, 7));
		printf("\n    %s\n", outside(res, i, 8));
		if ((e = print_notes(db, PQgetvalue(res, i, 1), PQgetvalue(res, i, 9))) != PERR_OK)
			break;
	}
	*shown = n;
	PQclear(res);
	return e;
}

static enum perr
explain_lines(PGconn *db, const char *ref, int *found)
{
	const char *params[1] = { ref };
	PGresult *res;
	int i, n;
	enum perr e = PERR_OK;

	res = db_query(db, PGRES_TUPLES_OK,
	    "SELECT l.line_id, l.account_no, to_char(l.value_date, 'YYYY-MM-DD'), l.amount_minor, l.currency,"
	    "       l.bank_ref, l.reference, s.statement_no, to_char(s.business_date, 'YYYY-MM-DD'), s.gate,"
	    "       m.rule, coalesce(to_char(m.business_date, 'YYYY-MM-DD'), ''), coalesce(m.run_id, 0),"
	    "       coalesce((SELECT string_agg(mm.movement_id, ', ' ORDER BY mm.movement_id)"
	    "                   FROM recon_match_movement mm WHERE mm.match_id = m.match_id), ''),"
	    "       l.narrative, count(*) OVER (), l.counterparty, l.counterparty_account,"
	    "       coalesce((SELECT 'file ' || f.file_id || ' (' || f.remote_name || ') is the accepted copy, superseding file '"
	    "                        || c.superseded_file_id || ': accepted by ' || c.accepted_by || ' on '"
	    "                        || to_char(c.accepted_at, 'YYYY-MM-DD HH24:MI') || ': ' || c.note"
	    "                   FROM fetched_file f JOIN file_choice c USING (file_id)"
	    "                  WHERE f.file_id = s.file_id AND c.acceptance_id IS NOT NULL AND c.of_record), '')"
	    "  FROM statement_line l JOIN statement s ON s.statement_id = l.statement_id"
	    "  LEFT JOIN recon_match m ON m.line_id = l.line_id"
	    " WHERE l.reference = $1 OR l.bank_ref = $1"
	    "    OR ($1 ~ '^(line:)?[0-9]{1,18}$' AND l.line_id = regexp_replace($1, '^line:', '')::bigint)"
	    " ORDER BY l.value_date, l.line_id LIMIT 50", 1, params);
	if (res == NULL)
		return PERR_DB;
	n = PQntuples(res);
	for (i = 0; i < n && e == PERR_OK; i++) {
		char subject[48];
		int shown = 0;

		printf("statement line %s: account %s, value date %s, ", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
		    PQgetvalue(res, i, 2));
		print_money("", PQgetvalue(res, i, 3), PQgetvalue(res, i, 4));
		printf(", bank reference %s, reference %s\n  statement %s of business date %s; narrative: %s\n",
		    *PQgetvalue(res, i, 5) ? outside(res, i, 5) : "(none)",
		    *PQgetvalue(res, i, 6) ? outside(res, i, 6) : "(none extracted)", outside(res, i, 7),
		    PQgetvalue(res, i, 8), outside(res, i, 14));
		if (*PQgetvalue(res, i, 16) || *PQgetvalue(res, i, 17))
			printf("  counterparty: %s%s%s\n", outside(res, i, 16),
			    *PQgetvalue(res, i, 16) && *PQgetvalue(res, i, 17) ? ", " : "", outside(res, i, 17));
		if (*PQgetvalue(res, i, 18))
			printf("  from %s\n", outside(res, i, 18));
		if (!PQgetisnull(res, i, 10))
			printf("  MATCHED on %s by rule %s (reconcile run %s) with movement %s\n", PQgetvalue(res, i, 11),
			    PQgetvalue(res, i, 10), PQgetvalue(res, i, 12), PQgetvalue(res, i, 13));
		snprintf(subject, sizeof subject, "line:%s", PQgetvalue(res, i, 0));
		e = print_exceptions(db, subject, NULL, &shown);
		if (e == PERR_OK && PQgetisnull(res, i, 10) && shown == 0) {
			if (strcmp(PQgetvalue(res, i, 9), "PASSED") != 0)
				printf("  NOT MATCHED: its statement failed the completeness gate (%s), so its lines are"
				    " never matched\n", PQgetvalue(res, i, 9));
			else
				printf("  NOT MATCHED yet: no reconcile has run since it was loaded\n");
		}
	}
	if (n > 0 && atoll(PQgetvalue(res, 0, 15)) > n)
		printf("(%lld lines carry this reference; the first %d are shown)\n", atoll(PQgetvalue(res, 0, 15)), n);
	*found += n;
	PQclear(res);
	return e;
}

static enum perr
explain_movements(PGconn *db, const struct config *cfg, const char *ref, int *found)
{
	const char *params[1] = { ref };
	PGresult *res, *last;
	int i, n, w = cfg->match_window_days;
	enum perr e = PERR_OK;
	date_t last_date = 0;
	bool have_last = false;

	last = db_query(db, PGRES_TUPLES_OK,
	    "SELECT to_char(max(business_date), 'YYYY-MM-DD') FROM recon_run_config", 0, NULL);
	if (last == NULL)
		return PERR_DB;
	if (!PQgetisnull(last, 0, 0) && date_parse_iso(PQgetvalue(last, 0, 0), &last_date) == PERR_OK)
		have_last = true;
	PQclear(last);
	res = db_query(db, PGRES_TUPLES_OK,
	    "SELECT c.movement_id, c.account_no, c.direction, c.amount_minor, c.currency,"
	    "       to_char(c.expected_date, 'YYYY-MM-DD'), c.reference, coalesce(c.batch_id, ''), c.kind, c.origin,"
	    "       m.rule, coalesce(to_char(m.business_date, 'YYYY-MM-DD'), ''), coalesce(m.run_id, 0),"
	    "       coalesce(m.line_id, 0), coalesce(l.bank_ref, ''), count(*) OVER ()"
	    "  FROM cash_movement c"
	    "  LEFT JOIN recon_match_movement mm ON mm.movement_id = c.movement_id"
	    "  LEFT JOIN recon_match m ON m.match_id = mm.match_id"
	    "  LEFT JOIN statement_line l ON l.line_id = m.line_id"
	    " WHERE c.movement_id = $1 OR c.reference = $1 OR c.batch_id = $1"
	    " ORDER BY c.expected_date, c.movement_id LIMIT 50", 1, params);
	if (res == NULL)
		return PERR_DB;
	n = PQntuples(res);
	for (i = 0; i < n && e == PERR_OK; i++) {
		char *subject;
		int shown = 0;
		const char *mid = PQgetvalue(res, i, 0);

		printf("ledger movement %s: account %s, %s ", mid, PQgetvalue(res, i, 1), PQgetvalue(res, i, 2));
		print_money("", PQgetvalue(res, i, 3), PQgetvalue(res, i, 4));
		printf(", expected %s, reference %s%s%s, kind %s, from %s\n", PQgetvalue(res, i, 5),
		    *PQgetvalue(res, i, 6) ? outside(res, i, 6) : "(none)", *PQgetvalue(res, i, 7) ? ", batch " : "",
		    outside(res, i, 7), PQgetvalue(res, i, 8), PQgetvalue(res, i, 9));
		if (!PQgetisnull(res, i, 10))
			printf("  MATCHED on %s by rule %s (reconcile run %s) with statement line %s (bank reference %s)\n",
			    PQgetvalue(res, i, 11), PQgetvalue(res, i, 10), PQgetvalue(res, i, 12),
			    PQgetvalue(res, i, 13), *PQgetvalue(res, i, 14) ? outside(res, i, 14) : "(none)");
		subject = xasprintf("movement:%s", mid);
		e = print_exceptions(db, subject, mid, &shown);
		free(subject);
		if (e == PERR_OK && PQgetisnull(res, i, 10) && shown == 0) {
			date_t exp;

			if (date_parse_iso(PQgetvalue(res, i, 5), &exp) != PERR_OK)
				continue;
			{
				char end[DATE_BUFSZ];

				date_format_iso(calendar_add_business_days(&cfg->calendar, exp, w), end);
				if (!have_last)
					printf("  NOT MATCHED yet: reconcile has not run; its window ends %s\n", end);
				else if (calendar_business_days_between(&cfg->calendar, exp, last_date) <= w)
					printf("  PENDING: not on a statement yet; inside its %d-business-day window until %s"
					    " (not a break before then)\n", w, end);
				else
					printf("  NOT MATCHED: its window ended %s; reconcile raises UNMATCHED_LEDGER for it"
					    " on its next run\n", end);
			}
		}
	}
	if (n > 0 && atoll(PQgetvalue(res, 0, 15)) > n)
		printf("(%lld movements carry this reference; the first %d are shown)\n",
		    atoll(PQgetvalue(res, 0, 15)), n);
	*found += n;
	PQclear(res);
	return e;
}

/* A transfer's history, from the rows that record it: its payment file and upload, every status
 * the bank or the statement gave it (transfer_status_event, with the file or line that said so). */
static enum perr
print_transfer_history(PGconn *db, const char *id)
{
	const char *params[1] = { id };
	PGresult *res = db_query(db, PGRES_TUPLES_OK,
	    "SELECT to_char(e.status_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), e.status, e.moved,"
	    "       e.bank_status, e.reason_code, e.reason_text, e.source, coalesce(f.remote_name, ''),"
	    "       coalesce(e.source_file::text, ''), coalesce(e.statement_line_id::text, ''),"
	    "       coalesce(l.bank_ref, ''), coalesce(to_char(l.value_date, 'YYYY-MM-DD'), ''),"
	    "       to_char(e.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), e.run_id"
	    "  FROM transfer_status_event e LEFT JOIN fetched_file f ON f.file_id = e.source_file"
	    "  LEFT JOIN statement_line l ON l.line_id = e.statement_line_id"
	    " WHERE e.transfer_id = $1 ORDER BY e.event_id", 1, params);

	if (res == NULL)
		return PERR_DB;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *code = PQgetvalue(res, i, 3), *rc = PQgetvalue(res, i, 4), *rt = PQgetvalue(res, i, 5);

		printf("    %s %s %s", PQgetvalue(res, i, 0), strcmp(PQgetvalue(res, i, 2), "t") ? "shown" : "->",
		    PQgetvalue(res, i, 1));
		if (*code)
			printf(" (%s%s%s%s%s)", code, *rc ? ", reason " : "", rc, *rt ? ": " : "", rt);
		if (!strcmp(PQgetvalue(res, i, 6), "PAIN002"))
			printf(" from the bank's status report %s (file %s)", PQgetvalue(res, i, 7), PQgetvalue(res, i, 8));
		else if (!strcmp(PQgetvalue(res, i, 6), "STATEMENT"))
			printf(" from the statement: line %s, bank reference %s, value date %s", PQgetvalue(res, i, 9),
			    *PQgetvalue(res, i, 10) ? PQgetvalue(res, i, 10) : "(line replaced since)", PQgetvalue(res, i, 11));
		printf("; recorded %s by settle run %s\n", PQgetvalue(res, i, 12), PQgetvalue(res, i, 13));
	}
	if (PQntuples(res) == 0)
		printf("    no status from the bank yet\n");
	PQclear(res);
	return PERR_OK;
}

/* `explain TRF-...`: the transfer itself, its file, upload and status history, its exceptions. */
static enum perr
explain_transfer(PGconn *db, const char *ref, int *found)
{
	const char *params[1] = { ref };
	PGresult *res;
	enum perr e;
	char *subject;
	int shown = 0;

	res = db_query(db, PGRES_TUPLES_OK,
	    "SELECT t.transfer_id, t.purpose, t.offering_id, t.amount_minor, t.currency, t.from_account, t.to_account,"
	    "       t.status, to_char(t.business_date, 'YYYY-MM-DD'), coalesce(t.created_by, ''),"
	    "       coalesce(t.approved_by, ''), coalesce(t.payment_file, ''), coalesce(o.msg_id, ''),"
	    "       coalesce(to_char(o.written_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''),"
	    "       coalesce(to_char(o.uploaded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''),"
	    "       coalesce(o.destination, ''), coalesce(o.sha256, '')"
	    "  FROM transfer t LEFT JOIN outbound_file o ON o.file_name = t.payment_file"
	    " WHERE t.transfer_id = $1", 1, params);
	if (res == NULL)
		return PERR_DB;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return PERR_OK;
	}
	printf("transfer %s: %s of offering %s, ", PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
	print_money("", PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 4));
	printf(" from %s to %s, status %s\n", PQgetvalue(res, 0, 5), PQgetvalue(res, 0, 6), PQgetvalue(res, 0, 7));
	printf("  created by the settle run of %s%s%s%s\n", PQgetvalue(res, 0, 8), *PQgetvalue(res, 0, 9) ? " (operator " : "",
	    PQgetvalue(res, 0, 9), *PQgetvalue(res, 0, 9) ? ")" : "");
	if (*PQgetvalue(res, 0, 10))
		printf("  approved by %s (four eyes)\n", PQgetvalue(res, 0, 10));
	if (*PQgetvalue(res, 0, 11)) {
		printf("  payment file %s (message %s), written %s, sha256 %.16s...\n", PQgetvalue(res, 0, 11),
		    PQgetvalue(res, 0, 12), *PQgetvalue(res, 0, 13) ? PQgetvalue(res, 0, 13) : "(not yet)",
		    PQgetvalue(res, 0, 16));
		if (*PQgetvalue(res, 0, 14))
			printf("  uploaded %s to %s\n", PQgetvalue(res, 0, 14), PQgetvalue(res, 0, 15));
		else
			printf("  not uploaded yet (%s)\n", PQgetvalue(res, 0, 15));
	} else
		printf("  in no payment file yet\n");
	PQclear(res);
	printf("  history:\n");
	if ((e = print_transfer_history(db, ref)) != PERR_OK)
		return e;
	subject = xasprintf("transfer:%s", ref);
	e = print_exceptions(db, subject, NULL, &shown);
	free(subject);
	if (e == PERR_OK) {
		res = db_query(db, PGRES_TUPLES_OK,
		    "SELECT x.exception_id, x.type, x.status, x.subject, x.detail FROM exception x"
		    " WHERE x.type IN ('PAYMENT_STATUS_CONFLICT', 'PAYMENT_STATUS_UNKNOWN') AND x.ledger_id = $1"
		    " ORDER BY x.exception_id", 1, params);
		if (res == NULL)
			return PERR_DB;
		for (int i = 0; i < PQntuples(res); i++)
			printf("  exception %s: %s %s (%s)\n    %s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
			    PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), PQgetvalue(res, i, 4));
		PQclear(res);
	}
	(*found)++;
	return e;
}

int
cmd_explain(int argc, char **argv, const char *config_path)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct config *cfg = NULL;
	PGconn *db = NULL;
	int c, found = 0;
	enum perr e;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			printf("%s"
			    "Explains what a statement line or ledger movement matched and by which rule, or why it\n"
			    "did not. REF is a reference (VA..., WD-..., TRF-...), a bank reference, a batch id, a\n"
			    "movement id, or a statement line id (123 or line:123). For a transfer id (TRF-...) also\n"
			    "its payment file, upload and every status the bank gave it, with the file that said so.\n",
			    explain_usage);
			return 0;
		default:
			fputs(explain_usage, stderr);
			return 2;
		}
	}
	if (optind + 1 != argc || argv[optind][0] == '\0') {
		fputs(explain_usage, stderr);
		return 2;
	}
	if ((e = cli_open(config_path, "explain", &cfg, &db)) != PERR_OK)
		return cli_fail(e);
	if ((e = explain_transfer(db, argv[optind], &found)) == PERR_OK
	    && (e = explain_lines(db, argv[optind], &found)) == PERR_OK)
		e = explain_movements(db, cfg, argv[optind], &found);
	if (e == PERR_OK && found == 0)
		e = perr_set(PERR_NOT_FOUND, "explain: no statement line or ledger movement has the reference,"
		    " bank reference or id \"%s\"", argv[optind]);
	PQfinish(db);
	config_free(cfg);
	return e == PERR_OK ? 0 : cli_fail(e);
}
