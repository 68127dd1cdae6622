/*
 * pain002.h - reader of ISO 20022 pain.002.001.03 (Customer Payment Status Report) files, the
 * bank's answer to our pain.001 payment files: accepted, rejected (with a reason) or pending, at
 * the level of the whole message (GrpSts), of a payment information block (PmtInfSts) or of one
 * transaction (TxSts, linked to our transfer by OrgnlEndToEndId).
 *
 * Shape read (element names from the official schema, urn:iso:std:iso:20022:tech:xsd:pain.002.001.03):
 *   Document/CstmrPmtStsRpt
 *     GrpHdr: MsgId, CreDtTm (InitgPty, FwdgAgt, DbtrAgt, CdtrAgt skipped)
 *     OrgnlGrpInfAndSts: OrgnlMsgId (our MsgId), OrgnlMsgNmId (must be pain.001.*), OrgnlCreDtTm,
 *       OrgnlNbOfTxs, OrgnlCtrlSum, GrpSts, StsRsnInf*, NbOfTxsPerSts* (skipped)
 *     OrgnlPmtInfAndSts*: OrgnlPmtInfId, OrgnlNbOfTxs, OrgnlCtrlSum, PmtInfSts, StsRsnInf*,
 *       NbOfTxsPerSts* (skipped), TxInfAndSts*: StsId, OrgnlInstrId, OrgnlEndToEndId (required
 *       here: it is how a status finds its transfer), TxSts, StsRsnInf*, ChrgsInf* (skipped),
 *       AccptncDtTm, AcctSvcrRef, ClrSysRef, OrgnlTxRef (skipped)
 *     StsRsnInf: Orgtr (skipped), Rsn/Cd or Rsn/Prtry, AddtlInf*
 *
 * Strict and hostile-input safe (libxml2 xmlTextReader, from memory): no network, no DTD (a
 * DOCTYPE is refused before parsing), no entities, depth, text length, file size and status count
 * limited; every element must be in the pain.002.001.03 namespace (another pain.002 version is
 * refused by name); an element the schema does not allow where it stands, a required one missing
 * or a single one repeated, an unknown status code, a malformed date-time, an id longer than
 * Max35Text, or the same OrgnlPmtInfId / OrgnlEndToEndId twice is an error
 * "path:line: ELEMENT: what is wrong, expected ...". A file that fails yields nothing.
 */
#ifndef PIPELINE_PAIN002_H
#define PIPELINE_PAIN002_H

#include <stddef.h>

#include "errors.h"

#define PAIN002_NS "urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"
#define PAIN002_MAX_BYTES (16 * 1024 * 1024)
#define PAIN002_MAX_STATUSES 100000

enum pain002_level { PAIN002_GROUP = 0, PAIN002_PMTINF = 1, PAIN002_TX = 2 };

/* One status, at one level. Strings are never NULL ("" when absent). */
struct pain002_status {
	enum pain002_level level;
	char *pmtinf_id;          /* OrgnlPmtInfId; "" at GROUP level */
	char *end_to_end_id;      /* OrgnlEndToEndId; TX level only, else "" */
	char status[5];           /* GrpSts/PmtInfSts/TxSts, "" when the level carries none of its own */
	char *reason_code;        /* Rsn/Cd (or Rsn/Prtry) of the first StsRsnInf, or "" */
	char *reason_text;        /* every AddtlInf of the level's StsRsnInf, joined by " " */
	char *status_time;        /* AccptncDtTm (TX level), or "" */
	long line;                /* where the level's element starts */
};

/*
 * A report. statuses in file order: the GROUP status first (always present, maybe without a code),
 * then each payment information block followed by its transactions.
 */
struct pain002_report {
	char *msg_id;             /* GrpHdr/MsgId */
	char *created;            /* GrpHdr/CreDtTm as written (xs:dateTime) */
	char *orgnl_msg_id;       /* OrgnlGrpInfAndSts/OrgnlMsgId */
	char *orgnl_msg_nm_id;    /* e.g. "pain.001.001.03" */
	struct pain002_status *statuses;
	size_t n_statuses;
};

/*
 * Parses the document in buf[0..len) (`path` for messages). On success *out is a new report
 * owned by the caller (pain002_free); on failure *out is NULL and perr_detail() says why.
 */
enum perr pain002_parse(const char *buf, size_t len, const char *path, struct pain002_report **out);

/* Reads the file (at most PAIN002_MAX_BYTES) and parses it, as pain002_parse. */
enum perr pain002_parse_file(const char *path, struct pain002_report **out);

/* Safe to call with NULL. */
void pain002_free(struct pain002_report *r);

#endif
