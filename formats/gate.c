/*
 * gate.c - the completeness gate's pure checks (gate.h): the canonical text of statements and
 * lines that the content hash covers (also their COPY rows), and the continuity rule. Used by
 * stages/normalize.c and commands/inspect.c alike, so inspect says what normalize would do.
 */
#include "gate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "money.h"
#include "util.h"

/* Appends s to b escaped for COPY text format. */
void
copy_text(struct fbuf *b, const char *s)
{
	const char *p, *run = s;

	for (p = s; *p; p++) {
		const char *esc = NULL;

		switch (*p) {
		case '\\': esc = "\\\\"; break;
		case '\t': esc = "\\t"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		default: continue;
		}
		fbuf_append(b, run, (size_t)(p - run));
		fbuf_append(b, esc, 2);
		run = p + 1;
	}
	fbuf_append(b, run, (size_t)(p - run));
}

void
copy_date(struct fbuf *b, date_t d)
{
	char buf[DATE_BUFSZ];

	fbuf_append(b, date_format_iso(d, buf), 10);
}

void
copy_i64(struct fbuf *b, int64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof buf, "%lld", (long long)v);

	fbuf_append(b, buf, (size_t)n);
}

/* Caller owns b. */
void
stmt_header_canon(struct fbuf *b, const struct stmt_header *h, const char *account)
{
	fbuf_reset(b);
	copy_text(b, account);
	fbuf_putc(b, '\t');
	copy_text(b, h->currency);
	fbuf_putc(b, '\t');
	copy_text(b, h->statement_no);
	fbuf_putc(b, '\t');
	copy_text(b, h->sequence_no);
	fbuf_putc(b, '\t');
	copy_date(b, h->opening.date);
	fbuf_putc(b, '\t');
	copy_i64(b, h->opening.amount_minor);
	fbuf_putc(b, h->opening.intermediate ? 'M' : 'F');
	fbuf_putc(b, '\t');
	copy_date(b, h->closing.date);
	fbuf_putc(b, '\t');
	copy_i64(b, h->closing.amount_minor);
	fbuf_putc(b, h->closing.intermediate ? 'M' : 'F');
	fbuf_putc(b, '\t');
	copy_i64(b, h->line_count);
	fbuf_putc(b, '\n');
}

/* Caller owns r. */
void
stmt_line_row(struct fbuf *r, const char *account, const struct stmt_header *h, const struct stmt_line *l)
{
	fbuf_reset(r);
	copy_i64(r, l->line_no);
	fbuf_putc(r, '\t');
	copy_text(r, account);
	fbuf_putc(r, '\t');
	if (l->has_entry_date)
		copy_date(r, l->entry_date);
	else
		fbuf_append(r, "\\N", 2);
	fbuf_putc(r, '\t');
	copy_date(r, l->value_date);
	fbuf_putc(r, '\t');
	copy_i64(r, l->amount_minor);
	fbuf_putc(r, '\t');
	copy_text(r, h->currency);
	fbuf_putc(r, '\t');
	copy_text(r, l->mark);
	fbuf_putc(r, '\t');
	copy_text(r, l->funds_code);
	fbuf_putc(r, '\t');
	copy_text(r, l->type_code);
	fbuf_putc(r, '\t');
	copy_text(r, l->customer_ref);
	fbuf_putc(r, '\t');
	copy_text(r, l->bank_ref);
	fbuf_putc(r, '\t');
	copy_text(r, l->supplementary);
	fbuf_putc(r, '\t');
	copy_text(r, l->narrative);
	fbuf_putc(r, '\t');
	copy_text(r, l->reference);
	fbuf_putc(r, '\n');
}

bool
gate_numbers_checked(const struct format *f)
{
	/* Layouts numbering statements by date have no sequence to check. */
	return !(f->kind == FORMAT_BANKCSV && f->layout->statement_no_src == SNO_DATE);
}

static bool
all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static int
date_year(date_t d)
{
	int y, m, dd;

	date_to_ymd(d, &y, &m, &dd);
	return y;
}

/*
 * The continuity check against the account's previous statement. Returns what is wrong (a
 * STATEMENT_GAP; caller frees) or NULL. The balance must carry over; the number must be n+1, or
 * the same number with the next sequence, or - banks restart the count each year - 1 (with no
 * sequence or sequence 1) when the statement closes in a later year than the previous one closed.
 */
char *
gate_continuity(const char *pno, const char *pseq, int64_t prev_closing, date_t prev_closing_date,
    const struct stmt_header *h, bool numbers)
{
	char pdate[DATE_BUFSZ];

	if (prev_closing != h->opening.amount_minor) {
		char a[MONEY_BUFSZ], b[MONEY_BUFSZ];

		return xasprintf("the opening balance %s %s of statement %s%s%s differs from the closing "
		    "balance %s %s of the previous statement %s%s%s (%s): money appeared or vanished between them",
		    h->currency, money_format(h->opening.amount_minor, h->exponent, a), h->statement_no,
		    h->sequence_no[0] ? "/" : "", h->sequence_no, h->currency,
		    money_format(prev_closing, h->exponent, b), pno, pseq[0] ? "/" : "", pseq,
		    date_format_iso(prev_closing_date, pdate));
	}
	if (numbers && all_digits(pno) && all_digits(h->statement_no)) {
		long long prev = atoll(pno), cur = atoll(h->statement_no);
		bool ok;

		if (cur == 1 && (h->sequence_no[0] == '\0' || (all_digits(h->sequence_no) && atoll(h->sequence_no) == 1))
		    && date_year(h->closing.date) > date_year(prev_closing_date))
			ok = true;      /* the bank's count restarts with the year (:60F: still carries the
			                   previous closing date, 31 December: the closing date is what moves) */
		else if (cur == prev)
			ok = all_digits(pseq) && all_digits(h->sequence_no) && atoll(h->sequence_no) == atoll(pseq) + 1;
		else
			ok = cur == prev + 1;
		if (!ok)
			return xasprintf("statement %s%s%s does not follow the previous statement %s%s%s: "
			    "%s", h->statement_no, h->sequence_no[0] ? "/" : "", h->sequence_no, pno,
			    pseq[0] ? "/" : "", pseq, cur > prev + 1 ? "statements are missing in between"
			    : "it repeats or goes back");
	}
	return NULL;
}

