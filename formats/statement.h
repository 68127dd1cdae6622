/*
 * statement.h - the canonical statement every parser under formats/ produces, the streaming sink
 * the parsers feed, and the format registry (which parser reads which source).
 *
 * Parsers stream: they read a FILE* line by line and call the sink once per statement start, once
 * per statement line and once per statement end, so memory does not grow with the file. The data
 * handed to a callback (strings included) is owned by the parser and valid only during the call.
 * Errors read "path:line: FIELD: what is wrong, expected ..." and are recorded with perr_set().
 * A callback that returns an error stops the parse; the parser returns that error unchanged.
 */
#ifndef PIPELINE_STATEMENT_H
#define PIPELINE_STATEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bizdate.h"
#include "errors.h"
#include "utf8.h"

struct refx;
struct layout;
struct info86;

/* A balance as booked: MT940 :60F:/:60M:/:62F:/:62M:, or a CSV preamble/trailer/running balance. */
struct stmt_balance {
	bool present;
	date_t date;
	int64_t amount_minor;   /* signed: a debit ('D') balance is negative */
	char mark;              /* 'C' or 'D' */
	bool intermediate;      /* MT940 60M/62M: a page of a statement continued elsewhere */
};

/*
 * Invariant (checked by stmt_header_sane): currency is a known ISO 4217 code and exponent is its
 * exponent; at end opening and closing are present (not for a camt.054 notification, which has
 * no balances) and line_count lines were sent. At begin the
 * opening is present for MT940 and for layouts that take it from a preamble line or the running
 * balance; a layout that takes it from a trailer row or derives it (closing_minus_lines) only
 * knows it at end.
 */
struct stmt_header {
	const char *file;        /* path, for messages */
	const char *format;      /* "mt940" or the layout name */
	long src_line;           /* first line of the statement in the file */
	char account[64];
	char currency[4];
	int exponent;
	char statement_no[32];   /* MT940 :28C: before '/'; CSV from the layout */
	char sequence_no[32];    /* MT940 :28C: after '/', or "" */
	char transaction_ref[32];/* MT940 :20:, or "" */
	struct stmt_balance opening;
	struct stmt_balance closing;         /* filled at end */
	struct stmt_balance closing_available; /* MT940 :64:, optional */
	int64_t line_count;      /* lines so far (final at end) */
	int64_t sum_minor;       /* sum of the lines' signed amounts so far (overflow-checked) */
	/* ISO 20022 (camt.053/camt.054) only; zero/"" for the other formats */
	bool notification;       /* camt.054: a notification, no balances: not gated, not a statement */
	char stmt_ref[36];       /* Stmt/Id or Ntfctn/Id (Max35Text) */
	int64_t pending_count;   /* entries not booked (Sts PDNG, INFO, FUTR): listed, never loaded */
	int64_t pending_minor;   /* their signed sum */
};

/* One statement line. Text fields are valid UTF-8, never NULL ("" when absent). */
struct stmt_line {
	long src_line;           /* where the line starts in the file */
	int64_t line_no;         /* 1, 2, ... within its statement */
	date_t value_date;
	bool has_entry_date;
	date_t entry_date;
	char mark[3];            /* "C", "D", "RC" (reversal of a credit: negative), "RD" (positive) */
	char funds_code[2];      /* MT940 optional funds-code letter, or "" */
	int64_t amount_minor;    /* signed: debits and credit reversals negative; 0 only in an MT940
	                            zero-amount line (a recorded deviation) */
	char type_code[16];      /* MT940 "NTRF" etc., a CSV type column, or "" */
	const char *customer_ref;
	const char *bank_ref;
	const char *supplementary;
	const char *narrative;
	const char *reference;   /* extracted by the reference patterns, or "" */
	/*
	 * Decoded from a structured MT940 :86: (formats/mt940_86.c); NULL for formats without them
	 * (CSV), "" when the :86: had no such part.
	 */
	const struct info86 *info;
	const struct stmt_line_iso *iso; /* camt.053/camt.054 only, else NULL */
};

/*
 * What an ISO 20022 entry (Ntry) or transaction detail (TxDtls) carries beyond the canonical
 * fields. Strings are never NULL ("" when absent). The canonical fields are filled too:
 * customer_ref = EndToEndId (else InstrId), bank_ref = AcctSvcrRef (of the detail, else of the
 * entry, with "/N" for the N-th detail line of a split batch), type_code = Domn/Fmly/SubFmlyCd
 * ("PMNT/RCDT/ESCT", else the first 15 bytes of Prtry/Cd), supplementary = counterparty name,
 * narrative = AddtlNtryInf, Ustrd and AddtlTxInf joined with spaces.
 */
struct stmt_line_iso {
	const char *status;           /* "BOOK", "PDNG", "INFO" or "FUTR" */
	const char *entry_ref;        /* Ntry/NtryRef */
	const char *entry_svcr_ref;   /* Ntry/AcctSvcrRef */
	const char *end_to_end_id, *instr_id, *tx_id;
	const char *msg_id;           /* TxDtls/Refs/MsgId, else NtryDtls/Btch/MsgId */
	const char *pmtinf_id;        /* TxDtls/Refs/PmtInfId, else NtryDtls/Btch/PmtInfId */
	const char *creditor_ref;     /* RmtInf/Strd/CdtrRefInf/Ref */
	const char *remittance;       /* RmtInf/Ustrd (several joined with a space) */
	const char *counterparty_name;    /* the debtor of a credit, the creditor of a debit */
	const char *counterparty_account; /* its IBAN or Othr/Id */
	const char *bank_tx_code;     /* Domn/Fmly/SubFmlyCd, "" if only Prtry */
	const char *prtry_code;       /* BkTxCd/Prtry/Cd */
	bool reversal;                /* RvslInd true */
	int64_t entry_no;             /* the entry's number in its statement: the lines of a batch share it */
	int64_t entry_amount_minor;   /* the whole entry's signed amount */
	int64_t details;              /* lines the entry was split into (1 when not split) */
};

/*
 * A departure from the standard that a parser tolerated (an MT940 dialect): recorded per file in
 * file_load.deviations, shown by `pipeline inspect` and the report; refused with mt940_strict.
 * `code` and `what` are static strings; one entry per code, with its first line and a count.
 */
#define DEVIATIONS_MAX 32
struct deviation {
	const char *code;        /* "blank_line", "tag_28", ... */
	const char *what;        /* "blank line inside a message" */
	long first_line;
	int64_t count;
};
struct deviations {
	int n;
	struct deviation d[DEVIATIONS_MAX];
};
/* Counts one occurrence of `code` at `line` (a new code is added in order of first occurrence). */
void deviations_add(struct deviations *dv, const char *code, const char *what, long line);
/* "code (line N[, M times]): what" into buf (cap bytes; DEVIATION_BUFSZ is enough). Returns buf. */
#define DEVIATION_BUFSZ 256
char *deviation_text(const struct deviation *d, char *buf, size_t cap);

struct stmt_sink {
	void *arg;
	enum perr (*begin)(void *arg, const struct stmt_header *h);   /* may be NULL */
	enum perr (*line)(void *arg, const struct stmt_header *h, const struct stmt_line *l); /* may be NULL */
	enum perr (*end)(void *arg, const struct stmt_header *h);     /* may be NULL */
	/* camt: an entry that is not booked (PDNG, ...), between begin and end; may be NULL */
	enum perr (*pending)(void *arg, const struct stmt_header *h, const struct stmt_line *l);
};

/* A trustee unit-register row: as_of_date,offering_id,investor_id,units. */
struct register_row {
	long src_line;
	date_t as_of_date;
	const char *offering_id;
	const char *investor_id;
	int64_t units;
};

struct register_sink {
	void *arg;
	enum perr (*row)(void *arg, const struct register_row *r);    /* may be NULL */
	enum perr (*end)(void *arg, int64_t rows, bool have_as_of, date_t as_of); /* may be NULL */
};

enum text_encoding { ENC_UTF8 = 0, ENC_LATIN1 = 1 };

/* What a parser needs besides the bytes. */
struct parse_opts {
	const char *path;            /* for messages */
	enum text_encoding encoding; /* bytes outside ASCII: validated UTF-8, or ISO-8859-1 converted */
	const struct refx *refx;     /* reference patterns; NULL: the layout's own (CSV) or none */
	struct deviations *deviations; /* tolerated deviations are counted here; may be NULL */
	bool strict;                 /* MT940: a deviation is an error (mt940_strict = yes) */
};

/* ---- the parsers ---- */

/* SWIFT MT940 (formats/mt940.c). */
enum perr mt940_parse(FILE *fp, const struct parse_opts *o, const struct stmt_sink *sink);

/* A bank CSV described by a layout (formats/bankcsv.c, formats/layout.c). */
enum perr bankcsv_parse(FILE *fp, const struct layout *lay, const struct parse_opts *o,
    const struct stmt_sink *sink);

/* The trustee unit register CSV (formats/trustee.c). */
enum perr trustee_parse(FILE *fp, const struct parse_opts *o, const struct register_sink *sink);

/*
 * ISO 20022 camt.053.001.02/.08 statements and camt.054.001.02 notifications (formats/camt053.c),
 * streamed with libxml2's xmlTextReader: memory is constant per entry. The document's namespace
 * decides the message and version; another is refused.
 */
enum perr camt_parse(FILE *fp, const struct parse_opts *o, const struct stmt_sink *sink);
/* True if the first bytes (head, n) look like an XML document whose namespace is a camt message. */
bool camt_sniff(const char *head, size_t n);

/* ---- the registry (formats/format.c) ---- */

enum format_kind { FORMAT_MT940 = 0, FORMAT_BANKCSV = 1, FORMAT_TRUSTEE = 2, FORMAT_CAMT = 3, FORMAT_PAIN002 = 4 };

struct format {
	enum format_kind kind;
	char *name;                  /* "mt940", "camt053", "camt054", "trustee_register", "pain002" or the layout name */
	struct layout *layout;       /* FORMAT_BANKCSV only; owned */
};

/*
 * Opens the format called `name`: "mt940", "camt053", "camt054" (the same parser: the namespace
 * decides), "trustee_register", or a layout read from
 * "<formats_dir>/<name>.layout". On success *out is owned by the caller (format_free).
 * PERR_CONFIG if the name is unknown or the layout file is invalid ("file:line: ...").
 */
enum perr format_open(const char *formats_dir, const char *name, struct format **out);
/* Safe to call with NULL. */
void format_free(struct format *f);

/*
 * Whether `name` is a format (formats/format.c's registry, or a layout in formats_dir that
 * parses): PERR_OK, or PERR_CONFIG saying why, with the nearest name ("did you mean").
 * The configuration's check at load (config_set_format_check).
 */
enum perr format_check(const char *formats_dir, const char *name);

/* Parses a statement file in format f (not for FORMAT_TRUSTEE: PERR_INTERNAL). */
enum perr format_parse_statements(const struct format *f, FILE *fp, const struct parse_opts *o,
    const struct stmt_sink *sink);

/*
 * Guesses the format of the file at `path` from its content: MT940 (":20:" or "{1:" first, or a
 * line starting with ":20:" in the first 512 bytes, after bank header lines),
 * camt053/camt054 (XML with an ISO 20022 camt namespace in the first 512 bytes),
 * the trustee register (its header), else the first layout in formats_dir that parses the whole
 * file. On success *out is owned by the caller. PERR_PARSE if nothing fits, naming what was tried.
 */
enum perr format_guess(const char *formats_dir, const char *path, enum text_encoding enc,
    struct format **out);

/* "UTF-8"/"ISO-8859-1" (also "utf8", "latin1", case-insensitive) to an encoding; false if unknown. */
bool text_encoding_from_name(const char *name, enum text_encoding *out);

/* ---- text helpers (formats/text.c) ---- */

/* A growable byte buffer; always NUL-terminated after the first append. */
struct fbuf {
	char *p;
	size_t len;
	size_t cap;
};
void fbuf_reset(struct fbuf *b);
void fbuf_append(struct fbuf *b, const char *s, size_t n);
void fbuf_putc(struct fbuf *b, char c);
/* Frees the memory; the buffer is reusable (empty) afterwards. Safe on a zeroed buffer. */
void fbuf_free(struct fbuf *b);

/* text_check, the one UTF-8 validator, is src/utf8.h (included above). */

/*
 * Makes the bytes s[0..n) valid text in `out` (replacing its content): UTF-8 is checked as above,
 * ISO-8859-1 is converted exactly (every byte to its code point). On failure returns PERR_PARSE
 * with "path:line: what: byte 0xNN at column C is not valid UTF-8 (...)".
 */
enum perr text_decode(const char *s, size_t n, enum text_encoding enc, struct fbuf *out,
    const char *path, long line, const char *what);


/*
 * Reads one line (up to and including '\n') into *line and *cap (getline semantics). Returns its
 * length, 0 at end of file, or -1 with PERR_PARSE/PERR_IO recorded (NUL byte, line longer than
 * max_len, read error). The caller frees *line.
 */
long read_line(FILE *fp, char **line, size_t *cap, size_t max_len, const char *path, long lineno);

/*
 * The completeness gate's arithmetic: true if opening + sum(lines) = closing (without overflow).
 * *expected (may be NULL) receives opening + sum.
 */
bool stmt_balanced(const struct stmt_header *h, int64_t *expected);

/* Checks the statement header invariant above (for assert()). */
bool stmt_header_sane(const struct stmt_header *h, bool at_end);

#endif
