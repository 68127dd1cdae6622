/*
 * mt940_86.h - decoders of the structured :86: (information to account owner) that banks put in
 * MT940 statement lines, so a line's reference and counterparty come from the right part:
 *
 *  - German and Austrian banks (DFÜ-Abkommen / DK format, "GVC"): a 3-digit business transaction
 *    code, then subfields ?NN: ?00 posting text, ?10 primanota, ?20-?29 and ?60-?63 the purpose
 *    (27 characters each; a word or reference may continue in the next subfield), ?30 the
 *    counterparty's BIC (or bank code), ?31 its IBAN (or account), ?32/?33 its name, ?34 the
 *    return code. A SEPA purpose carries keywords EREF+ (end-to-end reference), KREF+ (customer
 *    reference), MREF+ (mandate), CRED+ (creditor id), SVWZ+ (remittance text), ABWA+/ABWE+ ...;
 *    a keyword counts only where a subfield starts, so "EREF+" inside a text stays text.
 *  - Dutch and Belgian banks (ABN AMRO, ING, Rabobank, SNS, Triodos; BNP Paribas Fortis): slash
 *    tags /TRTP/…/IBAN/…/BIC/…/NAME/…/REMI/…/EREF/…/ORDP/…/BENM/…/CNTP/iban/bic/name/city/…
 *    A tag counts only where it is one of the known ones, so a "/" inside a value stays text.
 *
 * Subfields are joined exactly as sent: nothing is inserted between ?2x subfields or lines.
 * Ownership: struct info86 owns its buffers; info86_decode reuses them; info86_free releases them.
 */
#ifndef PIPELINE_MT940_86_H
#define PIPELINE_MT940_86_H

#include <stdbool.h>
#include <stddef.h>

#include "statement.h"

enum info86_kind { INFO86_TEXT = 0, INFO86_GVC = 1, INFO86_SLASH = 2 };

struct info86 {
	enum info86_kind kind;
	char code[8];            /* GVC "166", or the slash format's /TRTP/ is in posting_text */
	struct fbuf posting_text;/* ?00, or /TRTP/ */
	struct fbuf purpose;     /* ?20-?29 ?60-?63 joined (keywords included), or /REMI/ */
	struct fbuf eref;        /* EREF+ or /EREF/ (end-to-end reference); "NOTPROVIDED" kept as sent */
	struct fbuf kref;        /* KREF+ */
	struct fbuf mref;        /* MREF+ or /MARF/ (mandate reference) */
	struct fbuf cred;        /* CRED+ or /CSID/ (creditor identifier) */
	struct fbuf svwz;        /* SVWZ+ (remittance information), else "" */
	struct fbuf name;        /* ?32?33, /NAME/, or the name of /CNTP/ */
	struct fbuf account;     /* ?31, /IBAN/ or the account of /CNTP/ */
	struct fbuf bic;         /* ?30, /BIC/ or the BIC of /CNTP/ */
};

/*
 * Decodes the :86: text s[0..n) (continuation lines already joined as sent) into *out, replacing
 * what it held. Unstructured text gives kind INFO86_TEXT with every part "". Never fails: a
 * malformed structure is decoded as far as it goes, the rest kept in the raw narrative.
 * Every buffer of *out is NUL-terminated afterwards.
 */
void info86_decode(const char *s, size_t n, struct info86 *out);

/* The end-to-end reference if it is a real one (not "", "NOTPROVIDED" or "NONREF"), else NULL. */
const char *info86_e2e(const struct info86 *in);

/* Safe on a zeroed struct; the struct is reusable afterwards. */
void info86_free(struct info86 *in);

#endif
