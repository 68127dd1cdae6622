/*
 * layout.h - the declarative description of a bank's CSV statement export (formats/NAME.layout).
 * The language is documented in formats/README.md. A layout is read once (layout_load), then
 * drives formats/bankcsv.c; adding a bank is adding a .layout file, not C code.
 */
#ifndef PIPELINE_LAYOUT_H
#define PIPELINE_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>

#include "errors.h"
#include "money.h"
#include "statement.h"

#define LAYOUT_MAX_ROWS 16       /* preamble or trailer rows */
#define LAYOUT_MAX_CELLS 64      /* cells in one row */
#define LAYOUT_MAX_DATEFMT 4

enum layout_role {
	ROLE_NONE = 0,      /* a literal cell or an ignored one */
	ROLE_ACCOUNT, ROLE_CURRENCY, ROLE_STATEMENT_NO, ROLE_STATEMENT_DATE,
	ROLE_OPENING, ROLE_CLOSING, ROLE_OPENING_DATE, ROLE_CLOSING_DATE,
	ROLE_ENTRY_DATE, ROLE_VALUE_DATE, ROLE_NARRATIVE, ROLE_BANK_REF, ROLE_CUSTOMER_REF,
	ROLE_TYPE_CODE, ROLE_AMOUNT, ROLE_DEBIT, ROLE_CREDIT, ROLE_BALANCE, ROLE_IGNORE,
	ROLE_STATUS,        /* a column only read by skip = status PATTERN */
	ROLE_TOTAL_COUNT, ROLE_TOTAL_DEBITS, ROLE_TOTAL_CREDITS, /* trailer control totals */
	ROLE_COUNT
};

enum cell_kind { CELL_LITERAL, CELL_ROLE, CELL_ANY };

struct layout_cell {
	enum cell_kind kind;
	char *text;             /* CELL_LITERAL: the exact text expected */
	enum layout_role role;  /* CELL_ROLE */
};

struct layout_row {
	struct layout_cell cells[LAYOUT_MAX_CELLS];
	size_t n;
	int src_line;           /* line in the .layout file */
};

/* BAL_DERIVED: the opening is the closing minus the lines (a file that states no opening). */
enum balance_src { BAL_UNSET = 0, BAL_PREAMBLE, BAL_TRAILER, BAL_RUNNING, BAL_DERIVED };
/* Row order: as the file has it (unchecked), declared oldest or newest first, or detected. */
enum row_order { ORDER_FILE = 0, ORDER_OLDEST_FIRST, ORDER_NEWEST_FIRST, ORDER_DETECT };
/* Where an amount cell carries its currency code: "SGD 5,000.00" (prefix), "5,000.00 SGD" (suffix). */
enum amount_ccy { ACCY_NONE = 0, ACCY_PREFIX, ACCY_SUFFIX };

#define LAYOUT_MAX_EXTRACT 8
#define LAYOUT_MAX_SKIP 8

/* extract = ROLE PATTERN: the value of a {ROLE} cell or column is what the pattern takes out of it. */
struct layout_extract {
	enum layout_role role;
	char *pattern;
	struct refx *rx;
	int src_line;
};

/* skip = ROLE PATTERN: a transaction row whose ROLE column matches is not a transaction (Pending, a subtotal). */
struct layout_skip {
	enum layout_role role;
	char *pattern;
	struct refx *rx;
	int src_line;
};
enum amount_style { AMT_UNSET = 0, AMT_SIGNED, AMT_DEBIT_CREDIT };
enum line_ending { LE_ANY = 0, LE_CRLF, LE_LF };
enum stmtno_src { SNO_UNSET = 0, SNO_FIELD, SNO_DATE };

struct layout {
	char *name;
	char *path;
	char delimiter;
	char quote;
	enum text_encoding encoding;
	enum line_ending line_ending;
	char *date_formats[LAYOUT_MAX_DATEFMT];
	size_t n_date_formats;
	struct money_style money;      /* separators, parens, trailing minus, sign */
	bool crdr;                     /* amounts may end in "CR" (credit) or "DR" (debit) */
	enum amount_style amount_style;
	char currency[4];              /* fixed currency, or "" (then a {currency} cell) */
	struct layout_row preamble[LAYOUT_MAX_ROWS];
	size_t n_preamble;
	struct layout_row header;      /* n == 0: no header row */
	enum layout_role columns[LAYOUT_MAX_CELLS];
	size_t n_columns;
	struct layout_row trailer[LAYOUT_MAX_ROWS];
	size_t n_trailer;
	enum balance_src opening_src, closing_src;
	enum stmtno_src statement_no_src;
	char *reference_patterns[8];
	size_t n_reference_patterns;
	struct refx *refx;             /* compiled reference_patterns, or NULL */
	int col_of[ROLE_COUNT];        /* data column of a single-use role, or -1 */
	enum row_order order;
	enum amount_ccy amount_currency;
	bool preamble_blank_lines;     /* blank lines before the header are skipped */
	bool multiline_cells;          /* quoted cells may hold line breaks (each becomes one space) */
	struct layout_extract extract[LAYOUT_MAX_EXTRACT];
	size_t n_extract;
	struct layout_skip skip[LAYOUT_MAX_SKIP];
	size_t n_skip;
};

/*
 * Reads and checks the layout file at `path` (the layout's name is the file name without
 * ".layout"). On success *out is owned by the caller (layout_free). On failure PERR_CONFIG with
 * "path:line: what is wrong, expected ...".
 */
enum perr layout_load(const char *path, struct layout **out);
/* The same from text[0..len) already in memory; `path` names it in messages and gives the name. */
enum perr layout_parse(const char *path, const char *text, size_t len, struct layout **out);
/* Safe to call with NULL. */
void layout_free(struct layout *lay);

/* The role's name as written in a layout ("account", "value_date", ...). */
const char *layout_role_name(enum layout_role r);

/*
 * Parses a date `s` with one of the layout's date formats (tokens DD MM YYYY YY D M, MON for an
 * English month abbreviation in any case, anything else literal). True and *out set on success.
 */
bool layout_parse_date(const struct layout *lay, const char *s, date_t *out);

#endif
