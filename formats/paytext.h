/*
 * paytext.h - the rules every text bound for a counterparty's file must keep (the pain.001 payment
 * file to the bank, the issuance file to the trustee), in one place: the file writers apply them
 * while writing, and the settle stage and the ledger import apply the same functions before
 * anything is committed, so a value a file could never carry is refused at the door, naming the
 * field, instead of after the settlement rows were committed.
 *
 * Text (pain.001 Max35Text / Max140Text ..., issue 16):
 *   - valid UTF-8 (src/utf8.c text_check, the one validator) without any control character;
 *   - the SWIFT/SEPA Latin character set as banks accept it: printable ASCII (U+0020-U+007E) and the
 *     Latin letters with diacritics (U+00C0-U+017F, without the signs U+00D7 and U+00F7); XML's
 *     & < > " ' are escaped by the writer;
 *   - 1..max characters (counted in characters, not bytes), not only blanks.
 * Identifiers: a journal account suffix ([A-Za-z0-9_-], sql/001 journal_posting.ledger_account) for
 * investor and offering ids; a bank account number [A-Za-z0-9/-]{1,34} (sql/001 bank_account).
 */
#ifndef PIPELINE_PAYTEXT_H
#define PIPELINE_PAYTEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "errors.h"

#define PAYTEXT_NAME_MAX 140    /* Max140Text: Nm, Ustrd */
#define PAYTEXT_ID_MAX 35       /* Max35Text: EndToEndId, InstrId, PmtInfId */
#define PAYTEXT_ACCOUNT_MAX 34  /* Max34Text: Othr/Id */
#define PAYTEXT_JOURNAL_ID_MAX 64

/*
 * NULL if s is a text of 1..max characters by the rules above, else a static sentence saying what
 * is wrong ("has 149 characters, at most 140 allowed" is written into buf, of at least 96 bytes).
 */
const char *paytext_why(const char *s, long max, char *buf, size_t bufsz);

/*
 * paytext_why as an error: PERR_PAYMENT_DATA with "<what>: <field> "<first 40>..." <why>".
 * `what` names the record (e.g. "pain.001", "trustee account 8800123456 name").
 */
enum perr paytext_check(const char *what, const char *field, const char *s, long max);

/* BIC: 4 letters bank, 2 letters country, 2 location ([A-Z2-9][A-NP-Z0-9]), optional 3 branch. */
bool paytext_bic_valid(const char *s);

/* A bank account number as the ledger and pain.001 Othr/Id take it: [A-Za-z0-9/-]{1,34}. */
bool paytext_account_valid(const char *s);

/* An id that can be a journal account suffix (WALLET:<investor>): [A-Za-z0-9_-]{1,64}. */
bool paytext_journal_id_valid(const char *s);

#endif
