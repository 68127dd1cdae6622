/*
 * match_engine.c - the matching engine alone (engine/match.c), without PostgreSQL: builds a generated
 * world of N lines and N movements in memory (per 10 lines: 6 matched by reference, 1 by amount and
 * date, 1 amount mismatch, 1 outside the window, 1 unknown reference; and 1 in 10 repeating the bank
 * reference of the line before) whose groups keep the same size at any N, and prints the build
 * time, the matching time and the peak RSS, to show how the engine grows from 100k to 10M.
 * Built and run by bench/reconcile.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "match.h"
#include "util.h"

int
main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000, i;
	struct match_pool p;
	struct match_line *L;
	struct match_movement *M;
	struct calendar cal = { NULL, 0 };
	struct match_params prm;
	struct match_result r;
	struct rusage ru;
	char buf[64];
	uint32_t acct, cur, unknown;
	int64_t t0, t1, t2;
	int len;

	match_pool_init(&p);
	L = xmalloc(n * sizeof *L);
	M = xmalloc(n * sizeof *M);
	acct = match_pool_intern(&p, "0123456789", 10);
	cur = match_pool_intern(&p, "SGD", 3);
	unknown = match_pool_intern(&p, "VA99999999", 10);
	t0 = now_ms();
	for (i = 0; i < n; i++) {
		int kind = (int)(i % 10);
		int day = 20700 + (int)(i % 30);
		int64_t amt = (int64_t)(i / 2 + 1) * 100;   /* groups stay the same size at any n */

		len = snprintf(buf, sizeof buf, "MOV%09zu", i);
		M[i].movement_id = match_pool_intern(&p, buf, (size_t)len);
		M[i].account = acct;
		M[i].currency = cur;
		M[i].amount = amt;
		M[i].expected_date = day;
		len = snprintf(buf, sizeof buf, "VA%09zu", i);
		M[i].reference = kind == 9 ? 0 : match_pool_intern(&p, buf, (size_t)len);
		M[i].batch_id = 0;
		L[i].line_id = (int64_t)i + 1;
		L[i].account = acct;
		L[i].currency = cur;
		L[i].amount = kind == 3 ? amt - 1000 : amt;
		L[i].value_date = day + (kind == 4 ? 6 : 0);
		L[i].reference = kind == 9 ? 0 : (kind == 5 ? unknown : M[i].reference);
		len = snprintf(buf, sizeof buf, "FT%010zu", kind == 7 && i > 0 ? i - 1 : i);
		L[i].bank_ref = match_pool_intern(&p, buf, (size_t)len);
		L[i].flags = 0;
	}
	match_pool_freeze(&p);
	t1 = now_ms();
	prm.window_days = 3;
	prm.rule_reference = prm.rule_batch = prm.rule_amount_date = true;
	prm.calendar = &cal;
	if (match_run(&p, L, n, M, n, &prm, &r) != PERR_OK) {
		fprintf(stderr, "match_engine: %s\n", perr_detail());
		return 1;
	}
	t2 = now_ms();
	getrusage(RUSAGE_SELF, &ru);
	printf("engine   %-9zu build %6.2f s  match %6.2f s  %9.0f lines/s  matches %zu  mismatches %zu"
	    "  ambiguous %zu  peak RSS %ld MiB\n", n, (t1 - t0) / 1000.0, (t2 - t1) / 1000.0,
	    (double)n / ((t2 - t1 > 0 ? t2 - t1 : 1) / 1000.0), r.n_matches, r.n_mismatches, r.n_ambiguous,
	    ru.ru_maxrss / 1024);
	match_result_free(&r);
	match_pool_free(&p);
	free(L);
	free(M);
	return 0;
}
