/*
 * issuance_file.h - the DABS issuance file sent to the trustee: one CSV row per issuance record.
 * Pure: builds the bytes in memory; the settle stage stores and uploads them.
 *
 * Format (RFC 4180, UTF-8, LF line ends, header first):
 *   issuance_id,offering_id,investor_id,units,unit_price,amount,currency,settlement_date
 *   ISS-OFF-B-INV0007,OFF-B,INV0007,120,100.00,12000.00,SGD,2026-11-24
 * unit_price and amount are decimals in major units with exactly the currency's decimals; a field
 * holding a comma, quote, CR or LF is quoted (quotes doubled). Rows come in the order given (the
 * stage passes them sorted by issuance_id), so the same rows always give the same bytes.
 */
#ifndef PIPELINE_ISSUANCE_FILE_H
#define PIPELINE_ISSUANCE_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"

struct issuance_row {
	const char *issuance_id;
	const char *offering_id;
	const char *investor_id;
	int64_t units;              /* > 0 */
	int64_t unit_price_minor;   /* > 0 */
	int64_t amount_minor;       /* = units x unit_price, checked */
	const char *currency;
	const char *settlement_date; /* YYYY-MM-DD */
};

#define ISSUANCE_CSV_HEADER \
	"issuance_id,offering_id,investor_id,units,unit_price,amount,currency,settlement_date"

/*
 * Builds the file. On success *out is a NUL-terminated buffer owned by the caller (free), *len its
 * length. PERR_INTERNAL (naming the row) for an empty id, a control character, units <= 0, an
 * amount that is not units x price; PERR_CURRENCY for an unknown currency.
 */
enum perr issuance_csv_build(const struct issuance_row *rows, size_t n, char **out, size_t *len);

#endif
