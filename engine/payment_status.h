/*
 * payment_status.h - what the bank said about our payments, applied to the transfers: the one
 * place that moves a transfer past UPLOADED (sql/115 states the moves) and records why in
 * transfer_status_event. Called by the settle stage before it files or issues anything, so a
 * setting such as issue_after = accepted sees the night's statuses.
 *
 * Sources, in this order each night (all of them, every night: the outcome depends only on what
 * was received, so a rerun, --force included, finds the same moves done and re-opens the same
 * exceptions):
 *   1. the pain.002 statuses normalize loaded (payment_status), report by report in fetch order.
 *      For each transfer of the original message the status is the transaction's own (TxSts),
 *      else its payment information's (PmtInfSts; our PmtInfId is "<MsgId>-<CCY>"), else the
 *      group's (GrpSts). ACCP ACSP ACTC ACWC: UPLOADED -> ACCEPTED; ACSC: -> SETTLED; RJCT:
 *      -> REJECTED with the reason; PDNG PART RCVD: recorded as shown, not final.
 *   2. the statement: a transfer whose debit (movement <id>-DR) reconcile matched -> SETTLED.
 * Each move happens once (a unique index); a repeat of a status already applied is a no-op; a
 * status for a message, payment information or transfer we never sent is PAYMENT_STATUS_UNKNOWN,
 * one contradicting a final status (RJCT after SETTLED, ACCP/ACSC after REJECTED or CANCELLED,
 * a debit on the statement of a REJECTED or CANCELLED transfer) PAYMENT_STATUS_CONFLICT; neither
 * is applied. A status for a transfer whose upload is not yet recorded (FILED) waits for a later
 * night. Then, derived from the state: every REJECTED transfer has an open PAYMENT_REJECTED
 * (ERROR, with the reason); one still UPLOADED without any status status_deadline_days business
 * days after its file's date a PAYMENT_STATUS_MISSING (WARNING). Nothing is ever re-sent.
 */
#ifndef PIPELINE_PAYMENT_STATUS_H
#define PIPELINE_PAYMENT_STATUS_H

#include "stage_ctx.h"

/* Applies everything received up to ctx->date, in one transaction. Exceptions are the settle stage's. */
enum perr payment_status_apply(struct stage_ctx *ctx);

#endif
