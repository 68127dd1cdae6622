/*
 * csvout.h - the one CSV field writer (RFC 4180) for every CSV the pipeline writes: the exception
 * export, the report's side files and the trustee's issuance file. Quoting is libcsv's writer.
 */
#ifndef PIPELINE_CSVOUT_H
#define PIPELINE_CSVOUT_H

#include <stdbool.h>
#include <stdio.h>

/* True if a spreadsheet would take s as a formula: it starts with = + - @ TAB or CR (OWASP). */
bool csv_formula_like(const char *s);

/*
 * Writes one field (no separator) to fp. The field is quoted, with quotes doubled by libcsv's
 * csv_fwrite, only when it holds a comma, quote, CR or LF, or when `defuse` is set (text that came
 * from outside) and it is formula-like: then a single quote is put in front inside the quotes, so
 * it can never run as a formula or DDE. NULL is an empty field. Errors are sticky on fp (the
 * caller checks ferror/fclose).
 */
void csv_put(FILE *fp, const char *s, bool defuse);

#endif
