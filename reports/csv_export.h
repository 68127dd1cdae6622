/*
 * csv_export.h - RFC 4180 CSV for the report's side files (the full Matched list), safe to open in
 * a spreadsheet: text from outside that starts with = + - @ tab or CR is prefixed with a single
 * quote (the OWASP rule against CSV/formula injection), so it can never run as a formula or DDE.
 */
#ifndef PIPELINE_CSV_EXPORT_H
#define PIPELINE_CSV_EXPORT_H

#include <stdbool.h>
#include <stdio.h>

/*
 * Writes one field. `first` = first field of the row (no separator before it). `external` = text
 * that came from outside (narratives, references, names): the OWASP prefix applies. Quotes the
 * field when it holds a comma, quote, CR or LF (or a leading quote was added), doubling quotes.
 * NULL is written as an empty field. Errors are sticky on `fp` (checked by the caller's commit).
 */
void csv_field(FILE *fp, const char *s, bool first, bool external);
/* Ends the row with CRLF (RFC 4180). */
void csv_end_row(FILE *fp);

#endif
