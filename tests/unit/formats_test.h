/*
 * formats_test.h - helpers shared by the parser unit tests (test_mt940.c, test_bankcsv.c,
 * test_trustee.c): run a parser on a fixture under fixtures/formats/ with a sink that records what
 * it was given, and check an error message exactly. Run from the repository root (make unit).
 */
#ifndef FORMATS_TEST_H
#define FORMATS_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "layout.h"
#include "refx.h"
#include "statement.h"

#define REC_MAX 64

struct rec_line {
	struct stmt_line l;      /* strings below, not the parser's */
	char narrative[256], customer_ref[64], bank_ref[64], supplementary[64], reference[64];
};

struct rec {
	int begins, ends;
	struct stmt_header h[8];         /* at end */
	int nlines;
	struct rec_line lines[REC_MAX];
	int64_t reg_rows;
	int64_t units_sum;
	date_t as_of;
};

static enum perr
rec_begin(void *arg, const struct stmt_header *h)
{
	struct rec *r = arg;

	(void)h;
	r->begins++;
	return PERR_OK;
}

static enum perr
rec_line_cb(void *arg, const struct stmt_header *h, const struct stmt_line *l)
{
	struct rec *r = arg;
	struct rec_line *x;

	(void)h;
	if (r->nlines >= REC_MAX)
		return PERR_OK;
	x = &r->lines[r->nlines++];
	x->l = *l;
	snprintf(x->narrative, sizeof x->narrative, "%s", l->narrative);
	snprintf(x->customer_ref, sizeof x->customer_ref, "%s", l->customer_ref);
	snprintf(x->bank_ref, sizeof x->bank_ref, "%s", l->bank_ref);
	snprintf(x->supplementary, sizeof x->supplementary, "%s", l->supplementary);
	snprintf(x->reference, sizeof x->reference, "%s", l->reference);
	return PERR_OK;
}

static enum perr
rec_end(void *arg, const struct stmt_header *h)
{
	struct rec *r = arg;

	if (r->ends < 8)
		r->h[r->ends] = *h;
	r->ends++;
	return PERR_OK;
}

static enum perr
rec_reg_row(void *arg, const struct register_row *row)
{
	struct rec *r = arg;

	r->reg_rows++;
	r->units_sum += row->units;
	r->as_of = row->as_of_date;
	return PERR_OK;
}

/* Parses fixtures/formats/<rel> in format `fmt` into *r (zeroed first). */
static enum perr
run_parser(const char *fmt, const char *rel, enum text_encoding enc, const struct refx *rx, struct rec *r)
{
	char path[512];
	struct format *f = NULL;
	struct parse_opts o = { 0 };
	FILE *fp;
	enum perr e;

	memset(r, 0, sizeof *r);
	snprintf(path, sizeof path, "fixtures/formats/%s", rel);
	e = format_open("formats", fmt, &f);
	if (e != PERR_OK)
		return e;
	fp = fopen(path, "rb");
	if (fp == NULL) {
		format_free(f);
		fail_msg("cannot open %s", path);
		return PERR_IO;
	}
	o.path = path;
	o.encoding = enc;
	o.refx = rx;
	if (f->kind == FORMAT_TRUSTEE) {
		struct register_sink s = { .arg = r, .row = rec_reg_row };

		e = trustee_parse(fp, &o, &s);
	} else {
		struct stmt_sink s = { .arg = r, .begin = rec_begin, .line = rec_line_cb, .end = rec_end };

		if (f->kind == FORMAT_BANKCSV)
			o.encoding = f->layout->encoding;
		e = format_parse_statements(f, fp, &o, &s);
	}
	fclose(fp);
	format_free(f);
	return e;
}

/* The parse of fixtures/formats/<rel> fails with exactly "fixtures/formats/<rel>:<msg_after_path>". */
static void
expect_error(const char *fmt, const char *rel, enum perr code, const char *msg_after_path)
{
	struct rec r;
	char want[2048];
	enum perr e = run_parser(fmt, rel, ENC_UTF8, NULL, &r);

	snprintf(want, sizeof want, "fixtures/formats/%s:%s", rel, msg_after_path);
	if (e != code || strcmp(perr_detail(), want) != 0)
		fail_msg("%s: expected code %d and\n  [%s]\ngot code %d and\n  [%s]", rel, code, want, e, perr_detail());
	/* nothing was completed: no statement reached its end */
	if (r.ends != 0)
		fail_msg("%s: %d statements ended despite the error", rel, r.ends);
}

#endif
