/*
 * gencurrencies.c - writes src/currencies.inc, the currency table src/money.c compiles in,
 * from ICU's currency data, corrected where ISO 4217 says otherwise. `make currencies` runs it; the
 * result is committed, so building the pipeline needs no ICU, and tests/unit/test_money.c fails if
 * the committed table and ICU (with the ISO corrections it also states) disagree.
 *
 * Which codes: ICU's ucurr_openISOCurrencies(UCURR_COMMON | UCURR_NON_DEPRECATED) - the ISO 4217
 * currencies in legal tender today - plus the ISO 4217 fund codes of list one that ICU calls
 * uncommon (iso_added), less the codes ISO 4217 has withdrawn but ICU 72 still lists (iso_removed).
 * Precious metals, SDR, bond units and the test code (XAU, XDR, XBA, XTS, XXX...) have no minor
 * unit in ISO 4217 ("N.A.") and are not money the pipeline books: they are never in the table.
 *
 * Minor units: ISO 4217 is the authority. ICU's "default fraction digits" (CLDR) are the digits
 * people display, which CLDR sets to 0 for some currencies whose ISO minor unit is 2 or 3 because
 * the small coins are out of use (iso_minor). A bank statement in those currencies is written with
 * ISO's decimals, so the table follows ISO.
 *
 * Ownership: everything is static; the program writes to stdout and exits 1 on any ICU error.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/ucurr.h>
#include <unicode/uenum.h>
#include <unicode/ustring.h>

struct fix {
	const char *code;
	int digits;
	const char *why;
};

/* ISO 4217 minor units where CLDR's default fraction digits differ (ICU 72: all 0). */
static const struct fix iso_minor[] = {
	{ "AFN", 2, "ISO 4217 minor unit 2 (CLDR displays 0)" },
	{ "ALL", 2, "ISO 4217 minor unit 2 (CLDR displays 0)" },
	{ "IQD", 3, "ISO 4217 minor unit 3 (CLDR displays 0)" },
	{ "IRR", 2, "ISO 4217 minor unit 2 (CLDR displays 0)" },
	{ "KPW", 2, "ISO 4217 minor unit 2 (CLDR displays 0)" },
	{ "LAK", 2, "ISO 4217 minor unit 2 (CLDR displays 0)" },
	{ "LBP", 2, "ISO 4217 minor unit 2 (CLDR displays 0)" },
	{ "MGA", 2, "ISO 4217 minor unit 2 (CLDR displays 0)" },
	{ "MMK", 2, "ISO 4217 minor unit 2 (CLDR displays 0)" },
	{ "RSD", 2, "ISO 4217 minor unit 2 (CLDR displays 0)" },
	{ "SLL", 2, "ISO 4217 minor unit 2 (CLDR displays 0)" },
	{ "SOS", 2, "ISO 4217 minor unit 2 (CLDR displays 0)" },
	{ "SYP", 2, "ISO 4217 minor unit 2 (CLDR displays 0)" },
	{ "YER", 2, "ISO 4217 minor unit 2 (CLDR displays 0)" },
};

/* In ISO 4217 list one with a minor unit, but not among ICU's common currencies. */
static const struct fix iso_added[] = {
	{ "BOV", 2, "Bolivian Mvdol (fund code)" },
	{ "CHE", 2, "WIR Euro (fund code)" },
	{ "CHW", 2, "WIR Franc (fund code)" },
	{ "CLF", 4, "Unidad de Fomento (fund code, 4 decimals)" },
	{ "COU", 2, "Unidad de Valor Real (fund code)" },
	{ "MXV", 2, "Mexican Unidad de Inversion (fund code)" },
	{ "USN", 2, "US Dollar next day (fund code)" },
	{ "UYI", 0, "Uruguay Peso en Unidades Indexadas (fund code)" },
	{ "UYW", 4, "Unidad Previsional (fund code, 4 decimals)" },
	{ "VED", 2, "Bolivar Soberano (digital), ISO 4217 amendment 170 (2021)" },
	{ "XCG", 2, "Caribbean Guilder, ISO 4217 amendment 176 (2025), newer than ICU 72" },
	{ "ZWG", 2, "Zimbabwe Gold, ISO 4217 amendment 177 (2024), newer than ICU 72" },
};

/* Withdrawn from ISO 4217 (list three) but still listed by ICU 72. */
static const char *const iso_removed[] = {
	"HRK",  /* Croatian Kuna: replaced by EUR on 2023-01-01 */
	"VEF",  /* Bolivar Fuerte: replaced by VES in 2018 */
};

#define MAXCUR 400

struct cur {
	char code[4];
	int digits;
};

static int
cmp(const void *a, const void *b)
{
	return strcmp(((const struct cur *)a)->code, ((const struct cur *)b)->code);
}

static bool
removed(const char *code)
{
	for (size_t i = 0; i < sizeof iso_removed / sizeof iso_removed[0]; i++)
		if (strcmp(iso_removed[i], code) == 0)
			return true;
	return false;
}

/* The ISO minor unit of an ICU currency: the override if any, else ICU's digits; -1 on error. */
static int
minor_units(const char *code)
{
	UChar u[4];
	UErrorCode st = U_ZERO_ERROR;
	int d;

	for (size_t i = 0; i < sizeof iso_minor / sizeof iso_minor[0]; i++)
		if (strcmp(iso_minor[i].code, code) == 0)
			return iso_minor[i].digits;
	u_charsToUChars(code, u, 4);
	d = ucurr_getDefaultFractionDigits(u, &st);
	return U_FAILURE(st) ? -1 : d;
}

int
main(void)
{
	static struct cur t[MAXCUR];
	size_t n = 0, i;
	UErrorCode st = U_ZERO_ERROR;
	UEnumeration *en;
	const char *c;
	int32_t len;

	en = ucurr_openISOCurrencies(UCURR_COMMON | UCURR_NON_DEPRECATED, &st);
	if (U_FAILURE(st)) {
		fprintf(stderr, "gencurrencies: ucurr_openISOCurrencies: %s\n", u_errorName(st));
		return 1;
	}
	while ((c = uenum_next(en, &len, &st)) != NULL && n < MAXCUR) {
		if (len != 3 || removed(c))
			continue;
		memcpy(t[n].code, c, 4);
		if ((t[n].digits = minor_units(c)) < 0 || t[n].digits > 4) {
			fprintf(stderr, "gencurrencies: %s: no usable fraction digits\n", c);
			return 1;
		}
		n++;
	}
	uenum_close(en);
	if (U_FAILURE(st) || n == 0) {
		fprintf(stderr, "gencurrencies: reading ICU's currencies failed: %s\n", u_errorName(st));
		return 1;
	}
	qsort(t, n, sizeof t[0], cmp);
	for (i = 0; i < sizeof iso_added / sizeof iso_added[0]; i++) {
		struct cur key;

		memcpy(key.code, iso_added[i].code, 4);
		if (n < MAXCUR && bsearch(&key, t, n, sizeof t[0], cmp) == NULL) {
			t[n] = key;
			t[n].digits = iso_added[i].digits;
			n++;
			qsort(t, n, sizeof t[0], cmp);
		}
	}
	printf("/* src/currencies.inc - %zu ISO 4217 currencies and their minor units, generated by\n"
	    " * tools/gencurrencies.c (`make currencies`) from ICU %s: do not edit. */\n", n, U_ICU_VERSION);
	for (i = 0; i < n; i++)
		printf("{ \"%s\", %d },\n", t[i].code, t[i].digits);
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}
