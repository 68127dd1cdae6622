/*
 * pain001.h - writer of ISO 20022 pain.001.001.03 (Customer Credit Transfer Initiation) payment
 * files, the instructions the settle stage sends to the bank. Pure: builds the document in memory
 * from the values given; the caller stores and uploads it.
 *
 * Shape (element names from the official schema, urn:iso:std:iso:20022:tech:xsd:pain.001.001.03):
 *   Document/CstmrCdtTrfInitn
 *     GrpHdr: MsgId, CreDtTm, NbOfTxs (all payments), CtrlSum (sum of all amounts), InitgPty/Nm
 *     PmtInf, one per currency (in code order): PmtInfId = "<MsgId>-<CCY>", PmtMtd TRF, BtchBookg
 *       false, NbOfTxs, CtrlSum, ReqdExctnDt, Dbtr/Nm, DbtrAcct/Id/Othr/Id (+Ccy), DbtrAgt (BIC),
 *       ChrgBr SLEV, then one CdtTrfTxInf per payment in the order given:
 *       PmtId/InstrId + EndToEndId (= the transfer id, the reference the bank echoes on statements),
 *       Amt/InstdAmt@Ccy, Cdtr/Nm, CdtrAcct/Id/Othr/Id, RmtInf/Ustrd.
 * The same input gives the same bytes (no clock, no randomness inside): a rerun re-creates a
 * byte-identical file from the stored message id and creation time.
 *
 * Text rules (formats/paytext.h): every text must be valid UTF-8 of the SWIFT/SEPA Latin set without
 * control characters and within the schema's length (Max35Text ids, Max34Text accounts, Max140Text
 * names, counted in characters); it is XML-escaped (& < > " ').
 * Written by hand, not with libxml2's xmlTextWriter: the writer escapes ' as &apos; (files already
 * sent and tests pin these bytes) and xmlTextWriter cannot write that escape; libxml2 validates
 * each file against the schema instead (pain001_schema_validate).
 */
#ifndef PIPELINE_PAIN001_H
#define PIPELINE_PAIN001_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"

struct pain001_payment {
	const char *end_to_end_id;    /* Max35Text: the transfer id */
	int64_t amount_minor;         /* > 0 */
	const char *currency;         /* ISO 4217, known to money.h */
	const char *creditor_name;    /* Max140Text */
	const char *creditor_account; /* Max34Text */
	const char *remittance;       /* Max140Text, or NULL for none */
};

struct pain001_msg {
	const char *msg_id;           /* 1..31 characters (PmtInfId appends "-CCY") */
	const char *creation_time;    /* xs:dateTime, e.g. "2026-11-26T01:02:03Z" */
	const char *initiating_party; /* Max140Text */
	const char *debtor_name;      /* Max140Text */
	const char *debtor_account;   /* Max34Text: the client-money account */
	const char *debtor_currency;  /* currency of the debtor account, or NULL */
	const char *debtor_bic;       /* BIC (8 or 11), or NULL: then DbtrAgt has no BIC */
	const char *execution_date;   /* "YYYY-MM-DD": ReqdExctnDt */
	const struct pain001_payment *payments;
	size_t n_payments;            /* >= 1 */
};

/*
 * Checks everything the writer checks (texts by formats/paytext.h, ids, accounts, BIC, dates,
 * amounts, currencies, the control sum's 18 digits) without writing: PERR_OK, or
 * PERR_PAYMENT_DATA / PERR_CURRENCY / PERR_MONEY_OVERFLOW with the field named. The settle stage
 * calls it before committing an offering's transfers; pain001_build calls it first.
 */
enum perr pain001_check(const struct pain001_msg *m);

/*
 * Validates a built document against the pain.001.001.03 XML schema at xsd_path with libxml2
 * (xmlSchemaValidateDoc): PERR_OK, PERR_SCHEMA naming the first violation (file `name`, line), or
 * PERR_CONFIG if the schema cannot be read. Network access is never attempted.
 */
enum perr pain001_schema_validate(const char *xsd_path, const char *doc, size_t len, const char *name);

/* Where the schema is shipped, relative to [paths] formats_dir, and installed. */
#define PAIN001_XSD_NAME "schemas/pain.001.001.03.xsd"

/*
 * The schema's path: <formats_dir>/schemas/pain.001.001.03.xsd if readable, else the installed copy
 * under PIPELINE_SHAREDIR (make install). Caller frees.
 */
char *pain001_schema_path(const char *formats_dir);

/*
 * Builds the XML document (pain001_check's rules; a violation is PERR_INTERNAL here, since it
 * should have been refused before commit). On success *out is a NUL-terminated buffer owned by the caller (free)
 * and *len its length without the NUL. On failure nothing is allocated.
 */
enum perr pain001_build(const struct pain001_msg *m, char **out, size_t *len);

/*
 * The control sum of the payments as a decimal string (amounts of different exponents are added
 * exactly at the largest exponent) into buf (at least 48 bytes). PERR_MONEY_OVERFLOW if it would
 * exceed the schema's 18 digits.
 */
enum perr pain001_control_sum(const struct pain001_payment *p, size_t n, char *buf, size_t bufsz);

#endif
