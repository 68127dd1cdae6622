/*
 * pain001.c - builds pain.001.001.03 payment files (see pain001.h for the shape and text rules).
 * Output: UTF-8, LF line ends, two-space indentation, no trailing whitespace.
 */
#include "pain001.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "money.h"
#include "utf8.h"
#include "util.h"

/*
 * Counts the characters of a UTF-8 string and checks it is well formed (src/utf8.c, the one
 * validator) and holds no character XML 1.0 forbids or that a bank would choke on (C0 controls
 * including TAB, DEL, C1 controls, the non-characters U+FFFE and U+FFFF). Returns the count, or -1
 * with *why set.
 */
static long
utf8_chars(const char *s, const char **why)
{
	size_t n = strlen(s);
	const char *bad;

	if (memchr(s, '\t', n) != NULL) {
		*why = "contains a control character";
		return -1;
	}
	if (text_check(s, n, &bad) != (size_t)-1) {
		*why = strstr(bad, "control") ? "contains a control character" : "is not valid UTF-8";
		return -1;
	}
	if (strstr(s, "\xef\xbf\xbe") != NULL || strstr(s, "\xef\xbf\xbf") != NULL) {
		*why = "is not valid UTF-8";
		return -1;
	}
	return (long)utf8_count(s, n);
}

/* A text field: 1..max characters of clean UTF-8 that is not only blanks. */
static enum perr
check_text(const char *field, const char *s, long max)
{
	const char *why = NULL;
	long n;

	if (s == NULL || s[0] == '\0')
		return perr_set(PERR_INTERNAL, "pain.001: %s is empty", field);
	if ((n = utf8_chars(s, &why)) < 0)
		return perr_set(PERR_INTERNAL, "pain.001: %s \"%.40s\" %s", field, s, why);
	if (n > max)
		return perr_set(PERR_INTERNAL, "pain.001: %s \"%.40s...\" has %ld characters, at most %ld allowed",
		    field, s, n, max);
	if (strspn(s, " ") == strlen(s))
		return perr_set(PERR_INTERNAL, "pain.001: %s is blank", field);
	return PERR_OK;
}

/* BIC: 4 letters bank, 2 letters country, 2 location ([A-Z2-9][A-NP-Z0-9]), optional 3 branch. */
static bool
bic_valid(const char *s)
{
	size_t n = strlen(s);

	if (n != 8 && n != 11)
		return false;
	for (size_t i = 0; i < 6; i++)
		if (s[i] < 'A' || s[i] > 'Z')
			return false;
	if (!((s[6] >= 'A' && s[6] <= 'Z') || (s[6] >= '2' && s[6] <= '9')))
		return false;
	if (!((s[7] >= 'A' && s[7] <= 'Z' && s[7] != 'O') || (s[7] >= '0' && s[7] <= '9')))
		return false;
	for (size_t i = 8; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

/* "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS" followed by "Z" or "+HH:MM"/"-HH:MM" (or nothing). */
static bool
datetime_shape(const char *s, bool with_time)
{
	const char *d = "dddd-dd-dd", *t = "Tdd:dd:dd";
	size_t i = 0;

	for (; d[i]; i++)
		if (d[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != d[i])
			return false;
	if (!with_time)
		return s[i] == '\0';
	for (size_t j = 0; t[j]; j++, i++)
		if (t[j] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != t[j])
			return false;
	if (s[i] == '\0' || (s[i] == 'Z' && s[i + 1] == '\0'))
		return true;
	if ((s[i] == '+' || s[i] == '-') && s[i + 1] >= '0' && s[i + 1] <= '9' &&
	    s[i + 2] >= '0' && s[i + 2] <= '9' && s[i + 3] == ':' && s[i + 4] >= '0' &&
	    s[i + 4] <= '9' && s[i + 5] >= '0' && s[i + 5] <= '9' && s[i + 6] == '\0')
		return true;
	return false;
}

static void
put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default: fputc(*s, f); break;
		}
	}
}

/* <tag>escaped text</tag> at an indentation depth. */
static void
elem(FILE *f, int depth, const char *tag, const char *text)
{
	fprintf(f, "%*s<%s>", depth * 2, "", tag);
	put_escaped(f, text);
	fprintf(f, "</%s>\n", tag);
}

static void
open_tag(FILE *f, int depth, const char *tag)
{
	fprintf(f, "%*s<%s>\n", depth * 2, "", tag);
}

static void
close_tag(FILE *f, int depth, const char *tag)
{
	fprintf(f, "%*s</%s>\n", depth * 2, "", tag);
}

static int
currency_exponent(const char *code)
{
	const struct currency *c = currency_find(code);

	return c ? c->exponent : -1;
}

/* Unsigned 128-bit value with `exp` decimals into buf; false if it has more than 18 digits. */
static bool
format_scaled(unsigned __int128 v, int exp, char *buf, size_t bufsz)
{
	char digits[48];
	int n = 0, pos = 0;

	do {
		digits[n++] = (char)('0' + (int)(v % 10));
		v /= 10;
	} while (v != 0);
	while (n <= exp)
		digits[n++] = '0';
	if (n > 18 || (size_t)n + 2 > bufsz)
		return false;
	for (int i = n - 1; i >= 0; i--) {
		buf[pos++] = digits[i];
		if (i == exp && exp > 0)
			buf[pos++] = '.';
	}
	buf[pos] = '\0';
	return true;
}

enum perr
pain001_control_sum(const struct pain001_payment *p, size_t n, char *buf, size_t bufsz)
{
	int maxexp = 0;
	unsigned __int128 sum = 0;
	/* 10^18 bounds every sum we can print; stop adding well before 128 bits overflow */
	const unsigned __int128 cap = (unsigned __int128)1000000000000000000ULL * 1000;

	for (size_t i = 0; i < n; i++) {
		int e = currency_exponent(p[i].currency);

		if (e < 0)
			return perr_set(PERR_CURRENCY, "pain.001: payment %s has unknown currency %s",
			    p[i].end_to_end_id, p[i].currency);
		if (e > maxexp)
			maxexp = e;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned __int128 v = (unsigned __int128)(uint64_t)p[i].amount_minor;

		for (int k = currency_exponent(p[i].currency); k < maxexp; k++)
			v *= 10;
		sum += v;
		if (sum > cap)
			return perr_set(PERR_MONEY_OVERFLOW, "pain.001: control sum exceeds 18 digits");
	}
	if (!format_scaled(sum, maxexp, buf, bufsz))
		return perr_set(PERR_MONEY_OVERFLOW, "pain.001: control sum exceeds 18 digits");
	return PERR_OK;
}

static int
ccy_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static enum perr
validate(const struct pain001_msg *m)
{
	enum perr rc;

	if ((rc = check_text("MsgId", m->msg_id, 31)) != PERR_OK ||
	    (rc = check_text("InitgPty/Nm", m->initiating_party, 140)) != PERR_OK ||
	    (rc = check_text("Dbtr/Nm", m->debtor_name, 140)) != PERR_OK ||
	    (rc = check_text("DbtrAcct/Id", m->debtor_account, 34)) != PERR_OK)
		return rc;
	if (m->creation_time == NULL || !datetime_shape(m->creation_time, true))
		return perr_set(PERR_INTERNAL, "pain.001: CreDtTm \"%s\" is not YYYY-MM-DDTHH:MM:SS[zone]",
		    m->creation_time ? m->creation_time : "");
	if (m->execution_date == NULL || !datetime_shape(m->execution_date, false))
		return perr_set(PERR_INTERNAL, "pain.001: ReqdExctnDt \"%s\" is not YYYY-MM-DD",
		    m->execution_date ? m->execution_date : "");
	if (m->debtor_bic != NULL && !bic_valid(m->debtor_bic))
		return perr_set(PERR_INTERNAL, "pain.001: debtor BIC \"%s\" is not a valid BIC", m->debtor_bic);
	if (m->debtor_currency != NULL && currency_exponent(m->debtor_currency) < 0)
		return perr_set(PERR_CURRENCY, "pain.001: debtor account currency %s unknown", m->debtor_currency);
	if (m->n_payments == 0)
		return perr_set(PERR_INTERNAL, "pain.001: a payment file needs at least one payment");
	if (m->n_payments > 999999999)
		return perr_set(PERR_INTERNAL, "pain.001: too many payments");
	for (size_t i = 0; i < m->n_payments; i++) {
		const struct pain001_payment *p = &m->payments[i];

		if ((rc = check_text("EndToEndId", p->end_to_end_id, 35)) != PERR_OK ||
		    (rc = check_text("Cdtr/Nm", p->creditor_name, 140)) != PERR_OK ||
		    (rc = check_text("CdtrAcct/Id", p->creditor_account, 34)) != PERR_OK ||
		    (p->remittance && (rc = check_text("RmtInf/Ustrd", p->remittance, 140)) != PERR_OK))
			return rc;
		if (p->amount_minor <= 0)
			return perr_set(PERR_INTERNAL, "pain.001: payment %s amount %lld, expected > 0",
			    p->end_to_end_id, (long long)p->amount_minor);
		if (p->currency == NULL || currency_exponent(p->currency) < 0)
			return perr_set(PERR_CURRENCY, "pain.001: payment %s has unknown currency %s",
			    p->end_to_end_id, p->currency ? p->currency : "(none)");
		for (size_t j = 0; j < i; j++)
			if (strcmp(m->payments[j].end_to_end_id, p->end_to_end_id) == 0)
				return perr_set(PERR_INTERNAL, "pain.001: EndToEndId %s appears twice",
				    p->end_to_end_id);
	}
	return PERR_OK;
}

enum perr
pain001_build(const struct pain001_msg *m, char **out, size_t *len)
{
	const char **ccys = NULL;
	size_t n_ccy = 0;
	char sum[48], amount[MONEY_BUFSZ], count[24];
	char *buf = NULL;
	size_t size = 0;
	FILE *f;
	enum perr rc;

	*out = NULL;
	*len = 0;
	if ((rc = validate(m)) != PERR_OK)
		return rc;
	if ((rc = pain001_control_sum(m->payments, m->n_payments, sum, sizeof sum)) != PERR_OK)
		return rc;

	/* The distinct currencies, in code order: one PmtInf each. */
	ccys = xcalloc(m->n_payments, sizeof *ccys);
	for (size_t i = 0; i < m->n_payments; i++) {
		bool seen = false;

		for (size_t j = 0; j < n_ccy; j++)
			seen = seen || strcmp(ccys[j], m->payments[i].currency) == 0;
		if (!seen)
			ccys[n_ccy++] = m->payments[i].currency;
	}
	qsort(ccys, n_ccy, sizeof *ccys, ccy_cmp);

	if ((f = open_memstream(&buf, &size)) == NULL) {
		free(ccys);
		return perr_set(PERR_NOMEM, "pain.001: open_memstream failed");
	}
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
	fputs("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.001.001.03\" "
	    "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n", f);
	open_tag(f, 1, "CstmrCdtTrfInitn");
	open_tag(f, 2, "GrpHdr");
	elem(f, 3, "MsgId", m->msg_id);
	elem(f, 3, "CreDtTm", m->creation_time);
	snprintf(count, sizeof count, "%zu", m->n_payments);
	elem(f, 3, "NbOfTxs", count);
	elem(f, 3, "CtrlSum", sum);
	open_tag(f, 3, "InitgPty");
	elem(f, 4, "Nm", m->initiating_party);
	close_tag(f, 3, "InitgPty");
	close_tag(f, 2, "GrpHdr");

	for (size_t c = 0; c < n_ccy; c++) {
		const char *ccy = ccys[c];
		int exp = currency_exponent(ccy);
		size_t k = 0;
		char pmtinf_id[48];
		struct pain001_payment *sub = xcalloc(m->n_payments, sizeof *sub);

		for (size_t i = 0; i < m->n_payments; i++)
			if (strcmp(m->payments[i].currency, ccy) == 0)
				sub[k++] = m->payments[i];
		/* cannot fail: a subset of a sum that fitted */
		pain001_control_sum(sub, k, sum, sizeof sum);
		snprintf(pmtinf_id, sizeof pmtinf_id, "%s-%s", m->msg_id, ccy);
		snprintf(count, sizeof count, "%zu", k);

		open_tag(f, 2, "PmtInf");
		elem(f, 3, "PmtInfId", pmtinf_id);
		elem(f, 3, "PmtMtd", "TRF");
		elem(f, 3, "BtchBookg", "false");
		elem(f, 3, "NbOfTxs", count);
		elem(f, 3, "CtrlSum", sum);
		elem(f, 3, "ReqdExctnDt", m->execution_date);
		open_tag(f, 3, "Dbtr");
		elem(f, 4, "Nm", m->debtor_name);
		close_tag(f, 3, "Dbtr");
		open_tag(f, 3, "DbtrAcct");
		open_tag(f, 4, "Id");
		open_tag(f, 5, "Othr");
		elem(f, 6, "Id", m->debtor_account);
		close_tag(f, 5, "Othr");
		close_tag(f, 4, "Id");
		if (m->debtor_currency)
			elem(f, 4, "Ccy", m->debtor_currency);
		close_tag(f, 3, "DbtrAcct");
		open_tag(f, 3, "DbtrAgt");
		if (m->debtor_bic) {
			open_tag(f, 4, "FinInstnId");
			elem(f, 5, "BIC", m->debtor_bic);
			close_tag(f, 4, "FinInstnId");
		} else {
			fprintf(f, "%*s<FinInstnId/>\n", 8, "");
		}
		close_tag(f, 3, "DbtrAgt");
		elem(f, 3, "ChrgBr", "SLEV");
		for (size_t i = 0; i < k; i++) {
			open_tag(f, 3, "CdtTrfTxInf");
			open_tag(f, 4, "PmtId");
			elem(f, 5, "InstrId", sub[i].end_to_end_id);
			elem(f, 5, "EndToEndId", sub[i].end_to_end_id);
			close_tag(f, 4, "PmtId");
			open_tag(f, 4, "Amt");
			fprintf(f, "%*s<InstdAmt Ccy=\"%s\">%s</InstdAmt>\n", 10, "", ccy,
			    money_format(sub[i].amount_minor, exp, amount));
			close_tag(f, 4, "Amt");
			open_tag(f, 4, "Cdtr");
			elem(f, 5, "Nm", sub[i].creditor_name);
			close_tag(f, 4, "Cdtr");
			open_tag(f, 4, "CdtrAcct");
			open_tag(f, 5, "Id");
			open_tag(f, 6, "Othr");
			elem(f, 7, "Id", sub[i].creditor_account);
			close_tag(f, 6, "Othr");
			close_tag(f, 5, "Id");
			close_tag(f, 4, "CdtrAcct");
			if (sub[i].remittance) {
				open_tag(f, 4, "RmtInf");
				elem(f, 5, "Ustrd", sub[i].remittance);
				close_tag(f, 4, "RmtInf");
			}
			close_tag(f, 3, "CdtTrfTxInf");
		}
		close_tag(f, 2, "PmtInf");
		free(sub);
	}
	close_tag(f, 1, "CstmrCdtTrfInitn");
	fputs("</Document>\n", f);
	free(ccys);
	if (ferror(f)) {
		fclose(f);
		free(buf);
		return perr_set(PERR_NOMEM, "pain.001: writing to memory failed");
	}
	if (fclose(f) != 0) {
		free(buf);
		return perr_set(PERR_NOMEM, "pain.001: writing to memory failed");
	}
	*out = buf;
	*len = size;
	return PERR_OK;
}
