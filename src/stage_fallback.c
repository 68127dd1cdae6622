/*
 * stage_fallback.c - TEMPORARY: weak definitions so the program links while the stages are being
 * written in parallel. A real stages/X.c overrides its row. To be deleted once every stage exists.
 */
#include "stage.h"

#define FALLBACK(fn, name) \
	enum perr fn(struct stage_ctx *ctx) __attribute__((weak)); \
	enum perr fn(struct stage_ctx *ctx) { (void)ctx; \
		return perr_set(PERR_INTERNAL, "the %s stage is not built into this program", name); }

FALLBACK(stage_fetch, "fetch")
FALLBACK(stage_normalize, "normalize")
FALLBACK(stage_reconcile, "reconcile")
FALLBACK(stage_settle, "settle")
FALLBACK(stage_report, "report")
