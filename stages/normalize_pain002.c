/*
 * normalize_pain002.c - part of the normalize stage: a pain.002 file becomes one
 * payment_status_report row and one payment_status row per status (group, payment information,
 * transaction), in file order. The rows are history (sql/115): a forced normalize of the same
 * file (its bytes checked against the fetch's SHA-256) finds them and keeps them, inserting
 * nothing twice. Nothing is decided here about the transfers: settle applies the
 * statuses (engine/payment_status.c), so a report that arrives before or after the statement, or
 * twice, is judged in one place.
 */
#include "normalize_pain002.h"

#include <stdio.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "pain002.h"

static const char *const level_name[] = { "GROUP", "PMTINF", "TX" };

static enum perr
insert_report(struct stage_ctx *ctx, const struct pain002_report *r, const char *file_id)
{
	char run[24];
	const char *p[6];

	snprintf(run, sizeof run, "%lld", (long long)ctx->run_id);
	p[0] = file_id;
	p[1] = ctx->date_iso;
	p[2] = r->msg_id;
	p[3] = r->created;
	p[4] = r->orgnl_msg_id;
	p[5] = run;
	return db_command(ctx->db,
	    "INSERT INTO payment_status_report (file_id, business_date, msg_id, created_at, orgnl_msg_id, run_id)"
	    " VALUES ($1::bigint, $2::date, $3, $4::timestamptz, $5, $6::bigint) ON CONFLICT DO NOTHING", 6, p);
}

static enum perr
insert_status(struct stage_ctx *ctx, const struct pain002_report *r, size_t i, const char *file_id)
{
	const struct pain002_status *s = &r->statuses[i];
	char seq[24], line[24];
	const char *p[11];

	snprintf(seq, sizeof seq, "%zu", i + 1);
	snprintf(line, sizeof line, "%ld", s->line);
	p[0] = file_id;
	p[1] = seq;
	p[2] = level_name[s->level];
	p[3] = r->orgnl_msg_id;
	p[4] = s->pmtinf_id;
	p[5] = s->end_to_end_id;
	p[6] = s->status;
	p[7] = s->reason_code;
	p[8] = s->reason_text;
	p[9] = s->status_time[0] ? s->status_time : NULL;
	p[10] = line;
	return db_command(ctx->db,
	    "INSERT INTO payment_status (file_id, seq, level, orgnl_msg_id, orgnl_pmtinf_id, orgnl_end_to_end_id,"
	    "  status, reason_code, reason_text, status_time, src_line)"
	    " VALUES ($1::bigint, $2::integer, $3, $4, $5, $6, $7, $8, $9, $10::timestamptz, $11::integer)"
	    " ON CONFLICT DO NOTHING", 11, p);
}

enum perr
normalize_pain002(struct stage_ctx *ctx, const char *path, const char *file_id, int64_t *statuses)
{
	struct pain002_report *r = NULL;
	enum perr e;
	size_t i;

	*statuses = 0;
	if ((e = pain002_parse_file(path, &r)) != PERR_OK)
		return e == PERR_DB ? PERR_PARSE : e;     /* never mistaken for a database failure */
	if ((e = insert_report(ctx, r, file_id)) != PERR_OK)
		goto out;
	for (i = 0; i < r->n_statuses; i++)
		if ((e = insert_status(ctx, r, i, file_id)) != PERR_OK)
			goto out;
	*statuses = (int64_t)r->n_statuses;
	{
		char n[24];

		snprintf(n, sizeof n, "%zu", r->n_statuses);
		log_event(LOG_INFO, "normalize", "payment status report loaded", "file", path, "msg_id", r->msg_id,
		    "original_msg_id", r->orgnl_msg_id, "statuses", n, (const char *)NULL);
	}
out:
	pain002_free(r);
	return e;
}
