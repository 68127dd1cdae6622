/*
 * test_notify.c - the pure parts of notify.c and progress.c: the mail message (headers, one-line
 * ASCII subject, no header injection from error text), the JSON body (escaping, nulls, totals),
 * the cut-off (calendar day after the business date, in the configured zone), and the progress
 * bar line (percentage, rate, ETA, unknown total).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <poll.h>
#include <pty.h>
#include <unistd.h>

#include "notify.h"
#include "progress.h"
#include "util.h"

static void
fill(struct notify_summary *s)
{
	static const char *const names[] = { "fetch", "normalize", "reconcile", "settle", "report" };
	size_t i;

	memset(s, 0, sizeof *s);
	snprintf(s->date, sizeof s->date, "2026-11-25");
	snprintf(s->host, sizeof s->host, "recon1");
	s->status = "FAILED";
	s->exit_code = 1;
	/* an error text that tries to inject a header and carries non-ASCII */
	s->error = xstrdup("bank_client: stmt.sta:12: bad balance\nBcc: evil@example.com \xe2\x82\xac");
	for (i = 0; i < 5; i++) {
		snprintf(s->stages[i].stage, sizeof s->stages[i].stage, "%s", names[i]);
		snprintf(s->stages[i].state, sizeof s->stages[i].state, "%s", i < 2 ? "done" : i == 2 ? "failed" : "pending");
		s->stages[i].run_id = i < 3 ? (int64_t)(40 + i) : 0;
	}
	s->stages[2].error = xstrdup("reconcile \"quoted\" error");
	s->n_stages = 5;
	s->exc = calloc(2, sizeof *s->exc);
	s->exc[0].type = xstrdup("AMOUNT_MISMATCH");
	s->exc[0].new_count = 1;
	s->exc[0].open_count = 2;
	s->exc[1].type = xstrdup("UNMATCHED_STATEMENT");
	s->exc[1].new_count = 3;
	s->exc[1].open_count = 5;
	s->n_exc = 2;
	s->new_total = 4;
	s->open_total = 7;
	s->breaks[0].exception_id = 17;
	s->breaks[0].type = xstrdup("AMOUNT_MISMATCH");
	s->breaks[0].subject = xstrdup("line:55");
	s->breaks[0].account = xstrdup("0123456789");
	s->breaks[0].detail = xstrdup("expected 100.00, statement says 99.00");
	snprintf(s->breaks[0].amount, sizeof s->breaks[0].amount, "SGD -1.00");
	snprintf(s->breaks[0].opened, sizeof s->breaks[0].opened, "2026-11-24");
	s->n_breaks = 1;
	s->report_path = xstrdup("/var/reports/2026-11-25/recon-2026-11-25.xlsx");
	s->log_dir = xstrdup("/var/log/2026-11-25");
}

static void
test_mail(void **state)
{
	struct notify_summary s;
	char *m, *hdr_end, *subj, *eol;

	(void)state;
	fill(&s);
	m = notify_format_mail(&s, "finance@example.com, oncall@example.com", "pipeline@example.com");
	assert_non_null(m);
	assert_true(strncmp(m, "To: finance@example.com, oncall@example.com\nFrom: pipeline@example.com\n", 71) == 0);
	hdr_end = strstr(m, "\n\n");
	assert_non_null(hdr_end);
	/* the error's newline did not become a header: no Bcc line among the headers */
	*hdr_end = '\0';
	assert_null(strstr(m, "\nBcc:"));
	subj = strstr(m, "Subject: ");
	assert_non_null(subj);
	eol = strchr(subj, '\n');
	assert_non_null(eol);
	*eol = '\0';
	assert_string_equal(subj, "Subject: [pipeline] 2026-11-25 FAILED: reconcile failed: bank_client: "
	    "stmt.sta:12: bad balance Bcc: evil@example.com ???");
	*eol = '\n';
	assert_non_null(strstr(m, "X-Pipeline-Status: FAILED"));
	*hdr_end = '\n';
	assert_non_null(strstr(hdr_end, "business date 2026-11-25 on recon1: FAILED (exit 1)"));
	assert_non_null(strstr(hdr_end, "  reconcile  failed         42"));
	assert_non_null(strstr(hdr_end, "UNMATCHED_STATEMENT               3 / 5"));
	assert_non_null(strstr(hdr_end, "total                             4 / 7"));
	assert_non_null(strstr(hdr_end, "#17 AMOUNT_MISMATCH"));
	assert_non_null(strstr(hdr_end, "SGD -1.00"));
	assert_non_null(strstr(hdr_end, "Report: /var/reports/2026-11-25/recon-2026-11-25.xlsx"));
	free(m);

	/* without To/From (a custom command) the message starts at Subject */
	m = notify_format_mail(&s, NULL, NULL);
	assert_true(strncmp(m, "Subject: ", 9) == 0);
	free(m);
	notify_summary_free(&s);
}

/* A payment the bank rejected is listed with its reason, whatever its size, in mail and JSON. */
static void
test_rejected(void **state)
{
	struct notify_summary s;
	char *m, *j;

	(void)state;
	fill(&s);
	s.rejected[0].exception_id = 21;
	s.rejected[0].type = xstrdup("PAYMENT_REJECTED");
	s.rejected[0].subject = xstrdup("transfer:TRF-OFF-C-PROCEEDS");
	s.rejected[0].account = xstrdup("0123456789");
	s.rejected[0].detail = xstrdup("The bank rejected transfer TRF-OFF-C-PROCEEDS: reason AC04 Creditor account closed.");
	snprintf(s.rejected[0].amount, sizeof s.rejected[0].amount, "SGD -4269677.11");
	snprintf(s.rejected[0].opened, sizeof s.rejected[0].opened, "2026-11-25");
	s.n_rejected = 1;
	s.rejected_total = 1;
	m = notify_format_mail(&s, NULL, NULL);
	assert_non_null(strstr(m, "\nPayments rejected by the bank (1 open; nothing is re-sent automatically)\n"
	    "  #21 PAYMENT_REJECTED" "              SGD -4269677.11  opened 2026-11-25  transfer:TRF-OFF-C-PROCEEDS"
	    "  account 0123456789\n    The bank rejected transfer TRF-OFF-C-PROCEEDS: reason AC04 Creditor account closed.\n"));
	assert_true(strstr(m, "Payments rejected") < strstr(m, "Largest open breaks"));
	j = notify_format_json(&s);
	assert_non_null(strstr(j, "\"rejected_payments\":[{\"exception_id\":21,\"type\":\"PAYMENT_REJECTED\","));
	assert_non_null(strstr(j, "\"rejected_payments_open\":1,"));
	free(m);
	free(j);
	notify_summary_free(&s);
}

static void
test_subject_ok(void **state)
{
	struct notify_summary s;
	char buf[256];

	(void)state;
	fill(&s);
	s.status = "OK";
	s.exit_code = 0;
	free(s.error);
	s.error = NULL;
	notify_subject(&s, buf, sizeof buf);
	assert_string_equal(buf, "[pipeline] 2026-11-25 OK: 4 new, 7 open exceptions");
	notify_summary_free(&s);
}

static void
test_json(void **state)
{
	struct notify_summary s;
	char *j;

	(void)state;
	fill(&s);
	j = notify_format_json(&s);
	assert_true(strncmp(j, "{\"text\":\"[pipeline] 2026-11-25 FAILED: ", 38) == 0);
	assert_non_null(strstr(j, "\"status\":\"FAILED\",\"exit_code\":1,\"host\":\"recon1\""));
	/* newline and quotes escaped, UTF-8 passed through */
	assert_non_null(strstr(j, "bad balance\\nBcc: evil@example.com \xe2\x82\xac\""));
	assert_non_null(strstr(j, "\"error\":\"reconcile \\\"quoted\\\" error\""));
	assert_non_null(strstr(j, "{\"stage\":\"settle\",\"state\":\"pending\",\"invocation\":\"\",\"run_id\":0,\"rows_in\":0,"
	    "\"rows_out\":0,\"exceptions\":0,\"error\":null}"));
	assert_non_null(strstr(j, "{\"type\":\"UNMATCHED_STATEMENT\",\"new\":3,\"open\":5}"));
	assert_non_null(strstr(j, "\"new_total\":4,\"open_total\":7"));
	assert_non_null(strstr(j, "\"exception_id\":17,\"type\":\"AMOUNT_MISMATCH\",\"amount\":\"SGD -1.00\""));
	assert_non_null(strstr(j, "\"report\":\"/var/reports/2026-11-25/recon-2026-11-25.xlsx\"}\n"));
	/* no raw control character anywhere in the JSON */
	for (const char *p = j; *p; p++)
		assert_true(*p == '\n' ? p[1] == '\0' : (unsigned char)*p >= 0x20);
	free(j);
	notify_summary_free(&s);

	memset(&s, 0, sizeof s);
	snprintf(s.date, sizeof s.date, "2026-11-25");
	s.status = "TEST";
	j = notify_format_json(&s);
	assert_non_null(strstr(j, "\"error\":null,\"stages\":[],\"exceptions\":[],\"new_total\":0"));
	assert_non_null(strstr(j, "\"largest_breaks\":[],\"report\":null}"));
	free(j);
}

static void
test_cut_off(void **state)
{
	struct config cfg;
	time_t t;
	date_t d;

	(void)state;
	memset(&cfg, 0, sizeof cfg);
	cfg.timezone = "Asia/Singapore";
	cfg.notify_cut_off_min = -1;
	assert_int_equal(date_parse_iso("2026-11-25", &d), PERR_OK);
	assert_int_equal(notify_cut_off(&cfg, d, &t), PERR_NOT_FOUND);
	cfg.notify_cut_off_min = 7 * 60 + 30;
	assert_int_equal(notify_cut_off(&cfg, d, &t), PERR_OK);
	/* 2026-11-26 07:30 +08:00 = 2026-11-25 23:30 UTC */
	assert_int_equal((long long)t, 1795649400LL);
	/* the month and year roll over */
	assert_int_equal(date_parse_iso("2026-12-31", &d), PERR_OK);
	cfg.notify_cut_off_min = 0;
	assert_int_equal(notify_cut_off(&cfg, d, &t), PERR_OK);
	assert_int_equal((long long)t, 1798732800LL);   /* 2027-01-01 00:00 +08:00 */
	cfg.timezone = "Not/AZone";
	assert_int_equal(notify_cut_off(&cfg, d, &t), PERR_CONFIG);
}

static void
test_progress_format(void **state)
{
	char buf[256];

	(void)state;
	progress_bar_format(buf, sizeof buf, "bank_client stmt.sta", 5 * 1048576, 10 * 1048576, PROGRESS_BYTES,
	    2000, 10);
	assert_string_equal(buf, "bank_client stmt.sta           [#####.....]  50%  5.0 MiB  2.5 MiB/s  ETA 0:02");
	progress_bar_format(buf, sizeof buf, "match", 1500, 1500, PROGRESS_ITEMS, 3000, 4);
	assert_string_equal(buf, "match                          [####] 100%  1.5 k  500/s  done");
	progress_bar_format(buf, sizeof buf, "rows", 0, 100, PROGRESS_ITEMS, 0, 4);
	assert_string_equal(buf, "rows                           [....]   0%  0  0/s  ETA --:--");
	/* unknown total: no percentage, no ETA */
	progress_bar_format(buf, sizeof buf, "download", 2048, -1, PROGRESS_BYTES, 1000, 4);
	assert_non_null(strstr(buf, "  2.0 KiB  2.0 KiB/s"));
	assert_null(strstr(buf, "%"));
	/* done beyond total is clamped; hours in the ETA */
	progress_bar_format(buf, sizeof buf, "x", 200, 100, PROGRESS_ITEMS, 1000, 4);
	assert_non_null(strstr(buf, "100%"));
	progress_bar_format(buf, sizeof buf, "x", 1, 7201, PROGRESS_ITEMS, 1000, 4);
	assert_non_null(strstr(buf, "ETA 2:00:00"));
	/* not a terminal under the test runner: no bar, and NULL is accepted everywhere */
	assert_null(progress_bar_start("x", 10, PROGRESS_ITEMS));
	progress_bar_update(NULL, 1);
	progress_bar_end(NULL);
}

/* On a terminal the bar is drawn in place (\r ... erase to end of line) and ended with a newline. */
static void
test_progress_tty(void **state)
{
	struct progress_bar *pb;
	int master, slave, saved;
	char buf[4096];
	ssize_t n;

	(void)state;
	assert_int_equal(openpty(&master, &slave, NULL, NULL, NULL), 0);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(slave, STDERR_FILENO) >= 0);
	unsetenv("PIPELINE_PROGRESS");
	pb = progress_bar_start("parse big.sta", 1000, PROGRESS_ITEMS);
	if (pb) {
		progress_bar_update(pb, 500);
		progress_bar_end(pb);
	}
	setenv("PIPELINE_PROGRESS", "0", 1);
	assert_null(progress_bar_start("off", 10, PROGRESS_ITEMS));
	unsetenv("PIPELINE_PROGRESS");
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(slave);
	assert_non_null(pb);
	/* the pty hands the bytes over write by write: read until the final newline (or 2 s) */
	n = 0;
	for (int tries = 0; tries < 200 && (n == 0 || buf[n - 1] != '\n'); tries++) {
		struct pollfd pfd = { master, POLLIN, 0 };
		ssize_t r;

		if (poll(&pfd, 1, 10) <= 0)
			continue;
		r = read(master, buf + n, sizeof buf - 1 - (size_t)n);
		if (r <= 0)
			break;
		n += r;
	}
	close(master);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_int_equal(buf[0], '\r');
	assert_non_null(strstr(buf, "parse big.sta"));
	assert_non_null(strstr(buf, " 50%  500  "));
	assert_non_null(strstr(buf, "\033[K"));
	assert_true(buf[n - 1] == '\n');
	assert_null(strstr(buf, "off"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mail),
		cmocka_unit_test(test_rejected),
		cmocka_unit_test(test_subject_ok),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_cut_off),
		cmocka_unit_test(test_progress_format),
		cmocka_unit_test(test_progress_tty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
