/*
 * xlsx.c - the morning workbook (libxlsxwriter, constant-memory mode): Summary, Bank Reconciliation,
 * Exceptions, Closed Today, Matched, Pending, Settlements, DABS Issuance, Statements, in that order.
 *
 * How it is built:
 *  - Everything is read inside one REPEATABLE READ snapshot, through server-side cursors, so the
 *    sheets agree with each other and memory does not grow with the day's size.
 *  - Row counts are taken first, so the workbook knows before writing how many sheets a table needs
 *    ("Exceptions (2)" follows "Exceptions" when [report] sheet_row_limit is reached).
 *  - The data sheets are streamed row by row (constant memory needs rows in order per sheet) while
 *    the Summary's figures are summed in int64 from the very rows written, then the Summary (the
 *    first sheet) is written last. So every Summary figure is recomputable from the other sheets.
 *  - Amounts stay int64 minor units; they become a double only at the libxlsxwriter call
 *    (minor / 10^exponent) - presentation, never arithmetic.
 *  - Text from outside is always written with worksheet_write_string: it can never become a
 *    formula, a hyperlink or DDE, whatever it starts with.
 *  - Every libxlsxwriter result is checked (a sticky first error, see struct w); on any error the
 *    temporary file is removed and the earlier report, if any, stays in place.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xlsxwriter.h>

#include "csv_export.h"
#include "db.h"
#include "money.h"
#include "report.h"
#include "report_data.h"
#include "progress.h"
#include "util.h"

#ifndef PIPELINE_VERSION
#define PIPELINE_VERSION "0.0.0"
#endif

#define MAX_EXP 4
#define MAX_SHEETS_PER_TABLE 1000
#define MAX_CURRENCIES 256
#define FIRST_DATA_ROW 2        /* row 0: title, row 1: column headers */
#define CHART_ROWS 18           /* Summary rows left empty under the chart */

static const double pow10_tab[MAX_EXP + 1] = { 1.0, 10.0, 100.0, 1000.0, 10000.0 };

/* One family of cell formats: plain, highlighted (new today) or totals. */
struct fset {
	lxw_format *text, *wrap, *date, *datetime, *num, *pct, *amount[MAX_EXP + 1];
};

struct fmts {
	lxw_format *title, *subtitle, *section, *header, *label, *note, *mono;
	lxw_format *meta_date, *meta_datetime, *meta_int;   /* left-aligned values beside labels */
	lxw_format *green, *amber, *red;
	lxw_format *unlocked;       /* a cell the team may edit on the protected sheet */
	struct fset plain, hl, total;
};

/*
 * The writer: the workbook, its formats, and the first error met. Writes after an error are
 * skipped, and the error is reported once, naming where it happened.
 */
struct w {
	lxw_workbook *wb;
	struct fmts f;
	lxw_error lerr;
	char where[128];
	enum perr perr;
	char *cellbuf;          /* RD_CELL_MAX + 16 bytes, for truncated text */
	struct { char code[4]; int exp; } curx[MAX_CURRENCIES];   /* the currency table */
	int ncurx;
};

struct col {
	const char *header;
	double width;
};

/*
 * A table that may span several sheets. Invariant: 0 <= cur < nsheets; rows on ws[cur] so far
 * are row - FIRST_DATA_ROW <= per_sheet; written <= nrows.
 */
struct tsheet {
	const char *base;
	const struct col *cols;
	int ncols;
	int64_t nrows;          /* data rows planned (counted in the snapshot) */
	int64_t per_sheet;
	int nsheets;
	lxw_worksheet **ws;
	int cur;
	lxw_row_t row;
	int64_t written;
};

/* Per account figures for the Summary, summed from the rows written to the other sheets. */
struct acct {
	char *account_no;       /* "" = exceptions without an account */
	char *name;
	char *purpose;
	char currency[4];
	bool in_ledger;
	bool has_stmt, has_ledger;
	date_t open_date, close_date;
	int64_t opening, closing, ledger, open_lines;
	int64_t lines, matched, open_err, open_warn, pending;
	int64_t by_type[RD_N_TYPES];
};

/*
 * Work-list figures per account and currency (never summed across either), from the rows written to
 * the Exceptions and Closed Today sheets: open exceptions by age bucket (count, sum of amounts),
 * what needs action today, and the day's movement (opened, closed, carried).
 */
enum { ACTION_NEW_ERROR, ACTION_PAST_SLA, ACTION_REJECTED, N_ACTIONS };
enum { MOVE_OPENED, MOVE_CLOSED, MOVE_CARRIED, N_MOVES };
struct acbk {
	char *account_no;       /* "" = exceptions without an account */
	char currency[4];       /* "" = exceptions without an amount */
	int64_t age_n[RD_AGE_BUCKETS], age_sum[RD_AGE_BUCKETS];
	int64_t act_n[N_ACTIONS], act_sum[N_ACTIONS];
	int64_t mv_n[N_MOVES], mv_sum[N_MOVES];
};

/* Settlement figures of the day per currency. */
struct curtot {
	char currency[4];
	int64_t transfers, proceeds, fees, held, held_amount, offerings, refunded;
	int64_t issuances, units, issued;
};

struct rep {
	struct stage_ctx *ctx;
	const struct config *cfg;
	struct w w;
	const char *params1[1];     /* $1 = business date */
	struct acct *accts;
	size_t n_accts, cap_accts;
	struct curtot *curs;
	size_t n_curs, cap_curs;
	struct acbk *bks;
	size_t n_bks, cap_bks;
	int64_t type_bucket[RD_N_TYPES][RD_AGE_BUCKETS];
	int64_t type_err[RD_N_TYPES], type_warn[RD_N_TYPES];
	int64_t open_err, open_warn, new_today, closed_today, pending, matched_total;
	struct progress_bar *pb;    /* on a terminal only (NULL otherwise): rows written so far */
	const char *scratch;        /* libxlsxwriter's temporary files: data_dir/tmp/report, not the report dir */
	int64_t rows_done;
	int matched_capped;
	struct report_result *res;
};

/* ---------------------------------------------------------------- writing cells */

static void
w_chk(struct w *w, lxw_error e, const char *what, lxw_row_t row, lxw_col_t col)
{
	if (e == LXW_NO_ERROR || w->lerr != LXW_NO_ERROR)
		return;
	w->lerr = e;
	snprintf(w->where, sizeof(w->where), "%s at row %u column %u", what, (unsigned)row + 1,
	    (unsigned)col + 1);
}

static bool
w_ok(const struct w *w)
{
	return w->lerr == LXW_NO_ERROR && w->perr == PERR_OK;
}

static void
w_fail(struct w *w, enum perr e)
{
	if (w->perr == PERR_OK)
		w->perr = e;
}

/* Text from anywhere: always a string cell (never a formula, URL or number). NULL/"" = blank. */
static void
w_str(struct w *w, lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, const char *s, lxw_format *fmt)
{
	if (!w_ok(w))
		return;
	if (s == NULL || *s == '\0') {
		if (fmt != NULL)
			w_chk(w, worksheet_write_blank(ws, r, c, fmt), "write_blank", r, c);
		return;
	}
	w_chk(w, worksheet_write_string(ws, r, c, rd_cell_text(s, RD_CELL_MAX, w->cellbuf), fmt),
	    "write_string", r, c);
}

static void
w_int(struct w *w, lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, int64_t v, lxw_format *fmt)
{
	if (!w_ok(w))
		return;
	w_chk(w, worksheet_write_number(ws, r, c, (double)v, fmt), "write_number", r, c);
}

/*
 * The height of a row whose wrapped cells hold `texts` in columns of `widths` (character units): as
 * many lines as the longest needs (about 1.1 characters of the 10-point font per unit, line breaks
 * counted), so a viewer or printer that does not fit rows itself shows every line. Call before the
 * row's cells (constant memory writes a row once).
 */
static void
w_row_lines(struct w *w, lxw_worksheet *ws, lxw_row_t r, const char *const *texts, const double *widths, int n)
{
	int lines = 1;

	if (!w_ok(w))
		return;
	for (int i = 0; i < n; i++) {
		int per = (int)(widths[i] * 1.1), l = 0, col = 0;

		for (const char *p = texts[i]; p != NULL && *p; p++) {
			if (*p == '\n' || ++col > per) {
				l++;
				col = *p == '\n' ? 0 : 1;
			}
		}
		if (texts[i] != NULL && *texts[i])
			l++;
		if (l > lines)
			lines = l;
	}
	if (lines > 30)
		lines = 30;     /* Excel's row height limit is 409 points */
	if (lines > 1)
		w_chk(w, worksheet_set_row(ws, r, 13.0 * lines, NULL), "set_row", r, 0);
}

/* Presentation only: the one place minor units become a double. */
static void
w_minor(struct w *w, lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, int64_t minor, int exp,
    const struct fset *fs)
{
	if (!w_ok(w))
		return;
	if (exp < 0 || exp > MAX_EXP) {
		w_fail(w, perr_set(PERR_CURRENCY, "report: currency exponent %d not supported", exp));
		return;
	}
	w_chk(w, worksheet_write_number(ws, r, c, (double)minor / pow10_tab[exp], fs->amount[exp]),
	    "write_number", r, c);
}

/*
 * The exponent of a currency code: the database's currency table first (every amount in the
 * database was stored against it: foreign keys), then money.c's list; an unknown code is an error
 * (never a guessed 2).
 */
static int
w_exp(struct w *w, const char *code)
{
	const struct currency *cur;

	for (int i = 0; code != NULL && i < w->ncurx; i++)
		if (strcmp(w->curx[i].code, code) == 0)
			return w->curx[i].exp;
	cur = code != NULL ? currency_find(code) : NULL;
	if (cur == NULL) {
		w_fail(w, perr_set(PERR_CURRENCY, "report: unknown currency \"%s\"",
		    code != NULL ? code : "(null)"));
		return 2;
	}
	return cur->exponent;
}

static void
w_date(struct w *w, lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, date_t d, lxw_format *fmt)
{
	lxw_datetime dt;
	int y, m, dd;

	if (!w_ok(w))
		return;
	date_to_ymd(d, &y, &m, &dd);
	memset(&dt, 0, sizeof(dt));
	dt.year = y;
	dt.month = m;
	dt.day = dd;
	w_chk(w, worksheet_write_datetime(ws, r, c, &dt, fmt), "write_datetime", r, c);
}

/* A "YYYY-MM-DD" value from the database as a real date cell; NULL = blank. */
static void
w_date_s(struct w *w, lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, const char *s, lxw_format *fmt)
{
	date_t d;

	if (!w_ok(w))
		return;
	if (s == NULL) {
		w_chk(w, worksheet_write_blank(ws, r, c, fmt), "write_blank", r, c);
		return;
	}
	if (rd_parse_date(s, "date column", &d) != PERR_OK) {
		w_fail(w, PERR_DB);
		return;
	}
	w_date(w, ws, r, c, d, fmt);
}

/* A "YYYY-MM-DD HH:MM:SS" value (already in the configured time zone); NULL = blank. */
static void
w_ts_s(struct w *w, lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, const char *s, lxw_format *fmt)
{
	lxw_datetime dt;
	int y, mo, d, h, mi, sec, n = 0;

	if (!w_ok(w))
		return;
	if (s == NULL) {
		w_chk(w, worksheet_write_blank(ws, r, c, fmt), "write_blank", r, c);
		return;
	}
	if (strlen(s) != 19 || sscanf(s, "%4d-%2d-%2d %2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
	    n != 19 || !date_valid(y, mo, d) || h > 23 || mi > 59 || sec > 59) {
		w_fail(w, perr_set(PERR_DB, "report: expected a timestamp YYYY-MM-DD HH:MM:SS, got \"%s\"", s));
		return;
	}
	memset(&dt, 0, sizeof(dt));
	dt.year = y;
	dt.month = mo;
	dt.day = d;
	dt.hour = h;
	dt.min = mi;
	dt.sec = sec;
	w_chk(w, worksheet_write_datetime(ws, r, c, &dt, fmt), "write_datetime", r, c);
}

/* ---------------------------------------------------------------- formats */

static lxw_format *
fmt_new(struct w *w)
{
	lxw_format *f = workbook_add_format(w->wb);

	if (f == NULL)
		w_fail(w, perr_set(PERR_REPORT, "report: libxlsxwriter could not add a format"));
	return f;
}

static void
fset_init(struct w *w, struct fset *fs, uint32_t bg, bool bold)
{
	static const char *const amount_fmt[MAX_EXP + 1] = {
		"#,##0;[Red]-#,##0",
		"#,##0.0;[Red]-#,##0.0",
		"#,##0.00;[Red]-#,##0.00",
		"#,##0.000;[Red]-#,##0.000",
		"#,##0.0000;[Red]-#,##0.0000",
	};
	lxw_format **all[6 + MAX_EXP + 1];
	int n = 0;

	all[n++] = &fs->text;
	all[n++] = &fs->wrap;
	all[n++] = &fs->date;
	all[n++] = &fs->datetime;
	all[n++] = &fs->num;
	all[n++] = &fs->pct;
	for (int e = 0; e <= MAX_EXP; e++)
		all[n++] = &fs->amount[e];
	for (int i = 0; i < n; i++) {
		*all[i] = fmt_new(w);
		if (*all[i] == NULL)
			return;
		format_set_font_size(*all[i], 10);
		format_set_align(*all[i], LXW_ALIGN_VERTICAL_TOP);
		if (bg != 0)
			format_set_bg_color(*all[i], bg);
		if (bold) {
			format_set_bold(*all[i]);
			format_set_top(*all[i], LXW_BORDER_THIN);
		}
	}
	format_set_text_wrap(fs->wrap);
	format_set_num_format(fs->date, "yyyy-mm-dd");
	format_set_num_format(fs->datetime, "yyyy-mm-dd hh:mm:ss");
	format_set_num_format(fs->num, "#,##0");
	format_set_num_format(fs->pct, "0.0%");
	for (int e = 0; e <= MAX_EXP; e++)
		format_set_num_format(fs->amount[e], amount_fmt[e]);
}

static void
fmts_init(struct w *w)
{
	struct fmts *f = &w->f;

	fset_init(w, &f->plain, 0, false);
	fset_init(w, &f->hl, 0xFFF2CC, false);      /* pale yellow: opened today */
	fset_init(w, &f->total, 0xF2F2F2, true);
	if ((f->title = fmt_new(w)) == NULL || (f->subtitle = fmt_new(w)) == NULL ||
	    (f->section = fmt_new(w)) == NULL || (f->header = fmt_new(w)) == NULL ||
	    (f->label = fmt_new(w)) == NULL || (f->note = fmt_new(w)) == NULL ||
	    (f->mono = fmt_new(w)) == NULL || (f->green = fmt_new(w)) == NULL ||
	    (f->amber = fmt_new(w)) == NULL || (f->red = fmt_new(w)) == NULL ||
	    (f->meta_date = fmt_new(w)) == NULL || (f->meta_datetime = fmt_new(w)) == NULL ||
	    (f->meta_int = fmt_new(w)) == NULL || (f->unlocked = fmt_new(w)) == NULL)
		return;
	format_set_unlocked(f->unlocked);
	format_set_text_wrap(f->unlocked);
	format_set_font_size(f->unlocked, 10);
	format_set_align(f->unlocked, LXW_ALIGN_VERTICAL_TOP);
	format_set_bg_color(f->unlocked, 0xEBF1DE);     /* pale green: yours to write in */
	format_set_num_format(f->meta_date, "yyyy-mm-dd");
	format_set_num_format(f->meta_datetime, "yyyy-mm-dd hh:mm:ss");
	format_set_num_format(f->meta_int, "0");
	format_set_align(f->meta_date, LXW_ALIGN_LEFT);
	format_set_align(f->meta_datetime, LXW_ALIGN_LEFT);
	format_set_align(f->meta_int, LXW_ALIGN_LEFT);
	format_set_font_size(f->meta_date, 10);
	format_set_font_size(f->meta_datetime, 10);
	format_set_font_size(f->meta_int, 10);
	format_set_bold(f->title);
	format_set_font_size(f->title, 14);
	format_set_font_color(f->title, 0x1F3864);
	format_set_font_size(f->subtitle, 10);
	format_set_font_color(f->subtitle, 0x595959);
	format_set_bold(f->section);
	format_set_font_size(f->section, 11);
	format_set_font_color(f->section, 0x1F3864);
	format_set_bottom(f->section, LXW_BORDER_MEDIUM);
	format_set_bottom_color(f->section, 0x1F3864);
	format_set_bold(f->header);
	format_set_font_size(f->header, 10);
	format_set_font_color(f->header, 0xFFFFFF);
	format_set_bg_color(f->header, 0x1F3864);
	format_set_text_wrap(f->header);
	format_set_align(f->header, LXW_ALIGN_VERTICAL_CENTER);
	format_set_border(f->header, LXW_BORDER_THIN);
	format_set_border_color(f->header, 0xBFBFBF);
	format_set_bold(f->label);
	format_set_font_size(f->label, 10);
	format_set_italic(f->note);
	format_set_font_size(f->note, 9);
	format_set_font_color(f->note, 0x595959);
	format_set_font_name(f->mono, "Consolas");
	format_set_font_size(f->mono, 8);
	format_set_bold(f->green);
	format_set_bg_color(f->green, 0xC6EFCE);
	format_set_font_color(f->green, 0x006100);
	format_set_align(f->green, LXW_ALIGN_CENTER);
	format_set_bold(f->amber);
	format_set_bg_color(f->amber, 0xFFEB9C);
	format_set_font_color(f->amber, 0x9C5700);
	format_set_align(f->amber, LXW_ALIGN_CENTER);
	format_set_bold(f->red);
	format_set_bg_color(f->red, 0xFFC7CE);
	format_set_font_color(f->red, 0x9C0006);
	format_set_align(f->red, LXW_ALIGN_CENTER);
}

/* ---------------------------------------------------------------- sheets */

/* Header/footer text: '&' is a control character there. */
static char *
hf_escape(const char *s)
{
	size_t n = 0;
	char *out, *p;

	for (const char *q = s; *q; q++)
		n += (*q == '&') ? 2 : 1;
	out = xmalloc(n + 1);
	p = out;
	for (const char *q = s; *q; q++) {
		if (*q == '&')
			*p++ = '&';
		*p++ = *q;
	}
	*p = '\0';
	return out;
}

/* Page setup, protection and the header/footer every sheet shares. */
static void
sheet_setup(struct rep *r, lxw_worksheet *ws, bool repeat_header)
{
	struct w *w = &r->w;
	lxw_protection prot;
	char *company = hf_escape(r->cfg->company != NULL ? r->cfg->company : "");
	char *hdr = xasprintf("&L&8%s&R&8Reconciliation %s", company, r->ctx->date_iso);

	worksheet_set_landscape(ws);
	worksheet_set_paper(ws, 9);                 /* A4 */
	worksheet_fit_to_pages(ws, 1, 0);
	worksheet_set_margins(ws, 0.4, 0.4, 0.6, 0.6);
	worksheet_set_zoom(ws, 90);
	w_chk(w, worksheet_set_header(ws, hdr), "set_header", 0, 0);
	w_chk(w, worksheet_set_footer(ws, "&L&8&A&R&8Page &P of &N"), "set_footer", 0, 0);
	if (repeat_header)
		w_chk(w, worksheet_repeat_rows(ws, 0, 1), "repeat_rows", 0, 0);
	/* Protected against accidental edits, no password; filtering and resizing stay allowed. */
	memset(&prot, 0, sizeof(prot));
	prot.autofilter = 1;
	prot.sort = 1;
	prot.format_columns = 1;
	prot.format_rows = 1;
	worksheet_protect(ws, NULL, &prot);
	free(hdr);
	free(company);
}

static lxw_worksheet *
sheet_add(struct rep *r, const char *name)
{
	lxw_worksheet *ws;

	if (!w_ok(&r->w))
		return NULL;
	ws = workbook_add_worksheet(r->w.wb, name);
	if (ws == NULL)
		w_fail(&r->w, perr_set(PERR_REPORT, "report: libxlsxwriter could not add sheet \"%s\"", name));
	return ws;
}

/* Plans how many sheets `nrows` data rows need under the configured row limit. */
static enum perr
ts_plan(struct rep *r, struct tsheet *ts, const char *base, const struct col *cols, int ncols,
    int64_t nrows)
{
	int64_t n;

	memset(ts, 0, sizeof(*ts));
	ts->base = base;
	ts->cols = cols;
	ts->ncols = ncols;
	ts->nrows = nrows;
	ts->per_sheet = r->cfg->sheet_row_limit - FIRST_DATA_ROW;
	if (ts->per_sheet < 1)
		return perr_set(PERR_CONFIG, "%s: [report] sheet_row_limit %ld leaves no room for data "
		    "(the title and header rows take %d)", r->cfg->path, r->cfg->sheet_row_limit, FIRST_DATA_ROW);
	n = nrows == 0 ? 1 : (nrows + ts->per_sheet - 1) / ts->per_sheet;
	if (n > MAX_SHEETS_PER_TABLE)
		return perr_set(PERR_REPORT, "report: sheet %s would need %lld sheets of %lld rows "
		    "(raise [report] sheet_row_limit)", base, (long long)n, (long long)ts->per_sheet);
	ts->nsheets = (int)n;
	ts->ws = xcalloc((size_t)n, sizeof(*ts->ws));
	ts->row = FIRST_DATA_ROW;
	return PERR_OK;
}

/* Adds the table's sheets (in workbook order) and writes their title and header rows. */
static void
ts_add(struct rep *r, struct tsheet *ts, const char *title)
{
	struct w *w = &r->w;

	for (int i = 0; i < ts->nsheets && w_ok(w); i++) {
		char name[32];
		lxw_worksheet *ws;

		if (i == 0)
			snprintf(name, sizeof(name), "%s", ts->base);
		else
			snprintf(name, sizeof(name), "%s (%d)", ts->base, i + 1);
		if ((ws = sheet_add(r, name)) == NULL)
			return;
		ts->ws[i] = ws;
		sheet_setup(r, ws, true);
		for (int c = 0; c < ts->ncols; c++)
			w_chk(w, worksheet_set_column(ws, (lxw_col_t)c, (lxw_col_t)c, ts->cols[c].width, NULL),
			    "set_column", 0, (lxw_col_t)c);
		worksheet_freeze_panes(ws, FIRST_DATA_ROW, 0);
		if (ts->nsheets == 1) {
			w_str(w, ws, 0, 0, title, w->f.title);
		} else {
			char *t = xasprintf("%s (part %d of %d)", title, i + 1, ts->nsheets);
			w_str(w, ws, 0, 0, t, w->f.title);
			free(t);
		}
		w_chk(w, worksheet_set_row(ws, 1, 30, NULL), "set_row", 1, 0);
		for (int c = 0; c < ts->ncols; c++)
			w_str(w, ws, 1, (lxw_col_t)c, ts->cols[c].header, w->f.header);
	}
}

/* The sheet and row for the next data row, moving on to the next sheet at the limit. */
static lxw_worksheet *
ts_next(struct rep *r, struct tsheet *ts, lxw_row_t *row)
{
	if (ts->written >= ts->nrows) {
		w_fail(&r->w, perr_set(PERR_INTERNAL, "report: sheet %s: more rows than counted (%lld)",
		    ts->base, (long long)ts->nrows));
		return NULL;
	}
	if ((int64_t)(ts->row - FIRST_DATA_ROW) >= ts->per_sheet) {
		ts->cur++;
		ts->row = FIRST_DATA_ROW;
	}
	ts->written++;
	progress_bar_update(r->pb, ++r->rows_done);
	*row = ts->row++;
	return ts->ws[ts->cur];
}

/* Autofilter over each sheet's table; a note on an empty table. */
static void
ts_finish(struct rep *r, struct tsheet *ts, const char *empty_note)
{
	struct w *w = &r->w;

	if (!w_ok(w))
		return;
	if (ts->written != ts->nrows) {
		w_fail(w, perr_set(PERR_INTERNAL, "report: sheet %s: %lld rows written, %lld counted",
		    ts->base, (long long)ts->written, (long long)ts->nrows));
		return;
	}
	for (int i = 0; i < ts->nsheets; i++) {
		int64_t rows = ts->nrows - ts->per_sheet * i;
		lxw_row_t last;

		if (rows > ts->per_sheet)
			rows = ts->per_sheet;
		if (rows < 0)
			rows = 0;
		last = (lxw_row_t)(FIRST_DATA_ROW - 1 + rows);

		w_chk(w, worksheet_autofilter(ts->ws[i], 1, 0, last, (lxw_col_t)(ts->ncols - 1)),
		    "autofilter", 1, 0);
	}
	if (ts->nrows == 0 && empty_note != NULL)
		w_str(w, ts->ws[0], FIRST_DATA_ROW, 0, empty_note, w->f.note);
	r->res->rows_out += ts->written;
}

static void
ts_free(struct tsheet *ts)
{
	free(ts->ws);
	ts->ws = NULL;
}

/* ---------------------------------------------------------------- aggregates */

static struct acct *
acct_get(struct rep *r, const char *account_no)
{
	const char *a = account_no != NULL ? account_no : "";

	for (size_t i = 0; i < r->n_accts; i++)
		if (strcmp(r->accts[i].account_no, a) == 0)
			return &r->accts[i];
	if (r->n_accts == r->cap_accts) {
		r->cap_accts = r->cap_accts ? r->cap_accts * 2 : 8;
		r->accts = xrealloc(r->accts, r->cap_accts * sizeof(*r->accts));
	}
	struct acct *ac = &r->accts[r->n_accts++];
	memset(ac, 0, sizeof(*ac));
	ac->account_no = xstrdup(a);
	ac->name = xstrdup(*a ? "(not a ledger account)" : "(no account)");
	ac->purpose = xstrdup("");
	return ac;
}

static struct curtot *
cur_get(struct rep *r, const char *currency)
{
	const char *c = currency != NULL ? currency : "";

	for (size_t i = 0; i < r->n_curs; i++)
		if (strcmp(r->curs[i].currency, c) == 0)
			return &r->curs[i];
	if (r->n_curs == r->cap_curs) {
		r->cap_curs = r->cap_curs ? r->cap_curs * 2 : 4;
		r->curs = xrealloc(r->curs, r->cap_curs * sizeof(*r->curs));
	}
	struct curtot *ct = &r->curs[r->n_curs++];
	memset(ct, 0, sizeof(*ct));
	snprintf(ct->currency, sizeof(ct->currency), "%s", c);
	return ct;
}

/* Checked int64 accumulation: overflow is an error, never a wrap. */
static void
add_chk(struct rep *r, int64_t *acc, int64_t v)
{
	if (!money_add(*acc, v, acc))
		w_fail(&r->w, perr_set(PERR_MONEY_OVERFLOW, "report: a total overflows 64 bits"));
}

/* The work-list figures of an account and currency (see struct acbk), created on first use. */
static struct acbk *
acbk_get(struct rep *r, const char *account_no, const char *currency)
{
	const char *a = account_no ? account_no : "", *c = currency ? currency : "";

	for (size_t i = 0; i < r->n_bks; i++)
		if (!strcmp(r->bks[i].account_no, a) && !strcmp(r->bks[i].currency, c))
			return &r->bks[i];
	if (r->n_bks == r->cap_bks) {
		r->cap_bks = r->cap_bks ? r->cap_bks * 2 : 8;
		r->bks = xrealloc(r->bks, r->cap_bks * sizeof(*r->bks));
	}
	memset(&r->bks[r->n_bks], 0, sizeof(*r->bks));
	r->bks[r->n_bks].account_no = xstrdup(a);
	snprintf(r->bks[r->n_bks].currency, sizeof(r->bks[0].currency), "%s", c);
	return &r->bks[r->n_bks++];
}

static void
age_add(struct rep *r, const char *acct, const char *cur, int age, int64_t minor)
{
	struct acbk *b = acbk_get(r, acct, cur);
	int k = rd_age_bucket(age);

	b->age_n[k]++;
	add_chk(r, &b->age_sum[k], cur ? minor : 0);
}

static void
action_add(struct rep *r, const char *acct, int action, const char *cur, int64_t minor)
{
	struct acbk *b = acbk_get(r, acct, cur);

	b->act_n[action]++;
	add_chk(r, &b->act_sum[action], cur ? minor : 0);
}

static void
move_add(struct rep *r, const char *acct, int move, const char *cur, int64_t minor)
{
	struct acbk *b = acbk_get(r, acct, cur);

	b->mv_n[move]++;
	add_chk(r, &b->mv_sum[move], cur ? minor : 0);
}

/*
 * Whether an open ERROR exception is past its service level ([report] sla_days, sla_days.TYPE,
 * sla_large_amount / sla_large_days): older than the days its type allows, or than the large-amount
 * days when its amount (either direction) reaches the large amount of its currency.
 */
static bool
sla_past(const struct rep *r, const char *type, int age, const char *cur, int64_t minor)
{
	const struct config *cfg = r->cfg;
	int days = config_sla_days(cfg, type);

	if (cur != NULL && cfg->sla_large_currency[0] && !strcmp(cur, cfg->sla_large_currency) &&
	    minor != INT64_MIN && (minor < 0 ? -minor : minor) >= cfg->sla_large_minor && cfg->sla_large_days < days)
		days = cfg->sla_large_days;
	return age > days;
}

/* ---------------------------------------------------------------- queries */

static const char sql_accounts[] =
    "SELECT account_no, name, purpose, currency FROM bank_account "
    "ORDER BY CASE purpose WHEN 'CLIENT_MONEY' THEN 0 WHEN 'OPERATING' THEN 1 ELSE 2 END, account_no";

/* A camt.054 notification line L carries a statement entry covered by the date (docs/reconcile.md). */
#define NOTIF_COVERED(L) \
    "EXISTS (SELECT 1 FROM recon_match_notification rn JOIN recon_match cm ON cm.match_id = rn.match_id " \
    "WHERE rn.notif_line_id = " L ".line_id AND rn.carries AND cm.business_date <= $1::date)"

/*
 * Statement continuity of each account as reconcile computes it (stages/reconcile.c, "Statement continuity"):
 * the opening balance of its first PASSED statement plus the signed movements matched by the date
 * to lines of statements up to the date; and the lines of those statements not matched by the date
 * (a camt.054 notification line's only once it carries a covered statement entry).
 */
static const char sql_ledger[] =
    "WITH anchor AS (SELECT DISTINCT ON (s.account_no) s.account_no, s.currency, s.opening_minor "
    "  FROM statement s WHERE s.gate = 'PASSED' AND s.business_date <= $1::date "
    "  ORDER BY s.account_no, s.opening_date, s.statement_id) "
    "SELECT a.account_no, a.currency, a.opening_minor, "
    "  coalesce((SELECT sum(CASE c.direction WHEN 'CREDIT' THEN c.amount_minor ELSE -c.amount_minor END) "
    "    FROM recon_match m JOIN statement_line l ON l.line_id = m.line_id "
    "    JOIN statement s2 ON s2.statement_id = l.statement_id "
    "    JOIN recon_match_movement mm ON mm.match_id = m.match_id "
    "    JOIN cash_movement c ON c.movement_id = mm.movement_id "
    "   WHERE l.account_no = a.account_no AND m.business_date <= $1::date "
    "     AND s2.business_date <= $1::date "
    "     AND (s2.gate <> 'NOTIFICATION' OR " NOTIF_COVERED("l") ")), 0), "
    "  coalesce((SELECT sum(l.amount_minor) FROM statement_line l "
    "    JOIN statement s3 ON s3.statement_id = l.statement_id "
    "   WHERE l.account_no = a.account_no AND s3.business_date <= $1::date "
    "     AND (s3.gate = 'PASSED' OR (s3.gate = 'NOTIFICATION' AND " NOTIF_COVERED("l") ")) "
    "     AND NOT EXISTS (SELECT 1 FROM recon_match m WHERE m.line_id = l.line_id "
    "                      AND m.business_date <= $1::date)), 0) "
    "FROM anchor a ORDER BY a.account_no";

#define EXC_OPEN_AS_OF "opened_date <= $1::date AND (closed_date IS NULL OR closed_date > $1::date)"

static const char sql_exc_count[] = "SELECT count(*) FROM exception WHERE " EXC_OPEN_AS_OF;
/* With the owner and the latest comment of each (sql/142: found by type and subject, so reruns keep them). */
static const char sql_exc[] =
    "SELECT type, severity, account_no, item_date, amount_minor, currency, reference, statement_ref, "
    "ledger_id, opened_date, detail, exception_id, "
    "(SELECT a.assigned_to FROM exception_assignment a WHERE a.type = x.type AND a.subject = x.subject "
    "  ORDER BY a.assignment_id DESC LIMIT 1), "
    "(SELECT c.written_by || ' (' || to_char(c.written_at, 'YYYY-MM-DD') || '): ' || c.body "
    "   || CASE WHEN n.cnt > 1 THEN ' [' || n.cnt || ' comments]' ELSE '' END "
    "  FROM exception_comment c, (SELECT count(*) AS cnt FROM exception_comment c2 "
    "   WHERE c2.type = x.type AND c2.subject = x.subject) n "
    "  WHERE c.type = x.type AND c.subject = x.subject ORDER BY c.comment_id DESC LIMIT 1) "
    "FROM exception x WHERE " EXC_OPEN_AS_OF " "
    "ORDER BY CASE severity WHEN 'ERROR' THEN 0 ELSE 1 END, opened_date, type, exception_id";

static const char sql_closed_count[] = "SELECT count(*) FROM exception WHERE closed_date = $1::date";
static const char sql_closed[] =
    "SELECT exception_id, type, severity, account_no, item_date, amount_minor, currency, reference, "
    "opened_date, status, closed_by, close_note, detail FROM exception WHERE closed_date = $1::date "
    "ORDER BY exception_id";

static const char sql_matched_count[] = "SELECT count(*) FROM recon_match WHERE business_date = $1::date";
static const char sql_matched[] =
    "SELECT m.rule, l.account_no, l.value_date, l.amount_minor, l.currency, l.reference, l.bank_ref, "
    "l.customer_ref, l.narrative || CASE WHEN l.counterparty <> '' OR l.counterparty_account <> '' "
    "     THEN ' [counterparty: ' || concat_ws(', ', nullif(l.counterparty, ''), "
    "     nullif(l.counterparty_account, '')) || ']' ELSE '' END, "
    "(SELECT string_agg(mm.movement_id, ' ' ORDER BY mm.movement_id) FROM recon_match_movement mm "
    "WHERE mm.match_id = m.match_id), s.business_date, m.match_id "
    "FROM recon_match m JOIN statement_line l ON l.line_id = m.line_id "
    "JOIN statement s ON s.statement_id = l.statement_id "
    "WHERE m.business_date = $1::date ORDER BY l.account_no, l.value_date, m.match_id";

/*
 * Pending, as reconcile defines it (sql/030_reconcile.sql): expected inside [from, to] (from =
 * rd_pending_from, to = the date + window business days), not matched as of the date, and not
 * named by an AMOUNT_MISMATCH open on the date (by movement or batch id).
 */
#define PENDING_WHERE \
    "c.expected_date BETWEEN $2::date AND $3::date AND NOT EXISTS (" \
    "SELECT 1 FROM recon_match_movement mm JOIN recon_match m ON m.match_id = mm.match_id " \
    "WHERE mm.movement_id = c.movement_id AND m.business_date <= $1::date) AND NOT EXISTS (" \
    "SELECT 1 FROM exception e WHERE e.type = 'AMOUNT_MISMATCH' " \
    "AND (e.ledger_id = c.movement_id OR e.ledger_id = c.batch_id) AND e.opened_date <= $1::date " \
    "AND (e.closed_date IS NULL OR e.closed_date > $1::date))"
static const char sql_pending_count[] = "SELECT count(*) FROM cash_movement c WHERE " PENDING_WHERE;
static const char sql_pending[] =
    "SELECT c.movement_id, c.account_no, c.kind, c.direction, c.expected_date, c.amount_minor, "
    "c.currency, c.reference, c.investor_id, c.batch_id, c.origin FROM cash_movement c WHERE "
    PENDING_WHERE " ORDER BY c.account_no, c.expected_date, c.movement_id";

/* The day's transfers, those held for approval, those rejected by the bank, and those whose status
 * the bank or the statement moved by a run of the day (engine/payment_status.h). */
#define TRANSFER_WHERE \
    "t.business_date = $1::date OR (t.status IN ('AWAITING_APPROVAL', 'REJECTED') AND t.business_date <= $1::date) " \
    "OR EXISTS (SELECT 1 FROM transfer_status_event x JOIN stage_run xr ON xr.run_id = x.run_id " \
    "WHERE x.transfer_id = t.transfer_id AND xr.business_date = $1::date)"
static const char sql_transfer_count[] = "SELECT count(*) FROM transfer t WHERE " TRANSFER_WHERE;
static const char sql_transfers[] =
    "SELECT t.transfer_id, t.offering_id, t.purpose, t.from_account, t.to_account, t.amount_minor, "
    "t.currency, t.status, t.approved_by, t.payment_file, "
    "to_char(o.uploaded_at AT TIME ZONE $2, 'YYYY-MM-DD HH24:MI:SS'), t.business_date, "
    "(SELECT concat_ws(' ', b.bank_status, nullif(b.reason_code, ''), nullif(b.reason_text, '')) "
    "FROM transfer_status_event b WHERE b.transfer_id = t.transfer_id AND b.source = 'PAIN002' "
    "ORDER BY b.event_id DESC LIMIT 1), "
    "to_char(ev.status_time AT TIME ZONE $2, 'YYYY-MM-DD HH24:MI:SS'), "
    "CASE ev.source WHEN 'PAIN002' THEN ev.remote_name WHEN 'STATEMENT' THEN 'statement line ' || "
    "ev.statement_line_id ELSE '' END "
    "FROM transfer t LEFT JOIN outbound_file o ON o.file_name = t.payment_file "
    "LEFT JOIN LATERAL (SELECT e.status_time, e.source, "
    "f.remote_name, e.statement_line_id FROM transfer_status_event e "
    "LEFT JOIN fetched_file f ON f.file_id = e.source_file WHERE e.transfer_id = t.transfer_id "
    "ORDER BY e.event_id DESC LIMIT 1) ev ON true WHERE "
    TRANSFER_WHERE " ORDER BY t.business_date, t.offering_id, t.purpose";

/* Rows of the allocation block besides one per offering: gap, title, header, gap, rule lines, note. */
#define ALLOC_BLOCK_EXTRA 10
static const char sql_alloc_count[] =
    "SELECT count(*) FROM offering_settlement WHERE business_date = $1::date";
static const char sql_alloc[] =
    "SELECT s.offering_id, o.name, s.outcome, s.requested_units, s.allocated_units, s.gross_minor, "
    "s.proceeds_minor, s.fee_minor, s.refunded_minor, o.currency, o.fee_bps, o.units_offered, "
    "o.unit_price_minor FROM offering_settlement s JOIN offering o ON o.offering_id = s.offering_id "
    "WHERE s.business_date = $1::date ORDER BY s.offering_id";

static const char sql_issuance_count[] = "SELECT count(*) FROM issuance WHERE business_date = $1::date";
static const char sql_issuance[] =
    "SELECT i.issuance_id, i.offering_id, i.investor_id, v.name, i.units, i.unit_price_minor, "
    "i.amount_minor, i.currency, i.settlement_date, i.issuance_file "
    "FROM issuance i LEFT JOIN investor v ON v.investor_id = i.investor_id "
    "WHERE i.business_date = $1::date ORDER BY i.offering_id, i.investor_id";

#define STMT_FROM \
    "FROM fetched_file f LEFT JOIN file_load fl ON fl.file_id = f.file_id " \
    "LEFT JOIN statement s ON s.file_id = f.file_id " \
    "LEFT JOIN statement_pending sp ON sp.statement_id = s.statement_id " \
    "LEFT JOIN trustee_register tr ON tr.file_id = f.file_id " \
    "LEFT JOIN file_choice fc ON fc.file_id = f.file_id WHERE f.business_date = $1::date"
static const char sql_stmt_count[] = "SELECT count(*) " STMT_FROM;
static const char sql_stmts[] =
    "SELECT f.source, f.remote_name, f.sha256, s.account_no, "
    "s.statement_no || CASE WHEN s.sequence_no <> '' THEN '/' || s.sequence_no ELSE '' END, "
    "s.currency, s.opening_date, s.opening_minor, s.closing_date, s.closing_minor, "
    "CASE WHEN s.statement_id IS NOT NULL THEN s.line_count "
    "     WHEN tr.register_id IS NOT NULL THEN (SELECT count(*) FROM trustee_holding h "
    "          WHERE h.register_id = tr.register_id) END, "
    "CASE WHEN s.statement_id IS NOT NULL THEN s.gate WHEN tr.register_id IS NOT NULL THEN 'REGISTER' "
    "     WHEN fl.status IS NOT NULL THEN fl.status "
    "     WHEN fc.acceptance_id IS NOT NULL AND NOT fc.of_record AND fc.ever_record THEN 'SUPERSEDED' "
    "     WHEN f.status = 'NEW' THEN 'NOT LOADED' "
    "     ELSE f.status END, "
    "CASE WHEN fc.acceptance_id IS NOT NULL AND fc.of_record THEN 'accepted copy (supersedes file ' "
    "          || fc.superseded_file_id || '), accepted by ' || fc.accepted_by || ': ' || fc.note "
    "          || coalesce('; ' || fl.reason, '') "
    "     WHEN fc.acceptance_id IS NOT NULL AND NOT fc.of_record AND fc.ever_record THEN 'superseded by file ' "
    "          || fc.accepted_file_id || ', accepted by ' || fc.accepted_by || ': ' || fc.note "
    "     WHEN fl.reason IS NOT NULL THEN fl.reason "
    "     WHEN tr.register_id IS NOT NULL THEN 'unit register as of ' || tr.as_of_date "
    "     WHEN f.status = 'DUPLICATE' THEN 'same content as fetched file ' || f.duplicate_of "
    "     WHEN f.status = 'CONFLICT' THEN 'same name as an earlier file with different content' "
    "     WHEN cardinality(fl.deviations) > 0 THEN "
    "          'not standard MT940, tolerated: ' || array_to_string(fl.deviations, '; ') "
    "     WHEN sp.pending_count > 0 THEN sp.pending_count || ' pending entries (PDNG) not booked: ' || s.currency "
    "          || ' ' || (SELECT round(sp.pending_minor / power(10::numeric, cu.exponent), cu.exponent) "
    "                     FROM currency cu WHERE cu.code = s.currency) "
    "     ELSE '' END "
    STMT_FROM " ORDER BY f.source, f.remote_name, f.file_id, s.opening_date, s.closing_date, "
    "s.statement_no, s.sequence_no, s.statement_id";

/* The latest run of each stage before the report, in the nightly's order. */
static const char sql_stages[] =
    "SELECT stage, state, run_id, to_char(started_at AT TIME ZONE $2, 'YYYY-MM-DD HH24:MI:SS'), "
    "to_char(finished_at AT TIME ZONE $2, 'YYYY-MM-DD HH24:MI:SS'), rows_in, rows_out, exceptions, "
    "operator, config_digest FROM (SELECT DISTINCT ON (stage) * FROM stage_run "
    "WHERE business_date = $1::date AND stage <> 'report' ORDER BY stage, run_id DESC) s "
    "ORDER BY array_position(ARRAY['fetch', 'normalize', 'reconcile', 'settle'], stage)";

static const char sql_inputs[] =
    "SELECT source, remote_name, status, size_bytes, "
    "to_char(fetched_at AT TIME ZONE $2, 'YYYY-MM-DD HH24:MI:SS'), sha256 "
    "FROM fetched_file WHERE business_date = $1::date ORDER BY source, remote_name, file_id";

/* ---------------------------------------------------------------- Exceptions */

/* An exception with an amount but no currency (a stage's slip): shown, as text, never guessed. */
static const char *
amount_without_currency(int64_t minor, char buf[64])
{
	snprintf(buf, 64, "%lld minor units (no currency)", (long long)minor);
	return buf;
}

/* The exception id first (what `pipeline resolve` takes); Detail wraps in a fixed width for print. */
/*
 * Owner and Last Comment come from `pipeline assign` and `pipeline comment`; Team Notes is left
 * unlocked on the protected sheet for the team's own notes on their copy (never read back).
 */
static const struct col exc_cols[] = {
	{ "ID", 7 }, { "Type", 21 }, { "Severity", 8 }, { "Account", 11 }, { "Direction", 8 },
	{ "Amount", 13 }, { "Currency", 8 }, { "Date", 10 }, { "Age (days)", 7 }, { "Reference", 13 },
	{ "Statement Ref", 14 }, { "Ledger ID", 14 }, { "Owner", 10 }, { "Last Comment", 22 }, { "Detail", 40 },
	{ "Team Notes", 18 },
};
#define EXC_NCOLS ((int)(sizeof(exc_cols) / sizeof(exc_cols[0])))

static enum perr
sheet_exceptions(struct rep *r, struct tsheet *ts)
{
	struct w *w = &r->w;
	struct rd_cursor c;
	enum perr e;
	bool has;
	date_t d = r->ctx->date;

	for (int i = 0; i < ts->nsheets && w_ok(w); i++)       /* Team Notes: editable, also below the rows */
		w_chk(w, worksheet_set_column(ts->ws[i], EXC_NCOLS - 1, EXC_NCOLS - 1, exc_cols[EXC_NCOLS - 1].width,
		    w->f.unlocked), "set_column", 0, EXC_NCOLS - 1);
	if ((e = rd_open(&c, r->ctx->db, "rep_exc", sql_exc, 1, r->params1)) != PERR_OK)
		return e;
	while (w_ok(w) && (e = rd_next(&c, &has)) == PERR_OK && has) {
		const char *type = rd_val(&c, 0), *sev = rd_val(&c, 1), *acct = rd_val(&c, 2);
		const char *amount = rd_val(&c, 4), *cur = rd_val(&c, 5);
		date_t opened;
		int64_t minor = 0, id;
		int ti, age;
		lxw_row_t row;
		lxw_worksheet *ws;
		const struct fset *fs;
		struct acct *ac;
		char amtbuf[64];

		if ((e = rd_parse_date(rd_val(&c, 9), "exception.opened_date", &opened)) != PERR_OK)
			break;
		if (amount != NULL && (e = rd_parse_i64(amount, "exception.amount_minor", &minor)) != PERR_OK)
			break;
		if ((e = rd_parse_i64(rd_val(&c, 11), "exception.exception_id", &id)) != PERR_OK)
			break;
		if ((ti = rd_type_index(type)) < 0) {
			e = perr_set(PERR_DB, "report: exception %s has an unknown type \"%s\"", rd_val(&c, 11), type);
			break;
		}
		age = calendar_business_days_between(&r->cfg->calendar, opened, d);
		fs = opened == d ? &w->f.hl : &w->f.plain;
		if ((ws = ts_next(r, ts, &row)) == NULL)
			break;
		{
			const char *t[2] = { rd_val(&c, 10), rd_val(&c, 13) };
			const double wd[2] = { exc_cols[14].width, exc_cols[13].width };

			w_row_lines(w, ws, row, t, wd, 2);
		}
		w_int(w, ws, row, 0, id, fs->text);
		w_str(w, ws, row, 1, type, fs->text);
		w_str(w, ws, row, 2, sev, fs->text);
		w_str(w, ws, row, 3, acct, fs->text);
		w_str(w, ws, row, 4, amount == NULL ? NULL : minor < 0 ? "debit" : "credit", fs->text);
		if (amount != NULL && cur != NULL)
			w_minor(w, ws, row, 5, minor, w_exp(w, cur), fs);
		else if (amount != NULL)
			w_str(w, ws, row, 5, amount_without_currency(minor, amtbuf), fs->text);
		else
			w_str(w, ws, row, 5, NULL, fs->text);
		w_str(w, ws, row, 6, cur, fs->text);
		w_date_s(w, ws, row, 7, rd_val(&c, 3), fs->date);
		w_int(w, ws, row, 8, age, fs->num);
		w_str(w, ws, row, 9, rd_val(&c, 6), fs->text);
		w_str(w, ws, row, 10, rd_val(&c, 7), fs->text);
		w_str(w, ws, row, 11, rd_val(&c, 8), fs->text);
		w_str(w, ws, row, 12, rd_val(&c, 12), fs->text);
		w_str(w, ws, row, 13, rd_val(&c, 13), fs->wrap);
		w_str(w, ws, row, 14, rd_val(&c, 10), fs->wrap);
		w_str(w, ws, row, 15, NULL, w->f.unlocked);
		cur = amount != NULL ? cur : NULL;
		age_add(r, acct, cur, age, minor);
		move_add(r, acct, opened == d ? MOVE_OPENED : MOVE_CARRIED, cur, minor);
		if (opened == d && !strcmp(sev, "ERROR"))
			action_add(r, acct, ACTION_NEW_ERROR, cur, minor);
		else if (!strcmp(sev, "ERROR") && sla_past(r, type, age, cur, minor))
			action_add(r, acct, ACTION_PAST_SLA, cur, minor);

		ac = acct_get(r, acct);
		ac->by_type[ti]++;
		r->type_bucket[ti][rd_age_bucket(age)]++;
		if (strcmp(sev, "ERROR") == 0) {
			ac->open_err++;
			r->type_err[ti]++;
			r->open_err++;
		} else {
			ac->open_warn++;
			r->type_warn[ti]++;
			r->open_warn++;
		}
		if (opened == d)
			r->new_today++;
	}
	r->res->rows_in += c.rows_read;
	rd_close(&c);
	if (e != PERR_OK)
		return e;
	ts_finish(r, ts, "No open exceptions at the end of this business date.");
	return PERR_OK;
}

/* ---------------------------------------------------------------- Bank Reconciliation */

/*
 * One block per bank account: the standard bank reconciliation statement reconcile stored for the
 * date (bank_rec, sql/140_bank_rec.sql), its reconciling items with a subtotal per kind that equals
 * the statement's figure, and the prepared-by / reviewed-by lines (recon_signoff, `pipeline
 * signoff`). A page break before each block after the first: one printed page per account.
 */
static const char sql_bank_rec[] =
    "SELECT b.account_no, a.name, b.purpose, b.currency, b.status, coalesce(s.statement_no, ''), "
    "b.bank_closing, b.in_transit, b.outstanding, b.bank_not_books, b.adjusted_bank, b.book_balance, "
    "b.difference FROM bank_rec b JOIN bank_account a ON a.account_no = b.account_no "
    "LEFT JOIN statement s ON s.statement_id = b.statement_id WHERE b.business_date = $1::date "
    "ORDER BY CASE b.purpose WHEN 'CLIENT_MONEY' THEN 0 WHEN 'OPERATING' THEN 1 ELSE 2 END, b.account_no";
static const char sql_bank_rec_items[] =
    "SELECT kind, item, exception_id, item_date, age_days, reference, "
    "CASE kind WHEN 'OUTSTANDING_PAYMENT' THEN -amount_minor ELSE amount_minor END "
    "FROM bank_rec_item WHERE business_date = $1::date AND account_no = $2 "
    "ORDER BY CASE kind WHEN 'DEPOSIT_IN_TRANSIT' THEN 0 WHEN 'OUTSTANDING_PAYMENT' THEN 1 ELSE 2 END, "
    "item_date, item";
static const char sql_signoff[] =
    "SELECT r.role, s.signed_by, to_char(s.signed_at AT TIME ZONE $2, 'YYYY-MM-DD HH24:MI') "
    "FROM unnest(ARRAY['prepared', 'reviewed']) WITH ORDINALITY AS r(role, ord) "
    "LEFT JOIN LATERAL (SELECT * FROM recon_signoff x WHERE x.business_date = $1::date AND x.role = r.role "
    "ORDER BY signoff_id DESC LIMIT 1) s ON true ORDER BY r.ord";

#define REC_KINDS 3
static const char *const rec_kind_names[REC_KINDS] = {
	"DEPOSIT_IN_TRANSIT", "OUTSTANDING_PAYMENT", "BANK_NOT_IN_BOOKS",
};
static const char *const rec_kind_labels[REC_KINDS] = {
	"Add: deposits in transit", "Less: outstanding payments",
	"Less: bank items not in the books (net, credits +)",
};
static const char *const rec_kind_short[REC_KINDS] = {
	"Deposit in transit", "Outstanding payment", "Bank item not in the books",
};
static const char *const rec_kind_total[REC_KINDS] = {
	"deposits in transit", "outstanding payments", "bank items not in the books (net)",
};
static const struct col rec_cols[] = {
	{ "Kind", 44 }, { "Item", 24 }, { "Exception ID", 12 }, { "Date", 11 }, { "Age (days)", 10 },
	{ "Reference", 22 }, { "Amount", 17 },
};
#define REC_NCOLS ((int)(sizeof(rec_cols) / sizeof(rec_cols[0])))
#define REC_AMOUNT_COL 6

/* The prepared-by / reviewed-by lines: names and times signed, or blank lines to sign on paper. */
struct rec_sign {
	char line[2][160];
};

static enum perr
rec_signoff_load(struct rep *r, struct rec_sign *sg)
{
	const char *p[2] = { r->ctx->date_iso, r->cfg->timezone };
	struct rd_cursor c;
	enum perr e;
	bool has;
	int i = 0;

	if ((e = rd_open(&c, r->ctx->db, "rep_signoff", sql_signoff, 2, p)) != PERR_OK)
		return e;
	while ((e = rd_next(&c, &has)) == PERR_OK && has && i < 2) {
		const char *who = rd_val(&c, 1), *label = i == 0 ? "Prepared by" : "Reviewed by";

		if (who != NULL)
			snprintf(sg->line[i], sizeof(sg->line[i]), "%s: %s on %s (%s)", label, who, rd_val(&c, 2),
			    r->cfg->timezone);
		else
			snprintf(sg->line[i], sizeof(sg->line[i]), "%s: ______________________   Date: ____________",
			    label);
		i++;
	}
	r->res->rows_in += c.rows_read;
	rd_close(&c);
	return e;
}

/* Statement line: label in column A, amount (or a note) in the amount column. */
static void
rec_line(struct rep *r, lxw_worksheet *ws, lxw_row_t row, const char *label, const char *v, int exp,
    const struct fset *fs, const char *missing)
{
	struct w *w = &r->w;
	int64_t minor;

	w_str(w, ws, row, 0, label, fs == &w->f.total ? fs->text : w->f.label);
	if (v == NULL)
		w_str(w, ws, row, REC_AMOUNT_COL, missing, w->f.note);
	else if (rd_parse_i64(v, "bank_rec amount", &minor) == PERR_OK)
		w_minor(w, ws, row, REC_AMOUNT_COL, minor, exp, fs);
	else
		w_fail(w, PERR_DB);
}

/* The items of one account, each kind followed by its subtotal; returns the row after them. */
static enum perr
rec_items(struct rep *r, lxw_worksheet *ws, lxw_row_t *row, const char *acct, int exp)
{
	struct w *w = &r->w;
	const char *p[2] = { r->ctx->date_iso, acct };
	struct rd_cursor c;
	int64_t sum[REC_KINDS] = { 0 }, n[REC_KINDS] = { 0 };
	enum perr e;
	bool has;
	char buf[128];

	for (int k = 0; k < REC_NCOLS; k++)
		w_str(w, ws, *row, (lxw_col_t)k, rec_cols[k].header, w->f.header);
	(*row)++;
	if ((e = rd_open(&c, r->ctx->db, "rep_rec_items", sql_bank_rec_items, 2, p)) != PERR_OK)
		return e;
	while (w_ok(w) && (e = rd_next(&c, &has)) == PERR_OK && has) {
		int64_t minor, age;
		int k;

		for (k = 0; k < REC_KINDS && strcmp(rec_kind_names[k], rd_val(&c, 0)) != 0; k++)
			;
		if (k == REC_KINDS || (e = rd_parse_i64(rd_val(&c, 6), "bank_rec_item.amount_minor", &minor)) ||
		    (e = rd_parse_i64(rd_val(&c, 4), "bank_rec_item.age_days", &age))) {
			e = e ? e : perr_set(PERR_DB, "report: unknown reconciling item kind \"%s\"", rd_val(&c, 0));
			break;
		}
		w_str(w, ws, *row, 0, rec_kind_short[k], w->f.plain.text);
		w_str(w, ws, *row, 1, rd_val(&c, 1), w->f.plain.text);
		if (rd_val(&c, 2) != NULL && rd_parse_i64(rd_val(&c, 2), "exception id", &age) == PERR_OK)
			w_int(w, ws, *row, 2, age, w->f.meta_int);
		if ((e = rd_parse_i64(rd_val(&c, 4), "bank_rec_item.age_days", &age)) != PERR_OK)
			break;
		w_date_s(w, ws, *row, 3, rd_val(&c, 3), w->f.plain.date);
		w_int(w, ws, *row, 4, age, w->f.plain.num);
		w_str(w, ws, *row, 5, rd_val(&c, 5), w->f.plain.text);
		w_minor(w, ws, *row, REC_AMOUNT_COL, minor, exp, &w->f.plain);
		add_chk(r, &sum[k], minor);
		n[k]++;
		(*row)++;
	}
	r->res->rows_in += c.rows_read;
	rd_close(&c);
	if (e != PERR_OK)
		return e;
	for (int k = 0; k < REC_KINDS; k++) {
		snprintf(buf, sizeof(buf), "Total %s (%lld item%s)", rec_kind_total[k], (long long)n[k],
		    n[k] == 1 ? "" : "s");
		w_str(w, ws, *row, 0, buf, w->f.total.text);
		for (int j = 1; j < REC_AMOUNT_COL; j++)
			w_str(w, ws, *row, (lxw_col_t)j, NULL, w->f.total.text);
		w_minor(w, ws, *row, REC_AMOUNT_COL, sum[k], exp, &w->f.total);
		(*row)++;
	}
	return PERR_OK;
}

/* The statement of one account (the current row of `c`, sql_bank_rec), from *row on. */
static enum perr
rec_block(struct rep *r, lxw_worksheet *ws, lxw_row_t *row, struct rd_cursor *c, const struct rec_sign *sg)
{
	struct w *w = &r->w;
	const char *acct = rd_val(c, 0), *status = rd_val(c, 4), *cur = rd_val(c, 3);
	int exp = w_exp(w, cur);
	bool no_stmt = !strcmp(status, "NO_STATEMENT");
	char buf[256];
	enum perr e;

	snprintf(buf, sizeof(buf), "Bank reconciliation: %s %s (%s, %s)", acct, rd_val(c, 1), rd_val(c, 2), cur);
	w_str(w, ws, (*row)++, 0, buf, w->f.section);
	snprintf(buf, sizeof(buf), "Business date %s; bank statement %s; status %s", r->ctx->date_iso,
	    no_stmt ? "none" : rd_val(c, 5), status);
	w_str(w, ws, (*row)++, 0, buf, w->f.note);
	if (no_stmt) {
		w_str(w, ws, (*row)++, 0, "No loaded (PASSED) bank statement for this date: the account cannot be "
		    "reconciled today (STATEMENT_MISSING on the Exceptions sheet).", w->f.note);
	} else {
		rec_line(r, ws, (*row)++, "Balance per bank (closing balance)", rd_val(c, 6), exp, &w->f.plain, NULL);
		rec_line(r, ws, (*row)++, rec_kind_labels[0], rd_val(c, 7), exp, &w->f.plain, NULL);
		rec_line(r, ws, (*row)++, rec_kind_labels[1], rd_val(c, 8), exp, &w->f.plain, NULL);
		rec_line(r, ws, (*row)++, rec_kind_labels[2], rd_val(c, 9), exp, &w->f.plain, NULL);
		rec_line(r, ws, (*row)++, "Adjusted bank balance", rd_val(c, 10), exp, &w->f.total, NULL);
		rec_line(r, ws, (*row)++, "Book balance (general ledger)", rd_val(c, 11), exp, &w->f.plain,
		    "no book balance");
		rec_line(r, ws, (*row)++, "Difference (adjusted bank - book)", rd_val(c, 12), exp, &w->f.total,
		    "no book balance");
		if (!strcmp(status, "BREAK"))
			w_str(w, ws, *row - 1, 1, "BOOK_BALANCE_BREAK", w->f.red);
		else if (!strcmp(status, "AGREED"))
			w_str(w, ws, *row - 1, 1, "AGREED", w->f.green);
		else
			w_str(w, ws, *row - 1, 1, "no book balance in the ledger extract", w->f.amber);
		(*row)++;
		if ((e = rec_items(r, ws, row, acct, exp)) != PERR_OK)
			return e;
	}
	(*row)++;
	w_str(w, ws, (*row)++, 0, sg->line[0], w->f.plain.text);
	(*row)++;
	w_str(w, ws, (*row)++, 0, sg->line[1], w->f.plain.text);
	return PERR_OK;
}

static enum perr
sheet_bank_rec(struct rep *r, lxw_worksheet *ws)
{
	struct w *w = &r->w;
	struct rd_cursor c;
	struct rec_sign sg;
	lxw_row_t row = 0, breaks[64];
	size_t nb = 0;
	enum perr e;
	bool has;
	char buf[160];

	memset(&sg, 0, sizeof(sg));
	if (ws == NULL)
		return PERR_OK;
	sheet_setup(r, ws, false);
	for (int k = 0; k < REC_NCOLS; k++)
		w_chk(w, worksheet_set_column(ws, (lxw_col_t)k, (lxw_col_t)k, rec_cols[k].width, NULL), "set_column", 0,
		    (lxw_col_t)k);
	if ((e = rec_signoff_load(r, &sg)) != PERR_OK)
		return e;
	snprintf(buf, sizeof(buf), "Bank reconciliation statements for business date %s", r->ctx->date_iso);
	w_str(w, ws, row++, 0, buf, w->f.title);
	w_str(w, ws, row++, 0, "Per account: balance per bank + deposits in transit - outstanding payments - bank items "
	    "not in the books = adjusted bank balance, against the ledger's book balance. Amounts in the account's "
	    "currency; accounts are never added together.", w->f.note);
	row++;
	if ((e = rd_open(&c, r->ctx->db, "rep_bank_rec", sql_bank_rec, 1, r->params1)) != PERR_OK)
		return e;
	while (w_ok(w) && (e = rd_next(&c, &has)) == PERR_OK && has) {
		if (row > 3 && nb + 1 < sizeof(breaks) / sizeof(breaks[0]))
			breaks[nb++] = row;
		if ((e = rec_block(r, ws, &row, &c, &sg)) != PERR_OK)
			break;
		row++;
	}
	r->res->rows_in += c.rows_read;
	if (c.rows_read == 0 && e == PERR_OK)
		w_str(w, ws, row++, 0, "Reconcile has not run for this business date: no statement to show.", w->f.note);
	rd_close(&c);
	if (e != PERR_OK)
		return e;
	if (nb > 0) {
		breaks[nb] = 0;
		w_chk(w, worksheet_set_h_pagebreaks(ws, breaks), "set_h_pagebreaks", 0, 0);
	}
	return PERR_OK;
}

/* ---------------------------------------------------------------- Closed Today */

static const struct col closed_cols[] = {
	{ "ID", 8 }, { "Type", 26 }, { "Severity", 9 }, { "Account", 13 }, { "Date", 11 },
	{ "Amount", 15 }, { "Currency", 9 }, { "Reference", 20 }, { "Opened", 11 },
	{ "Status", 10 }, { "Closed By", 22 }, { "Note", 24 }, { "Detail", 40 },
};

static enum perr
sheet_closed(struct rep *r, struct tsheet *ts)
{
	struct w *w = &r->w;
	const struct fset *fs = &w->f.plain;
	struct rd_cursor c;
	enum perr e;
	bool has;

	if ((e = rd_open(&c, r->ctx->db, "rep_closed", sql_closed, 1, r->params1)) != PERR_OK)
		return e;
	while (w_ok(w) && (e = rd_next(&c, &has)) == PERR_OK && has) {
		const char *amount = rd_val(&c, 5);
		int64_t id, minor = 0;
		lxw_row_t row;
		lxw_worksheet *ws;
		char amtbuf[64];

		if ((e = rd_parse_i64(rd_val(&c, 0), "exception.exception_id", &id)) != PERR_OK)
			break;
		if (amount != NULL && (e = rd_parse_i64(amount, "exception.amount_minor", &minor)) != PERR_OK)
			break;
		if ((ws = ts_next(r, ts, &row)) == NULL)
			break;
		{
			const char *t[2] = { rd_val(&c, 11), rd_val(&c, 12) };
			const double wd[2] = { closed_cols[11].width, closed_cols[12].width };

			w_row_lines(w, ws, row, t, wd, 2);
		}
		w_int(w, ws, row, 0, id, fs->text);
		w_str(w, ws, row, 1, rd_val(&c, 1), fs->text);
		w_str(w, ws, row, 2, rd_val(&c, 2), fs->text);
		w_str(w, ws, row, 3, rd_val(&c, 3), fs->text);
		w_date_s(w, ws, row, 4, rd_val(&c, 4), fs->date);
		if (amount != NULL && rd_val(&c, 6) != NULL)
			w_minor(w, ws, row, 5, minor, w_exp(w, rd_val(&c, 6)), fs);
		else if (amount != NULL)
			w_str(w, ws, row, 5, amount_without_currency(minor, amtbuf), fs->text);
		w_str(w, ws, row, 6, rd_val(&c, 6), fs->text);
		w_str(w, ws, row, 7, rd_val(&c, 7), fs->text);
		w_date_s(w, ws, row, 8, rd_val(&c, 8), fs->date);
		w_str(w, ws, row, 9, rd_val(&c, 9), fs->text);
		w_str(w, ws, row, 10, rd_val(&c, 10), fs->text);
		w_str(w, ws, row, 11, rd_val(&c, 11), fs->wrap);
		w_str(w, ws, row, 12, rd_val(&c, 12), fs->wrap);
		move_add(r, rd_val(&c, 3), MOVE_CLOSED, amount != NULL ? rd_val(&c, 6) : NULL, minor);
		r->closed_today++;
	}
	r->res->rows_in += c.rows_read;
	rd_close(&c);
	if (e != PERR_OK)
		return e;
	ts_finish(r, ts, "No exception was closed on this business date.");
	return PERR_OK;
}

/* ---------------------------------------------------------------- Matched (+ CSV) */

static const struct col matched_cols[] = {
	{ "Rule", 13 }, { "Account", 13 }, { "Value Date", 11 }, { "Amount", 15 }, { "Currency", 9 },
	{ "Reference", 16 }, { "Bank Ref", 16 }, { "Customer Ref", 14 }, { "Narrative", 34 },
	{ "Ledger Movements", 22 }, { "Statement Date", 11 }, { "Match ID", 9 },
};

static enum perr
sheet_matched(struct rep *r, struct tsheet *ts, int64_t shown, struct atomic_file *csv)
{
	struct w *w = &r->w;
	const struct fset *fs = &w->f.plain;
	struct rd_cursor c;
	enum perr e;
	bool has;
	int64_t i = 0;

	if (csv != NULL) {
		for (int k = 0; k < (int)(sizeof(matched_cols) / sizeof(matched_cols[0])); k++)
			csv_field(csv->fp, matched_cols[k].header, k == 0, false);
		csv_end_row(csv->fp);
	}
	if ((e = rd_open(&c, r->ctx->db, "rep_matched", sql_matched, 1, r->params1)) != PERR_OK)
		return e;
	while (w_ok(w) && (e = rd_next(&c, &has)) == PERR_OK && has) {
		const char *acct = rd_val(&c, 1), *cur = rd_val(&c, 4);
		int64_t minor, id;
		date_t sdate;
		int exp = w_exp(w, cur);

		if ((e = rd_parse_i64(rd_val(&c, 3), "statement_line.amount_minor", &minor)) != PERR_OK ||
		    (e = rd_parse_i64(rd_val(&c, 11), "recon_match.match_id", &id)) != PERR_OK ||
		    (e = rd_parse_date(rd_val(&c, 10), "statement.business_date", &sdate)) != PERR_OK)
			break;
		if (i < shown) {
			lxw_row_t row;
			lxw_worksheet *ws = ts_next(r, ts, &row);

			if (ws == NULL)
				break;
			{
				const char *t[1] = { rd_val(&c, 8) };
				const double wd[1] = { matched_cols[8].width };

				w_row_lines(w, ws, row, t, wd, 1);
			}
			w_str(w, ws, row, 0, rd_val(&c, 0), fs->text);
			w_str(w, ws, row, 1, acct, fs->text);
			w_date_s(w, ws, row, 2, rd_val(&c, 2), fs->date);
			w_minor(w, ws, row, 3, minor, exp, fs);
			w_str(w, ws, row, 4, cur, fs->text);
			for (int k = 5; k <= 9; k++)
				w_str(w, ws, row, (lxw_col_t)k, rd_val(&c, k), k == 8 ? fs->wrap : fs->text);
			w_date(w, ws, row, 10, sdate, fs->date);
			w_int(w, ws, row, 11, id, fs->text);
		}
		if (csv != NULL) {
			char buf[MONEY_BUFSZ], idbuf[24];

			snprintf(idbuf, sizeof(idbuf), "%lld", (long long)id);
			csv_field(csv->fp, rd_val(&c, 0), true, false);
			csv_field(csv->fp, acct, false, true);
			csv_field(csv->fp, rd_val(&c, 2), false, false);
			csv_field(csv->fp, money_format(minor, exp, buf), false, false);
			csv_field(csv->fp, cur, false, false);
			for (int k = 5; k <= 9; k++)
				csv_field(csv->fp, rd_val(&c, k), false, true);
			csv_field(csv->fp, rd_val(&c, 10), false, false);
			csv_field(csv->fp, idbuf, false, false);
			csv_end_row(csv->fp);
			r->res->rows_out++;
		}
		if (sdate == r->ctx->date)
			acct_get(r, acct)->matched++;
		r->matched_total++;
		i++;
	}
	r->res->rows_in += c.rows_read;
	rd_close(&c);
	if (e != PERR_OK)
		return e;
	ts_finish(r, ts, "No statement line was matched on this business date.");
	return PERR_OK;
}

/* ---------------------------------------------------------------- Pending */

static const struct col pending_cols[] = {
	{ "Movement ID", 18 }, { "Account", 13 }, { "Kind", 12 }, { "Direction", 9 },
	{ "Expected Date", 11 }, { "Window Ends", 11 }, { "Amount", 15 }, { "Currency", 9 },
	{ "Reference", 22 }, { "Investor", 12 }, { "Batch", 18 }, { "Origin", 8 },
};

static enum perr
sheet_pending(struct rep *r, struct tsheet *ts, const char *const *params)
{
	struct w *w = &r->w;
	const struct fset *fs = &w->f.plain;
	struct rd_cursor c;
	enum perr e;
	bool has;

	if ((e = rd_open(&c, r->ctx->db, "rep_pending", sql_pending, 3, params)) != PERR_OK)
		return e;
	while (w_ok(w) && (e = rd_next(&c, &has)) == PERR_OK && has) {
		const char *acct = rd_val(&c, 1), *cur = rd_val(&c, 6);
		date_t expected;
		int64_t minor;
		lxw_row_t row;
		lxw_worksheet *ws;

		if ((e = rd_parse_date(rd_val(&c, 4), "cash_movement.expected_date", &expected)) != PERR_OK ||
		    (e = rd_parse_i64(rd_val(&c, 5), "cash_movement.amount_minor", &minor)) != PERR_OK)
			break;
		if ((ws = ts_next(r, ts, &row)) == NULL)
			break;
		w_str(w, ws, row, 0, rd_val(&c, 0), fs->text);
		w_str(w, ws, row, 1, acct, fs->text);
		w_str(w, ws, row, 2, rd_val(&c, 2), fs->text);
		w_str(w, ws, row, 3, rd_val(&c, 3), fs->text);
		w_date(w, ws, row, 4, expected, fs->date);
		w_date(w, ws, row, 5, calendar_add_business_days(&r->cfg->calendar, expected,
		    r->cfg->match_window_days), fs->date);
		w_minor(w, ws, row, 6, minor, w_exp(w, cur), fs);
		w_str(w, ws, row, 7, cur, fs->text);
		for (int k = 7; k <= 10; k++)
			w_str(w, ws, row, (lxw_col_t)(k + 1), rd_val(&c, k), fs->text);
		acct_get(r, acct)->pending++;
		r->pending++;
	}
	r->res->rows_in += c.rows_read;
	rd_close(&c);
	if (e != PERR_OK)
		return e;
	ts_finish(r, ts, "No expected movement is pending inside its window.");
	return PERR_OK;
}

/* ---------------------------------------------------------------- Settlements */

static const struct col transfer_cols[] = {
	/* Widths also suit the allocation block below (Name under Offering, amounts under 5..8). */
	{ "Transfer ID", 24 }, { "Offering", 28 }, { "Purpose", 12 }, { "From", 13 }, { "To", 13 },
	{ "Amount", 16 }, { "Currency", 16 }, { "Status", 24 }, { "Approved By", 16 },
	{ "File", 30 }, { "Uploaded At", 18 }, { "Business Date", 13 },
	/* the bank's last pain.002 status (code, reason); when and from what (file or statement line)
	 * the transfer last got a status */
	{ "Bank Status", 36 }, { "Status At", 18 }, { "Status Source", 30 },
};

static const char *const alloc_headers[] = {
	"Offering", "Name", "Outcome", "Requested", "Allocated", "Gross", "Proceeds", "Fee",
	"Refunded", "Currency", "Refunded (units)", "Fee (bps)", "Units Offered",
};

static enum perr
sheet_settlements(struct rep *r, struct tsheet *ts, const char *const *params)
{
	struct w *w = &r->w;
	const struct fset *fs = &w->f.plain;
	struct rd_cursor c;
	enum perr e;
	bool has;
	lxw_worksheet *ws;
	lxw_row_t row;
	int64_t n_alloc = 0;

	if ((e = rd_open(&c, r->ctx->db, "rep_transfers", sql_transfers, 2, params)) != PERR_OK)
		return e;
	while (w_ok(w) && (e = rd_next(&c, &has)) == PERR_OK && has) {
		const char *cur = rd_val(&c, 6), *status = rd_val(&c, 7), *purpose = rd_val(&c, 2);
		int64_t minor;
		date_t bdate;
		struct curtot *ct;

		if ((e = rd_parse_i64(rd_val(&c, 5), "transfer.amount_minor", &minor)) != PERR_OK ||
		    (e = rd_parse_date(rd_val(&c, 11), "transfer.business_date", &bdate)) != PERR_OK)
			break;
		if ((ws = ts_next(r, ts, &row)) == NULL)
			break;
		for (int k = 0; k <= 4; k++)
			w_str(w, ws, row, (lxw_col_t)k, rd_val(&c, k), fs->text);
		w_minor(w, ws, row, 5, minor, w_exp(w, cur), fs);
		w_str(w, ws, row, 6, cur, fs->text);
		w_str(w, ws, row, 7, strcmp(status, "AWAITING_APPROVAL") == 0 ?
		    "AWAITING_APPROVAL (held)" : status, fs->text);
		w_str(w, ws, row, 8, rd_val(&c, 8), fs->text);
		w_str(w, ws, row, 9, rd_val(&c, 9), fs->text);
		w_ts_s(w, ws, row, 10, rd_val(&c, 10), fs->datetime);
		w_date(w, ws, row, 11, bdate, fs->date);
		w_str(w, ws, row, 12, rd_val(&c, 12), fs->text);
		w_ts_s(w, ws, row, 13, rd_val(&c, 13), fs->datetime);
		w_str(w, ws, row, 14, rd_val(&c, 14), fs->text);
		ct = cur_get(r, cur);
		if (bdate == r->ctx->date) {
			ct->transfers++;
			add_chk(r, strcmp(purpose, "PROCEEDS") == 0 ? &ct->proceeds : &ct->fees, minor);
		}
		if (strcmp(status, "AWAITING_APPROVAL") == 0) {
			ct->held++;
			add_chk(r, &ct->held_amount, minor);
		}
	}
	r->res->rows_in += c.rows_read;
	rd_close(&c);
	if (e != PERR_OK)
		return e;
	ts_finish(r, ts, "No transfer today and none awaiting approval.");
	if (!w_ok(w))
		return PERR_OK;

	/* Below the transfers, on the last sheet: the allocation per offering closed today. */
	ws = ts->ws[ts->nsheets - 1];
	if (ts->cur == ts->nsheets - 1)
		row = ts->row + (ts->nrows == 0 ? 2 : 1);
	else
		row = FIRST_DATA_ROW + 1;       /* a sheet of its own (see build) */
	w_str(w, ws, row++, 0, "Offerings settled on this business date", w->f.section);
	w_chk(w, worksheet_set_row(ws, row, 30, NULL), "set_row", row, 0);
	w_chk(w, worksheet_set_column(ws, 12, 12, 12, NULL), "set_column", row, 12);
	for (int k = 0; k < (int)(sizeof(alloc_headers) / sizeof(alloc_headers[0])); k++)
		w_str(w, ws, row, (lxw_col_t)k, alloc_headers[k], w->f.header);
	row++;
	if ((e = rd_open(&c, r->ctx->db, "rep_alloc", sql_alloc, 1, r->params1)) != PERR_OK)
		return e;
	while (w_ok(w) && (e = rd_next(&c, &has)) == PERR_OK && has) {
		int64_t v[12];
		const char *cur = rd_val(&c, 9);
		int exp = w_exp(w, cur);
		struct curtot *ct;

		for (int k = 3; k <= 12; k++) {
			if (k == 9)
				continue;
			if ((e = rd_parse_i64(rd_val(&c, k), "offering_settlement", &v[k - 3])) != PERR_OK)
				break;
		}
		if (e != PERR_OK)
			break;
		w_str(w, ws, row, 0, rd_val(&c, 0), fs->text);
		w_str(w, ws, row, 1, rd_val(&c, 1), fs->text);
		w_str(w, ws, row, 2, rd_val(&c, 2), fs->text);
		w_int(w, ws, row, 3, v[0], fs->num);                     /* requested */
		w_int(w, ws, row, 4, v[1], fs->num);                     /* allocated */
		w_minor(w, ws, row, 5, v[2], exp, fs);                   /* gross */
		w_minor(w, ws, row, 6, v[3], exp, fs);                   /* proceeds */
		w_minor(w, ws, row, 7, v[4], exp, fs);                   /* fee */
		w_minor(w, ws, row, 8, v[5], exp, fs);                   /* refunded */
		w_str(w, ws, row, 9, cur, fs->text);
		w_int(w, ws, row, 10, v[0] - v[1], fs->num);             /* refunded units */
		w_int(w, ws, row, 11, v[7], fs->num);                    /* fee_bps */
		w_int(w, ws, row, 12, v[8], fs->num);                    /* units offered */
		row++;
		n_alloc++;
		ct = cur_get(r, cur);
		ct->offerings++;
		add_chk(r, &ct->refunded, v[5]);
	}
	r->res->rows_in += c.rows_read;
	rd_close(&c);
	if (e != PERR_OK)
		return e;
	if (n_alloc == 0)
		w_str(w, ws, row++, 0, "No offering was settled on this business date.", w->f.note);
	r->res->rows_out += n_alloc;
	row++;
	static const char *const rule[] = {
		"Allocation rule: an offering whose active subscriptions total fewer units than its minimum "
		"fails and every subscription is refunded in full.",
		"At or below the units offered, every subscription gets what it asked for.",
		"Oversubscribed: each subscription gets floor(requested x offered / total) whole units; the units "
		"left over go one each to the largest remainders (requested x offered) mod total, ties to the "
		"earlier subscription time, then the smaller subscription id. No one gets more than requested.",
		"Refund = (requested - allocated) x unit price. Fee = fee_bps of the gross, rounded down to the "
		"minor unit; proceeds = gross - fee, paid to the trustee; the fee to the operating account.",
		"Held transfers (AWAITING_APPROVAL) exceed the four-eyes limit and wait for `pipeline approve` "
		"by a second person.",
	};
	for (size_t k = 0; k < sizeof(rule) / sizeof(rule[0]); k++)
		w_str(w, ws, row++, 0, rule[k], w->f.note);
	return PERR_OK;
}

/* ---------------------------------------------------------------- DABS Issuance */

static const struct col issuance_cols[] = {
	{ "Issuance ID", 22 }, { "Offering", 12 }, { "Investor", 12 }, { "Investor Name", 28 },
	{ "Units", 10 }, { "Unit Price", 14 }, { "Amount", 16 }, { "Currency", 9 },
	{ "Settlement Date", 12 }, { "File", 32 },
};

static enum perr
sheet_issuance(struct rep *r, struct tsheet *ts)
{
	struct w *w = &r->w;
	const struct fset *fs = &w->f.plain;
	struct rd_cursor c;
	enum perr e;
	bool has;

	if ((e = rd_open(&c, r->ctx->db, "rep_issuance", sql_issuance, 1, r->params1)) != PERR_OK)
		return e;
	while (w_ok(w) && (e = rd_next(&c, &has)) == PERR_OK && has) {
		const char *cur = rd_val(&c, 7);
		int64_t units, price, amount;
		int exp = w_exp(w, cur);
		lxw_row_t row;
		lxw_worksheet *ws;
		struct curtot *ct;

		if ((e = rd_parse_i64(rd_val(&c, 4), "issuance.units", &units)) != PERR_OK ||
		    (e = rd_parse_i64(rd_val(&c, 5), "issuance.unit_price_minor", &price)) != PERR_OK ||
		    (e = rd_parse_i64(rd_val(&c, 6), "issuance.amount_minor", &amount)) != PERR_OK)
			break;
		if ((ws = ts_next(r, ts, &row)) == NULL)
			break;
		for (int k = 0; k <= 3; k++)
			w_str(w, ws, row, (lxw_col_t)k, rd_val(&c, k), fs->text);
		w_int(w, ws, row, 4, units, fs->num);
		w_minor(w, ws, row, 5, price, exp, fs);
		w_minor(w, ws, row, 6, amount, exp, fs);
		w_str(w, ws, row, 7, cur, fs->text);
		w_date_s(w, ws, row, 8, rd_val(&c, 8), fs->date);
		w_str(w, ws, row, 9, rd_val(&c, 9), fs->text);
		ct = cur_get(r, cur);
		ct->issuances++;
		add_chk(r, &ct->units, units);
		add_chk(r, &ct->issued, amount);
	}
	r->res->rows_in += c.rows_read;
	rd_close(&c);
	if (e != PERR_OK)
		return e;
	ts_finish(r, ts, "No DABS issuance record on this business date.");
	return PERR_OK;
}

/* ---------------------------------------------------------------- Statements */

static const struct col stmt_cols[] = {
	{ "Source", 16 }, { "File", 30 }, { "SHA-256", 50 }, { "Account", 13 }, { "Statement No", 13 },
	{ "Currency", 9 }, { "Opening Date", 11 }, { "Opening", 16 }, { "Closing Date", 11 },
	{ "Closing", 16 }, { "Lines", 8 }, { "Status", 14 }, { "Reason", 60 },
};

static enum perr
sheet_statements(struct rep *r, struct tsheet *ts)
{
	struct w *w = &r->w;
	const struct fset *fs = &w->f.plain;
	struct rd_cursor c;
	enum perr e;
	bool has;

	if ((e = rd_open(&c, r->ctx->db, "rep_stmts", sql_stmts, 1, r->params1)) != PERR_OK)
		return e;
	while (w_ok(w) && (e = rd_next(&c, &has)) == PERR_OK && has) {
		const char *acct = rd_val(&c, 3), *cur = rd_val(&c, 5), *status = rd_val(&c, 11);
		int64_t opening = 0, closing = 0, lines = 0;
		date_t od = 0, cd = 0;
		bool is_stmt = acct != NULL;
		lxw_row_t row;
		lxw_worksheet *ws;

		if (is_stmt &&
		    ((e = rd_parse_i64(rd_val(&c, 7), "statement.opening_minor", &opening)) != PERR_OK ||
		    (e = rd_parse_i64(rd_val(&c, 9), "statement.closing_minor", &closing)) != PERR_OK ||
		    (e = rd_parse_date(rd_val(&c, 6), "statement.opening_date", &od)) != PERR_OK ||
		    (e = rd_parse_date(rd_val(&c, 8), "statement.closing_date", &cd)) != PERR_OK))
			break;
		if (rd_val(&c, 10) != NULL && (e = rd_parse_i64(rd_val(&c, 10), "lines", &lines)) != PERR_OK)
			break;
		if ((ws = ts_next(r, ts, &row)) == NULL)
			break;
		w_str(w, ws, row, 0, rd_val(&c, 0), fs->text);
		w_str(w, ws, row, 1, rd_val(&c, 1), fs->text);
		w_str(w, ws, row, 2, rd_val(&c, 2), w->f.mono);
		w_str(w, ws, row, 3, acct, fs->text);
		w_str(w, ws, row, 4, rd_val(&c, 4), fs->text);
		w_str(w, ws, row, 5, cur, fs->text);
		if (is_stmt) {
			int exp = w_exp(w, cur);

			w_date(w, ws, row, 6, od, fs->date);
			w_minor(w, ws, row, 7, opening, exp, fs);
			w_date(w, ws, row, 8, cd, fs->date);
			w_minor(w, ws, row, 9, closing, exp, fs);
		}
		if (rd_val(&c, 10) != NULL)
			w_int(w, ws, row, 10, lines, fs->num);
		w_str(w, ws, row, 11, status, fs->text);
		w_str(w, ws, row, 12, rd_val(&c, 12), fs->wrap);

		if (is_stmt) {
			struct acct *ac = acct_get(r, acct);

			if (ac->currency[0] == '\0' && cur != NULL)
				snprintf(ac->currency, sizeof(ac->currency), "%s", cur);
			/* The day's bank balances: opening of the earliest statement, closing of the latest. */
			if (!ac->has_stmt || od < ac->open_date) {
				ac->opening = opening;
				ac->open_date = od;
			}
			if (!ac->has_stmt || cd >= ac->close_date) {
				ac->closing = closing;
				ac->close_date = cd;
			}
			ac->has_stmt = true;
			if (strcmp(status, "PASSED") == 0)
				add_chk(r, &ac->lines, lines);
		}
	}
	r->res->rows_in += c.rows_read;
	rd_close(&c);
	if (e != PERR_OK)
		return e;
	ts_finish(r, ts, "No statement file was fetched for this business date.");
	return PERR_OK;
}

/* ---------------------------------------------------------------- Summary */

static const char *const acct_headers[] = {
	"Account", "Name", "Purpose", "Currency", "Bank Opening", "Bank Closing", "Opening + Matched",
	"Difference", "Open Lines", "Continuity Gap", "Lines", "Matched", "Matched %", "Open Errors",
	"Open Warnings", "Pending", "Status",
};
#define ACCT_MONEY 6    /* opening, closing, ledger, difference, open lines, unexplained */

/*
 * The money columns of an account's Summary line, each with whether it is known: bank figures need a
 * statement of the day, the ledger balance a loaded statement up to the day.
 */
static void
acct_money(struct rep *r, const struct acct *a, int64_t v[ACCT_MONEY], bool has[ACCT_MONEY])
{
	memset(v, 0, ACCT_MONEY * sizeof(*v));
	has[0] = has[1] = a->has_stmt;
	v[0] = a->opening;
	v[1] = a->closing;
	has[2] = a->has_ledger;
	v[2] = a->ledger;
	has[3] = has[4] = has[5] = a->has_stmt && a->has_ledger;
	if (has[3]) {
		v[4] = a->open_lines;
		if (!money_sub(a->closing, a->ledger, &v[3]) || !money_sub(v[3], a->open_lines, &v[5]))
			w_fail(&r->w, perr_set(PERR_MONEY_OVERFLOW, "report: %s: difference overflows 64 bits",
			    a->account_no));
	}
}
#define N_ACCT_COLS ((int)(sizeof(acct_headers) / sizeof(acct_headers[0])))

static const char *
light_of(int64_t err, int64_t warn, int64_t pending)
{
	if (err > 0)
		return "RED";
	if (warn > 0 || pending > 0)
		return "AMBER";
	return "GREEN";
}

static lxw_format *
light_fmt(const struct w *w, const char *light)
{
	return light[0] == 'R' ? w->f.red : light[0] == 'A' ? w->f.amber : w->f.green;
}

static void
kv(struct w *w, lxw_worksheet *ws, lxw_row_t row, const char *label, const char *value)
{
	w_str(w, ws, row, 0, label, w->f.label);
	w_str(w, ws, row, 1, value, w->f.plain.text);
}

static int
acct_cmp(const void *a, const void *b)
{
	const struct acct *x = a, *y = b;

	/* Ledger accounts first (in their query order), then others by number, "(no account)" last. */
	if (x->in_ledger != y->in_ledger)
		return x->in_ledger ? -1 : 1;
	if (x->in_ledger)
		return 0;
	if ((x->account_no[0] == '\0') != (y->account_no[0] == '\0'))
		return x->account_no[0] == '\0' ? 1 : -1;
	return strcmp(x->account_no, y->account_no);
}

/* Stable sort (few accounts): insertion sort keeps the ledger's order. */
static void
accts_sort(struct acct *a, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct acct t = a[i];
		size_t j = i;

		while (j > 0 && acct_cmp(&a[j - 1], &t) > 0) {
			a[j] = a[j - 1];
			j--;
		}
		a[j] = t;
	}
}

static int
curtot_cmp(const void *a, const void *b)
{
	return strcmp(((const struct curtot *)a)->currency, ((const struct curtot *)b)->currency);
}

/* Summary step: the title and the run's metadata. */
static void
summary_run(struct rep *r, lxw_worksheet *ws, lxw_row_t *prow, const char *now_local)
{
	struct w *w = &r->w;
	lxw_row_t row = *prow;
	char buf[256];
	const char *light = light_of(r->open_err, r->open_warn, r->pending);

	snprintf(buf, sizeof(buf), "Reconciliation report for business date %s", r->ctx->date_iso);
	w_str(w, ws, row++, 0, buf, w->f.title);
	snprintf(buf, sizeof(buf), "%s - generated %s (%s)", r->cfg->company ? r->cfg->company : "",
	    now_local, r->cfg->timezone);
	w_str(w, ws, row++, 0, buf, w->f.subtitle);
	row++;
	w_str(w, ws, row++, 0, "Run", w->f.section);
	w_str(w, ws, row, 0, "Business date", w->f.label);
	w_date(w, ws, row++, 1, r->ctx->date, w->f.meta_date);
	w_str(w, ws, row, 0, "Report generated", w->f.label);
	w_ts_s(w, ws, row++, 1, now_local, w->f.meta_datetime);
	kv(w, ws, row++, "Time zone", r->cfg->timezone);
	kv(w, ws, row++, "Pipeline version", PIPELINE_VERSION);
	kv(w, ws, row++, "Configuration digest (SHA-256)", r->cfg->digest);
	w_str(w, ws, row, 0, "Report run", w->f.label);
	w_int(w, ws, row++, 1, r->ctx->run_id, w->f.meta_int);
	kv(w, ws, row++, "Operator", r->ctx->operator_name);
	snprintf(buf, sizeof(buf), "%d business days", r->cfg->match_window_days);
	kv(w, ws, row++, "Match window", buf);
	w_str(w, ws, row, 0, "Overall status", w->f.label);
	w_str(w, ws, row++, 1, light, light_fmt(w, light));
	snprintf(buf, sizeof(buf), "%lld open (%lld errors, %lld warnings); %lld new today (highlighted "
	    "on Exceptions, Age 0); %lld closed today", (long long)(r->open_err + r->open_warn),
	    (long long)r->open_err, (long long)r->open_warn, (long long)r->new_today,
	    (long long)r->closed_today);
	kv(w, ws, row++, "Exceptions", buf);
	if (r->matched_capped)
		snprintf(buf, sizeof(buf), "%lld matches; the Matched sheet shows the first %ld, all are in "
		    "recon-%s-matched.csv", (long long)r->matched_total, r->cfg->matched_row_cap, r->ctx->date_iso);
	else
		snprintf(buf, sizeof(buf), "%lld matches made on this business date", (long long)r->matched_total);
	kv(w, ws, row++, "Matched", buf);
	*prow = row + 1;
}

static void
summary_header(struct w *w, lxw_worksheet *ws, lxw_row_t row, const char *const *h, int n)
{
	w_chk(w, worksheet_set_row(ws, row, 30, NULL), "set_row", row, 0);
	for (int k = 0; k < n; k++)
		w_str(w, ws, row, (lxw_col_t)k, h[k], w->f.header);
}

/* One account's line of the Accounts block (statement continuity). */
static void
summary_account_line(struct rep *r, lxw_worksheet *ws, lxw_row_t row, const struct acct *a)
{
	struct w *w = &r->w;
	const struct fset *fs = &w->f.plain;
	int exp = a->currency[0] ? w_exp(w, a->currency) : 2;
	const char *light = light_of(a->open_err, a->open_warn, a->pending);
	int64_t v[ACCT_MONEY];
	bool known[ACCT_MONEY];

	acct_money(r, a, v, known);
	w_str(w, ws, row, 0, a->account_no[0] ? a->account_no : "(none)", fs->text);
	w_str(w, ws, row, 1, a->name, fs->text);
	w_str(w, ws, row, 2, a->purpose, fs->text);
	w_str(w, ws, row, 3, a->currency, fs->text);
	for (int j = 0; j < ACCT_MONEY; j++)
		if (known[j])
			w_minor(w, ws, row, (lxw_col_t)(4 + j), v[j], exp, fs);
	w_int(w, ws, row, 10, a->lines, fs->num);
	w_int(w, ws, row, 11, a->matched, fs->num);
	if (a->lines > 0)
		w_chk(w, worksheet_write_number(ws, row, 12, (double)a->matched / (double)a->lines, fs->pct),
		    "write_number", row, 12);
	w_int(w, ws, row, 13, a->open_err, fs->num);
	w_int(w, ws, row, 14, a->open_warn, fs->num);
	w_int(w, ws, row, 15, a->pending, fs->num);
	w_str(w, ws, row, 16, light, light_fmt(w, light));
}

/*
 * One total line per purpose and currency: client money is never added to the operating or trust
 * accounts, nor one currency to another; the label says what it sums.
 */
static void
summary_account_totals(struct rep *r, lxw_worksheet *ws, lxw_row_t *prow)
{
	struct w *w = &r->w;
	const struct fset *tot = &w->f.total;
	char buf[160];

	for (size_t g = 0; g < r->n_accts && w_ok(w); g++) {
		const struct acct *first = &r->accts[g];
		int64_t t[ACCT_MONEY] = { 0 }, n[5] = { 0 }, count = 0;   /* lines matched err warn pending */
		int exp;
		bool seen = false;

		if (first->currency[0] == '\0' || first->purpose == NULL)
			continue;
		for (size_t k = 0; k < g && !seen; k++)
			seen = r->accts[k].purpose != NULL && !strcmp(r->accts[k].purpose, first->purpose) &&
			    !strcmp(r->accts[k].currency, first->currency);
		if (seen)
			continue;
		exp = w_exp(w, first->currency);
		for (size_t i = g; i < r->n_accts; i++) {
			const struct acct *a = &r->accts[i];
			int64_t v[ACCT_MONEY];
			bool known[ACCT_MONEY];

			if (a->purpose == NULL || strcmp(a->purpose, first->purpose) || strcmp(a->currency, first->currency))
				continue;
			acct_money(r, a, v, known);
			for (int j = 0; j < ACCT_MONEY; j++)
				if (known[j])
					add_chk(r, &t[j], v[j]);
			add_chk(r, &n[0], a->lines);
			add_chk(r, &n[1], a->matched);
			add_chk(r, &n[2], a->open_err);
			add_chk(r, &n[3], a->open_warn);
			add_chk(r, &n[4], a->pending);
			count++;
		}
		snprintf(buf, sizeof(buf), "Total %s %s (%lld account%s)", first->purpose, first->currency,
		    (long long)count, count == 1 ? "" : "s");
		w_str(w, ws, *prow, 0, buf, tot->text);
		w_str(w, ws, *prow, 1, NULL, tot->text);
		w_str(w, ws, *prow, 2, first->purpose, tot->text);
		w_str(w, ws, *prow, 3, first->currency, tot->text);
		for (int j = 0; j < ACCT_MONEY; j++)
			w_minor(w, ws, *prow, (lxw_col_t)(4 + j), t[j], exp, tot);
		w_int(w, ws, *prow, 10, n[0], tot->num);
		w_int(w, ws, *prow, 11, n[1], tot->num);
		if (n[0] > 0)
			w_chk(w, worksheet_write_number(ws, *prow, 12, (double)n[1] / (double)n[0], tot->pct),
			    "write_number", *prow, 12);
		else
			w_str(w, ws, *prow, 12, NULL, tot->text);
		w_int(w, ws, *prow, 13, n[2], tot->num);
		w_int(w, ws, *prow, 14, n[3], tot->num);
		w_int(w, ws, *prow, 15, n[4], tot->num);
		w_str(w, ws, *prow, 16, NULL, tot->text);
		(*prow)++;
	}
}

/* Summary step: per account, statement continuity and counts, totals per purpose and currency. */
static void
summary_accounts(struct rep *r, lxw_worksheet *ws, lxw_row_t *prow)
{
	struct w *w = &r->w;
	lxw_row_t row = *prow, hdr_row, first_acct;

	w_str(w, ws, row++, 0, "Accounts (statement continuity; the bank against the books is on the Bank "
	    "Reconciliation sheet)", w->f.section);
	hdr_row = row;
	summary_header(w, ws, row++, acct_headers, N_ACCT_COLS);
	first_acct = row;
	for (size_t i = 0; i < r->n_accts && w_ok(w); i++)
		summary_account_line(r, ws, row++, &r->accts[i]);
	w_chk(w, worksheet_autofilter(ws, hdr_row, 0, row > first_acct ? row - 1 : hdr_row, N_ACCT_COLS - 1),
	    "autofilter", hdr_row, 0);
	summary_account_totals(r, ws, &row);
	row++;
	w_str(w, ws, row++, 0, "Statement continuity (not the books: the Bank Reconciliation sheet compares the bank "
	    "with the book balance). Opening + Matched: the opening balance of the account's first loaded statement "
	    "plus every ledger movement matched by the date, as reconcile computes it.", w->f.note);
	w_str(w, ws, row++, 0, "Difference = bank closing - (opening + matched). Open lines: statement lines not "
	    "matched by the date (unmatched, mismatched, duplicate, ambiguous). Continuity gap = difference - open "
	    "lines: not zero is a STATEMENT_CONTINUITY_BREAK (a statement or lines missing or altered).", w->f.note);
	w_str(w, ws, row++, 0, "Lines: lines of the day's loaded (PASSED) statements; Matched: those of them matched "
	    "(Matched sheet, Statement Date = business date). Status: RED = open error exceptions; AMBER = only "
	    "warnings or pending items; GREEN = nothing open. Totals: one per purpose and currency, never across.",
	    w->f.note);
	*prow = row + 1;
}

/* Rejected payments (transfer status REJECTED, from the bank's pain.002) per paying account and currency. */
static enum perr
load_rejected(struct rep *r)
{
	struct rd_cursor c;
	enum perr e;
	bool has;

	if ((e = rd_open(&c, r->ctx->db, "rep_rejected", "SELECT from_account, currency, amount_minor FROM transfer"
	    " WHERE status = 'REJECTED' ORDER BY transfer_id", 0, NULL)) != PERR_OK)
		return e;
	while ((e = rd_next(&c, &has)) == PERR_OK && has) {
		int64_t minor;

		if ((e = rd_parse_i64(rd_val(&c, 2), "transfer.amount_minor", &minor)) != PERR_OK)
			break;
		action_add(r, rd_val(&c, 0), ACTION_REJECTED, rd_val(&c, 1), -minor);
	}
	r->res->rows_in += c.rows_read;
	rd_close(&c);
	return e;
}

/* A count and a sum per account-and-currency row; the sum blank for exceptions without an amount. */
static void
summary_n_sum(struct rep *r, lxw_worksheet *ws, lxw_row_t row, lxw_col_t col, const struct acbk *b,
    int64_t n, int64_t sum)
{
	struct w *w = &r->w;

	w_int(w, ws, row, col, n, w->f.plain.num);
	if (b->currency[0])
		w_minor(w, ws, row, col + 1, sum, w_exp(w, b->currency), &w->f.plain);
	else
		w_str(w, ws, row, col + 1, "-", w->f.plain.text);
}

static const char *
bk_purpose(const struct rep *r, const struct acbk *b)
{
	for (size_t i = 0; i < r->n_accts; i++)
		if (!strcmp(r->accts[i].account_no, b->account_no))
			return r->accts[i].purpose ? r->accts[i].purpose : "";
	return "";
}

/*
 * A Summary block with one row per account and currency: Account, Purpose, Currency, then a count
 * and a sum for each of `n` figures picked by `pick`. Rows where every count is 0 are left out.
 */
typedef void (*bk_pick)(const struct acbk *b, int k, int64_t *n, int64_t *sum);

static void
summary_bk_block(struct rep *r, lxw_worksheet *ws, lxw_row_t *prow, const char *title,
    const char *const *h, int n, bk_pick pick, const char *empty)
{
	struct w *w = &r->w;
	lxw_row_t row = *prow;
	int shown = 0;

	w_str(w, ws, row++, 0, title, w->f.section);
	summary_header(w, ws, row++, h, 3 + 2 * n);
	for (size_t i = 0; i < r->n_bks && w_ok(w); i++) {
		const struct acbk *b = &r->bks[i];
		int64_t any = 0, cnt, sum;

		for (int k = 0; k < n; k++) {
			pick(b, k, &cnt, &sum);
			any += cnt;
		}
		if (any == 0)
			continue;
		w_str(w, ws, row, 0, b->account_no[0] ? b->account_no : "(no account)", w->f.plain.text);
		w_str(w, ws, row, 1, bk_purpose(r, b), w->f.plain.text);
		w_str(w, ws, row, 2, b->currency[0] ? b->currency : "(no amount)", w->f.plain.text);
		for (int k = 0; k < n; k++) {
			pick(b, k, &cnt, &sum);
			summary_n_sum(r, ws, row, (lxw_col_t)(3 + 2 * k), b, cnt, sum);
		}
		row++;
		shown++;
	}
	if (shown == 0)
		w_str(w, ws, row++, 0, empty, w->f.note);
	*prow = row + 1;
}

static void
pick_action(const struct acbk *b, int k, int64_t *n, int64_t *sum)
{
	*n = b->act_n[k];
	*sum = b->act_sum[k];
}

static void
pick_move(const struct acbk *b, int k, int64_t *n, int64_t *sum)
{
	*n = b->mv_n[k];
	*sum = b->mv_sum[k];
}

static void
pick_age(const struct acbk *b, int k, int64_t *n, int64_t *sum)
{
	*n = b->age_n[k];
	*sum = b->age_sum[k];
}

/* Summary step: what needs a person today, per account and currency. */
static enum perr
summary_action(struct rep *r, lxw_worksheet *ws, lxw_row_t *prow)
{
	static const char *const h[] = { "Account", "Purpose", "Currency", "New Errors", "New Errors (sum)",
		"Errors Past SLA", "Past SLA (sum)", "Rejected Payments", "Rejected (sum)" };
	char note[256];
	enum perr e;

	if ((e = load_rejected(r)) != PERR_OK)
		return e;
	summary_bk_block(r, ws, prow, "Needs action today (per account and currency)", h, N_ACTIONS, pick_action,
	    "Nothing needs action today: no new error, none past its service level, no rejected payment.");
	snprintf(note, sizeof(note), "New errors: ERROR exceptions opened on this date. Past SLA: older ERROR "
	    "exceptions past the business days [report] sla_days (default %d, or sla_days.TYPE) allows%s. "
	    "Sums are signed amounts (credits +).", r->cfg->sla_days,
	    r->cfg->sla_large_currency[0] ? ", or sla_large_days when at least sla_large_amount" : "");
	w_str(&r->w, ws, *prow - 1, 0, note, r->w.f.note);
	(*prow)++;
	return PERR_OK;
}

/* Summary step: the day's movement of exceptions. */
static void
summary_movement(struct rep *r, lxw_worksheet *ws, lxw_row_t *prow)
{
	static const char *const h[] = { "Account", "Purpose", "Currency", "Opened Today", "Opened (sum)",
		"Closed Today", "Closed (sum)", "Carried", "Carried (sum)" };

	summary_bk_block(r, ws, prow, "Day-on-day movement of exceptions (per account and currency)", h, N_MOVES,
	    pick_move, "No exception opened, closed or carried.");
	w_str(&r->w, ws, *prow - 1, 0, "Opened: open at the end of the date and opened on it; closed: closed on the "
	    "date (Closed Today sheet); carried: open at the end of the date and opened before it.", r->w.f.note);
	(*prow)++;
}

/* Summary step: settlement totals of the day per currency. */
static void
summary_settlements(struct rep *r, lxw_worksheet *ws, lxw_row_t *prow)
{
	static const char *const h[] = { "Currency", "Transfers", "Proceeds Paid", "Fees Paid",
		"Held (count)", "Held Amount", "Offerings Settled", "Refunded", "Issuance Records",
		"Units Issued", "Issued Amount" };
	struct w *w = &r->w;
	const struct fset *fs = &w->f.plain;
	lxw_row_t row = *prow;

	w_str(w, ws, row++, 0, "Settlements of the day", w->f.section);
	summary_header(w, ws, row++, h, (int)(sizeof(h) / sizeof(h[0])));
	if (r->n_curs > 1)
		qsort(r->curs, r->n_curs, sizeof(*r->curs), curtot_cmp);
	for (size_t i = 0; i < r->n_curs && w_ok(w); i++) {
		struct curtot *ct = &r->curs[i];
		int exp = w_exp(w, ct->currency);

		w_str(w, ws, row, 0, ct->currency, fs->text);
		w_int(w, ws, row, 1, ct->transfers, fs->num);
		w_minor(w, ws, row, 2, ct->proceeds, exp, fs);
		w_minor(w, ws, row, 3, ct->fees, exp, fs);
		w_int(w, ws, row, 4, ct->held, fs->num);
		w_minor(w, ws, row, 5, ct->held_amount, exp, fs);
		w_int(w, ws, row, 6, ct->offerings, fs->num);
		w_minor(w, ws, row, 7, ct->refunded, exp, fs);
		w_int(w, ws, row, 8, ct->issuances, fs->num);
		w_int(w, ws, row, 9, ct->units, fs->num);
		w_minor(w, ws, row, 10, ct->issued, exp, fs);
		row++;
	}
	if (r->n_curs == 0)
		w_str(w, ws, row++, 0, "No transfer, settlement or issuance on this business date.", w->f.note);
	*prow = row + 1;
}

/* Summary step: open exceptions by type and age bucket, and per account (the chart's source). */
static void
summary_types(struct rep *r, lxw_worksheet *ws, lxw_row_t *prow, lxw_row_t *type_hdr, int *n_types,
    int64_t *max_total)
{
	struct w *w = &r->w;
	const struct fset *fs = &w->f.plain;
	lxw_row_t row = *prow;
	int col = 0;

	w_str(w, ws, row++, 0, "Open exceptions by type and age (business days)", w->f.section);
	*type_hdr = row;
	w_chk(w, worksheet_set_row(ws, row, 30, NULL), "set_row", row, 0);
	w_str(w, ws, row, (lxw_col_t)col++, "Type", w->f.header);
	w_str(w, ws, row, (lxw_col_t)col++, "Errors", w->f.header);
	w_str(w, ws, row, (lxw_col_t)col++, "Warnings", w->f.header);
	for (int b = 0; b < RD_AGE_BUCKETS; b++)
		w_str(w, ws, row, (lxw_col_t)col++, rd_age_bucket_names[b], w->f.header);
	w_str(w, ws, row, (lxw_col_t)col++, "Total", w->f.header);
	for (size_t i = 0; i < r->n_accts; i++)
		w_str(w, ws, row, (lxw_col_t)col++, r->accts[i].account_no[0] ? r->accts[i].account_no :
		    "(no account)", w->f.header);
	row++;
	*n_types = 0;
	*max_total = 0;
	for (int t = 0; t < RD_N_TYPES && w_ok(w); t++) {
		int64_t total = r->type_err[t] + r->type_warn[t];

		if (total == 0)
			continue;
		col = 0;
		w_str(w, ws, row, (lxw_col_t)col++, rd_exception_types[t], fs->text);
		w_int(w, ws, row, (lxw_col_t)col++, r->type_err[t], fs->num);
		w_int(w, ws, row, (lxw_col_t)col++, r->type_warn[t], fs->num);
		for (int b = 0; b < RD_AGE_BUCKETS; b++)
			w_int(w, ws, row, (lxw_col_t)col++, r->type_bucket[t][b], fs->num);
		w_int(w, ws, row, (lxw_col_t)col++, total, fs->num);
		for (size_t i = 0; i < r->n_accts; i++)
			w_int(w, ws, row, (lxw_col_t)col++, r->accts[i].by_type[t], fs->num);
		row++;
		(*n_types)++;
		if (total > *max_total)
			*max_total = total;
	}
	if (*n_types == 0)
		w_str(w, ws, row++, 0, "No open exceptions.", w->f.note);
	*prow = row + 1;
}

/* Summary step: the chart, stacked columns, one series per age bucket, one category per type. */
static void
summary_chart(struct rep *r, lxw_worksheet *ws, lxw_row_t *prow, lxw_row_t type_hdr, int n_types,
    int64_t max_total)
{
	static const uint32_t colors[RD_AGE_BUCKETS] = { 0x9BC2E6, 0xFFD966, 0xF4B183, 0xC00000 };
	struct w *w = &r->w;
	lxw_chart *chart;
	lxw_chart_options opt;
	lxw_chart_font tf = { .size = 10, .bold = LXW_EXPLICIT_FALSE }, af = { .size = 8 };

	if (n_types == 0 || !w_ok(w))
		return;
	if ((chart = workbook_add_chart(w->wb, LXW_CHART_COLUMN_STACKED)) == NULL) {
		w_fail(w, perr_set(PERR_REPORT, "report: libxlsxwriter could not add a chart"));
		return;
	}
	chart_title_set_name(chart, "Open exceptions by type and age (business days)");
	chart_title_set_name_font(chart, &tf);
	for (int b = 0; b < RD_AGE_BUCKETS && w_ok(w); b++) {
		lxw_chart_series *s = chart_add_series(chart, NULL, NULL);
		lxw_chart_fill fill = { .color = colors[b] };

		if (s == NULL) {
			w_fail(w, perr_set(PERR_REPORT, "report: libxlsxwriter could not add a series"));
			return;
		}
		chart_series_set_categories(s, "Summary", type_hdr + 1, 0, type_hdr + (lxw_row_t)n_types, 0);
		chart_series_set_values(s, "Summary", type_hdr + 1, (lxw_col_t)(3 + b),
		    type_hdr + (lxw_row_t)n_types, (lxw_col_t)(3 + b));
		chart_series_set_name_range(s, "Summary", type_hdr, (lxw_col_t)(3 + b));
		chart_series_set_fill(s, &fill);
	}
	chart_legend_set_position(chart, LXW_CHART_LEGEND_BOTTOM);
	chart_axis_major_gridlines_set_visible(chart->y_axis, LXW_TRUE);
	chart_axis_set_num_font(chart->x_axis, &af);
	chart_axis_set_num_font(chart->y_axis, &af);
	/* Counts: whole numbers on the axis (a step of at least 1, about ten gridlines). */
	chart_axis_set_num_format(chart->y_axis, "0");
	chart_axis_set_min(chart->y_axis, 0);
	chart_axis_set_major_unit(chart->y_axis, (double)(max_total > 10 ? (max_total + 9) / 10 : 1));
	chart_axis_set_name(chart->y_axis, "Open exceptions (count)");
	memset(&opt, 0, sizeof(opt));
	opt.x_scale = 1.5;
	opt.y_scale = 1.1;
	opt.object_position = LXW_OBJECT_MOVE_DONT_SIZE;
	w_chk(w, worksheet_insert_chart_opt(ws, *prow, 0, chart, &opt), "insert_chart", *prow, 0);
	*prow += CHART_ROWS;      /* the rows the chart covers (288 px x 1.1 at 20 px a row) */
}

/* Summary step: open exceptions per account and currency by age bucket, count and sum. */
static void
summary_ageing(struct rep *r, lxw_worksheet *ws, lxw_row_t *prow)
{
	static const char *const h[] = { "Account", "Purpose", "Currency", "0-1 (count)", "0-1 (sum)",
		"2-5 (count)", "2-5 (sum)", "6-30 (count)", "6-30 (sum)", ">30 (count)", ">30 (sum)" };

	summary_bk_block(r, ws, prow, "Open exceptions by age (business days): count and sum per account and currency",
	    h, RD_AGE_BUCKETS, pick_age, "No open exceptions.");
	w_str(&r->w, ws, *prow - 1, 0, "From the Exceptions sheet: Age (days) bucketed, Amount summed (signed, credits "
	    "+); exceptions without an amount are counted under \"(no amount)\".", r->w.f.note);
	(*prow)++;
}

/* Summary step: the input files with their SHA-256. */
static enum perr
summary_inputs(struct rep *r, lxw_worksheet *ws, lxw_row_t *prow, const char *const *params2)
{
	static const char *const h[] = { "Source", "File", "Status", "Size (bytes)", "Fetched At", "SHA-256" };
	struct w *w = &r->w;
	const struct fset *fs = &w->f.plain;
	lxw_row_t row = *prow;
	struct rd_cursor c;
	int64_t n = 0;
	enum perr e;
	bool has;

	w_str(w, ws, row++, 0, "Inputs (files fetched for this business date)", w->f.section);
	for (int k = 0; k < 6; k++)
		w_str(w, ws, row, (lxw_col_t)k, h[k], w->f.header);
	row++;
	if ((e = rd_open(&c, r->ctx->db, "rep_inputs", sql_inputs, 2, params2)) != PERR_OK)
		return e;
	while (w_ok(w) && (e = rd_next(&c, &has)) == PERR_OK && has) {
		int64_t size;

		if ((e = rd_parse_i64(rd_val(&c, 3), "fetched_file.size_bytes", &size)) != PERR_OK)
			break;
		w_str(w, ws, row, 0, rd_val(&c, 0), fs->text);
		w_str(w, ws, row, 1, rd_val(&c, 1), fs->text);
		w_str(w, ws, row, 2, rd_val(&c, 2), fs->text);
		w_int(w, ws, row, 3, size, fs->num);
		w_ts_s(w, ws, row, 4, rd_val(&c, 4), fs->datetime);
		w_str(w, ws, row, 5, rd_val(&c, 5), w->f.mono);
		row++;
		n++;
	}
	r->res->rows_in += c.rows_read;
	rd_close(&c);
	if (e != PERR_OK)
		return e;
	if (n == 0)
		w_str(w, ws, row++, 0, "No file was fetched for this business date.", w->f.note);
	*prow = row + 1;
	return PERR_OK;
}

/* Summary step: the stage runs behind these figures, with the configuration each one used. */
static enum perr
summary_stages(struct rep *r, lxw_worksheet *ws, lxw_row_t *prow, const char *const *params2)
{
	static const char *const h[] = { "Stage", "Operator", "Run", "State", "Started", "Finished",
		"Rows In", "Rows Out", "Exceptions", "Configuration" };
	struct w *w = &r->w;
	const struct fset *fs = &w->f.plain;
	lxw_row_t row = *prow;
	struct rd_cursor c;
	int64_t n = 0, other_cfg = 0;
	enum perr e;
	bool has;

	w_str(w, ws, row++, 0, "Stage runs for this business date (latest of each stage)", w->f.section);
	for (int k = 0; k < (int)(sizeof(h) / sizeof(h[0])); k++)
		w_str(w, ws, row, (lxw_col_t)k, h[k], w->f.header);
	row++;
	if ((e = rd_open(&c, r->ctx->db, "rep_stages", sql_stages, 2, params2)) != PERR_OK)
		return e;
	while (w_ok(w) && (e = rd_next(&c, &has)) == PERR_OK && has) {
		int64_t v[4];
		const char *digest = rd_val(&c, 9);
		bool same = digest != NULL && strcmp(digest, r->cfg->digest) == 0;

		for (int k = 0; k < 4; k++)
			if ((e = rd_parse_i64(rd_val(&c, k == 0 ? 2 : 4 + k), "stage_run", &v[k])) != PERR_OK)
				break;
		if (e != PERR_OK)
			break;
		w_str(w, ws, row, 0, rd_val(&c, 0), fs->text);
		w_str(w, ws, row, 1, rd_val(&c, 8), fs->text);
		w_int(w, ws, row, 2, v[0], w->f.meta_int);
		w_str(w, ws, row, 3, rd_val(&c, 1), fs->text);
		w_ts_s(w, ws, row, 4, rd_val(&c, 3), fs->datetime);
		w_ts_s(w, ws, row, 5, rd_val(&c, 4), fs->datetime);
		w_int(w, ws, row, 6, v[1], fs->num);
		w_int(w, ws, row, 7, v[2], fs->num);
		w_int(w, ws, row, 8, v[3], fs->num);
		w_str(w, ws, row, 9, same ? "this report's" : digest, same ? fs->text : w->f.mono);
		other_cfg += !same;
		row++;
		n++;
	}
	r->res->rows_in += c.rows_read;
	rd_close(&c);
	if (e != PERR_OK)
		return e;
	if (n == 0)
		w_str(w, ws, row++, 0, "No stage has run for this business date.", w->f.note);
	if (other_cfg > 0)
		w_str(w, ws, row++, 0, "A stage above ran with another configuration than this report's "
		    "(its SHA-256 is shown).", w->f.note);
	*prow = row;
	return PERR_OK;
}

/* The Summary, written last from what the other sheets showed: one named step per block. */
static enum perr
sheet_summary(struct rep *r, lxw_worksheet *ws, const char *now_local, const char *const *params2)
{
	struct w *w = &r->w;
	lxw_row_t row = 0, type_hdr = 0;
	int n_types = 0;
	int64_t max_total = 0;
	enum perr e;

	accts_sort(r->accts, r->n_accts);
	sheet_setup(r, ws, false);
	w_chk(w, worksheet_set_column(ws, 0, 0, 30, NULL), "set_column", 0, 0);
	w_chk(w, worksheet_set_column(ws, 1, 1, 20, NULL), "set_column", 0, 1);
	w_chk(w, worksheet_set_column(ws, 2, 3, 13, NULL), "set_column", 0, 2);
	w_chk(w, worksheet_set_column(ws, 4, 9, 14, NULL), "set_column", 0, 4);
	w_chk(w, worksheet_set_column(ws, 10, 40, 9.5, NULL), "set_column", 0, 10);
	worksheet_freeze_panes(ws, 1, 0);

	summary_run(r, ws, &row, now_local);
	summary_accounts(r, ws, &row);
	if ((e = summary_action(r, ws, &row)) != PERR_OK)
		return e;
	summary_movement(r, ws, &row);
	summary_settlements(r, ws, &row);
	summary_types(r, ws, &row, &type_hdr, &n_types, &max_total);
	summary_chart(r, ws, &row, type_hdr, n_types, max_total);
	summary_ageing(r, ws, &row);
	if ((e = summary_inputs(r, ws, &row, params2)) != PERR_OK)
		return e;
	return summary_stages(r, ws, &row, params2);
}

/* ---------------------------------------------------------------- driver */

static enum perr
load_accounts(struct rep *r)
{
	struct rd_cursor c;
	enum perr e;
	bool has;

	if ((e = rd_open(&c, r->ctx->db, "rep_currency", "SELECT code, exponent FROM currency ORDER BY code",
	    0, NULL)) != PERR_OK)
		return e;
	while ((e = rd_next(&c, &has)) == PERR_OK && has) {
		int64_t x;

		if ((e = rd_parse_i64(rd_val(&c, 1), "currency.exponent", &x)) != PERR_OK)
			break;
		if (r->w.ncurx == MAX_CURRENCIES) {
			e = perr_set(PERR_REPORT, "report: more than %d currencies", MAX_CURRENCIES);
			break;
		}
		snprintf(r->w.curx[r->w.ncurx].code, sizeof(r->w.curx[0].code), "%s", rd_val(&c, 0));
		r->w.curx[r->w.ncurx++].exp = (int)x;
	}
	r->res->rows_in += c.rows_read;
	rd_close(&c);
	if (e != PERR_OK)
		return e;

	if ((e = rd_open(&c, r->ctx->db, "rep_accounts", sql_accounts, 0, NULL)) != PERR_OK)
		return e;
	while ((e = rd_next(&c, &has)) == PERR_OK && has) {
		struct acct *a = acct_get(r, rd_val(&c, 0));

		free(a->name);
		free(a->purpose);
		a->name = xstrdup(rd_val(&c, 1));
		a->purpose = xstrdup(rd_val(&c, 2));
		snprintf(a->currency, sizeof(a->currency), "%s", rd_val(&c, 3));
		a->in_ledger = true;
	}
	r->res->rows_in += c.rows_read;
	rd_close(&c);
	if (e != PERR_OK)
		return e;

	if ((e = rd_open(&c, r->ctx->db, "rep_ledger", sql_ledger, 1, r->params1)) != PERR_OK)
		return e;
	while ((e = rd_next(&c, &has)) == PERR_OK && has) {
		struct acct *a = acct_get(r, rd_val(&c, 0));
		int64_t anchor, matched, open;

		if ((e = rd_parse_i64(rd_val(&c, 2), "statement.opening_minor", &anchor)) != PERR_OK ||
		    (e = rd_parse_i64(rd_val(&c, 3), "sum of matched movements", &matched)) != PERR_OK ||
		    (e = rd_parse_i64(rd_val(&c, 4), "sum of open lines", &open)) != PERR_OK)
			break;
		if (!money_add(anchor, matched, &a->ledger)) {
			e = perr_set(PERR_MONEY_OVERFLOW, "report: ledger balance of %s overflows 64 bits", a->account_no);
			break;
		}
		if (a->currency[0] == '\0')
			snprintf(a->currency, sizeof(a->currency), "%s", rd_val(&c, 1));
		a->open_lines = open;
		a->has_ledger = true;
	}
	r->res->rows_in += c.rows_read;
	rd_close(&c);
	return e;
}

/* fsync a file by name (libxlsxwriter closes its own handle). */
static enum perr
fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return perr_set(PERR_IO, "%s: cannot open to sync: %s", path, strerror(errno));
	if (fsync(fd) != 0) {
		int err = errno;
		close(fd);
		return perr_set(PERR_IO, "%s: fsync: %s", path, strerror(err));
	}
	if (close(fd) != 0)
		return perr_set(PERR_IO, "%s: close: %s", path, strerror(errno));
	return PERR_OK;
}

/* What build() plans before it writes: the tables, their row counts and the parameters of the queries. */
struct plan {
	struct tsheet ts_exc, ts_closed, ts_matched, ts_pending, ts_settle, ts_iss, ts_stmt;
	int64_t n_exc, n_closed, n_matched, n_pending, n_transfers, n_alloc, n_iss, n_stmt, shown;
	char from_iso[DATE_BUFSZ], to_iso[DATE_BUFSZ], now_local[32];
	const char *pparams[3], *tzparams[2];
	lxw_worksheet *summary, *bank_rec;
	char *title, *subject, *comments, *author, *t_exc, *t_matched, *t_pending;
};
#define PLAN_TABLES(p) { &(p)->ts_exc, &(p)->ts_closed, &(p)->ts_matched, &(p)->ts_pending, &(p)->ts_settle, \
	&(p)->ts_iss, &(p)->ts_stmt }

/* build step: the query parameters and the clock of the snapshot, in the configured zone. */
static enum perr
build_params(struct rep *r, struct plan *p)
{
	struct stage_ctx *ctx = r->ctx;
	const struct config *cfg = r->cfg;
	const char *tz[1] = { cfg->timezone };
	PGresult *res;

	date_format_iso(rd_pending_from(&cfg->calendar, ctx->date, cfg->match_window_days), p->from_iso);
	date_format_iso(calendar_add_business_days(&cfg->calendar, ctx->date, cfg->match_window_days), p->to_iso);
	p->pparams[0] = ctx->date_iso;
	p->pparams[1] = p->from_iso;
	p->pparams[2] = p->to_iso;
	p->tzparams[0] = ctx->date_iso;
	p->tzparams[1] = cfg->timezone;
	res = db_query(ctx->db, PGRES_TUPLES_OK, "SELECT to_char(now() AT TIME ZONE $1, 'YYYY-MM-DD HH24:MI:SS')", 1, tz);
	if (res == NULL)
		return perr_last() != PERR_OK ? perr_last() : PERR_DB;
	snprintf(p->now_local, sizeof(p->now_local), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return PERR_OK;
}

/* build step: count first, so each table knows how many sheets it needs before any is added. */
static enum perr
build_plan(struct rep *r, struct plan *p)
{
	PGconn *db = r->ctx->db;
	const char *const *p1 = r->params1;
	int64_t on_last;
	enum perr e;

	if ((e = rd_count(db, sql_exc_count, 1, p1, &p->n_exc)) != PERR_OK ||
	    (e = rd_count(db, sql_closed_count, 1, p1, &p->n_closed)) != PERR_OK ||
	    (e = rd_count(db, sql_matched_count, 1, p1, &p->n_matched)) != PERR_OK ||
	    (e = rd_count(db, sql_pending_count, 3, p->pparams, &p->n_pending)) != PERR_OK ||
	    (e = rd_count(db, sql_transfer_count, 1, p1, &p->n_transfers)) != PERR_OK ||
	    (e = rd_count(db, sql_alloc_count, 1, p1, &p->n_alloc)) != PERR_OK ||
	    (e = rd_count(db, sql_issuance_count, 1, p1, &p->n_iss)) != PERR_OK ||
	    (e = rd_count(db, sql_stmt_count, 1, p1, &p->n_stmt)) != PERR_OK)
		return e;
	p->shown = p->n_matched < r->cfg->matched_row_cap ? p->n_matched : r->cfg->matched_row_cap;
	r->matched_capped = p->n_matched > p->shown;
	if ((e = ts_plan(r, &p->ts_exc, "Exceptions", exc_cols, EXC_NCOLS, p->n_exc)) != PERR_OK ||
	    (e = ts_plan(r, &p->ts_closed, "Closed Today", closed_cols, 13, p->n_closed)) != PERR_OK ||
	    (e = ts_plan(r, &p->ts_matched, "Matched", matched_cols, 12, p->shown)) != PERR_OK ||
	    (e = ts_plan(r, &p->ts_pending, "Pending", pending_cols, 12, p->n_pending)) != PERR_OK ||
	    (e = ts_plan(r, &p->ts_settle, "Settlements", transfer_cols, 15, p->n_transfers)) != PERR_OK ||
	    (e = ts_plan(r, &p->ts_iss, "DABS Issuance", issuance_cols, 10, p->n_iss)) != PERR_OK ||
	    (e = ts_plan(r, &p->ts_stmt, "Statements", stmt_cols, 13, p->n_stmt)) != PERR_OK)
		return e;
	/*
	 * The allocation block goes below the transfers on their last sheet; when it would push that
	 * sheet past the row limit, it gets a sheet of its own ("Settlements (N)").
	 */
	on_last = p->n_transfers - p->ts_settle.per_sheet * (p->ts_settle.nsheets - 1);
	if (on_last + p->n_alloc + ALLOC_BLOCK_EXTRA > p->ts_settle.per_sheet && on_last > 0) {
		p->ts_settle.nsheets++;
		p->ts_settle.ws = xrealloc(p->ts_settle.ws, (size_t)p->ts_settle.nsheets * sizeof(*p->ts_settle.ws));
		p->ts_settle.ws[p->ts_settle.nsheets - 1] = NULL;
	}
	return PERR_OK;
}

/* build step: the workbook (constant memory, scratch files in data_dir), its formats and properties. */
static enum perr
build_workbook(struct rep *r, struct plan *p, const char *tmp_path)
{
	struct stage_ctx *ctx = r->ctx;
	const struct config *cfg = r->cfg;
	struct w *w = &r->w;
	lxw_workbook_options opts;
	lxw_doc_properties props;

	memset(&opts, 0, sizeof(opts));
	opts.constant_memory = LXW_TRUE;
	opts.tmpdir = (char *)r->scratch;
	w->wb = workbook_new_opt(tmp_path, &opts);
	if (w->wb == NULL)
		return perr_set(PERR_REPORT, "%s: libxlsxwriter could not create the workbook", tmp_path);
	w->cellbuf = xmalloc(RD_CELL_MAX + 16);
	fmts_init(w);
	p->title = xasprintf("Reconciliation report %s", ctx->date_iso);
	p->subject = xasprintf("Nightly reconciliation and settlement for business date %s", ctx->date_iso);
	p->author = xasprintf("pipeline %s", PIPELINE_VERSION);
	p->comments = xasprintf("configuration digest %s; report run %lld", cfg->digest, (long long)ctx->run_id);
	memset(&props, 0, sizeof(props));
	props.title = p->title;
	props.subject = p->subject;
	props.author = p->author;
	props.company = cfg->company != NULL ? cfg->company : (char *)"";
	props.category = (char *)"Reconciliation";
	props.keywords = (char *)"reconciliation, DABS, client money";
	props.comments = p->comments;
	w_chk(w, workbook_set_properties(w->wb, &props), "set_properties", 0, 0);
	return PERR_OK;
}

/* build step: every sheet in its order (the Summary is filled last from what the others showed). */
static void
build_sheets(struct rep *r, struct plan *p)
{
	struct stage_ctx *ctx = r->ctx;

	p->summary = sheet_add(r, "Summary");
	p->bank_rec = sheet_add(r, "Bank Reconciliation");
	p->t_exc = xasprintf("Open exceptions at the end of %s - errors first, then oldest first; "
	    "opened today highlighted", ctx->date_iso);
	ts_add(r, &p->ts_exc, p->t_exc);
	ts_add(r, &p->ts_closed, "Exceptions closed on this business date, and who or what closed them");
	if (r->matched_capped)
		p->t_matched = xasprintf("Matches made on %s: the first %lld of %lld (row cap); the full list is in "
		    "recon-%s-matched.csv beside this workbook", ctx->date_iso, (long long)p->shown,
		    (long long)p->n_matched, ctx->date_iso);
	else
		p->t_matched = xasprintf("Matches made on %s, with the rule that made each", ctx->date_iso);
	ts_add(r, &p->ts_matched, p->t_matched);
	p->t_pending = xasprintf("Expected movements still inside their window of %d business days "
	    "(not breaks yet)", r->cfg->match_window_days);
	ts_add(r, &p->ts_pending, p->t_pending);
	ts_add(r, &p->ts_settle, "Transfers of the day, held for approval, rejected by the bank, or moved by its answer today");
	ts_add(r, &p->ts_iss, "DABS issuance records of the day");
	ts_add(r, &p->ts_stmt, "Statement files of the day: loaded, quarantined or duplicate");
	if (w_ok(&r->w))
		worksheet_activate(p->summary);
}

/* build step: the rows of every sheet, streamed in sheet order, then the Summary. */
static enum perr
build_write(struct rep *r, struct plan *p, struct atomic_file *csv)
{
	enum perr e = PERR_OK;      /* a libxlsxwriter error is in r->w, reported by build_finish */

	r->pb = progress_bar_start("report", p->ts_exc.nrows + p->ts_closed.nrows + p->ts_matched.nrows
	    + p->ts_pending.nrows + p->ts_settle.nrows + p->ts_iss.nrows + p->ts_stmt.nrows, PROGRESS_ITEMS);
	if (!w_ok(&r->w) ||
	    (e = sheet_bank_rec(r, p->bank_rec)) != PERR_OK ||
	    (e = sheet_exceptions(r, &p->ts_exc)) != PERR_OK ||
	    (e = sheet_closed(r, &p->ts_closed)) != PERR_OK ||
	    (e = sheet_matched(r, &p->ts_matched, p->shown, csv)) != PERR_OK ||
	    (e = sheet_pending(r, &p->ts_pending, p->pparams)) != PERR_OK ||
	    (e = sheet_settlements(r, &p->ts_settle, p->tzparams)) != PERR_OK ||
	    (e = sheet_issuance(r, &p->ts_iss)) != PERR_OK ||
	    (e = sheet_statements(r, &p->ts_stmt)) != PERR_OK ||
	    (e = sheet_summary(r, p->summary, p->now_local, p->tzparams)) != PERR_OK)
		return e;
	return PERR_OK;
}

/*
 * build step: closes the workbook (on every path: it also frees it), commits or drops the Matched CSV,
 * syncs the file, and frees the plan. Returns the first error, `e` if there was one already.
 */
static enum perr
build_finish(struct rep *r, struct plan *p, enum perr e, const char *tmp_path, const char *csv_path,
    struct atomic_file *csv)
{
	struct w *w = &r->w;
	struct tsheet *all[] = PLAN_TABLES(p);

	progress_bar_end(r->pb);
	r->pb = NULL;
	if (e == PERR_OK && w->perr != PERR_OK)
		e = w->perr;
	if (e == PERR_OK && w->lerr != LXW_NO_ERROR)
		e = perr_set(PERR_REPORT, "%s: libxlsxwriter: %s (%s)", tmp_path, lxw_strerror(w->lerr), w->where);
	if (w->wb != NULL) {
		lxw_error ce = workbook_close(w->wb);

		w->wb = NULL;
		if (ce != LXW_NO_ERROR && e == PERR_OK)
			e = perr_set(PERR_REPORT, "%s: libxlsxwriter could not write the workbook: %s",
			    tmp_path, lxw_strerror(ce));
	}
	if (csv != NULL) {
		if (e == PERR_OK)
			e = atomic_commit(csv);
		else
			atomic_abort(csv);
	}
	if (e == PERR_OK && !r->matched_capped && unlink(csv_path) != 0 && errno != ENOENT)
		e = perr_set(PERR_IO, "%s: cannot remove the previous run's CSV: %s", csv_path, strerror(errno));
	if (e == PERR_OK)
		e = fsync_path(tmp_path);
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		r->res->sheets += all[i]->nsheets;
		ts_free(all[i]);
	}
	r->res->sheets += 2;    /* Summary, Bank Reconciliation */
	free(w->cellbuf);
	free(p->title);
	free(p->subject);
	free(p->author);
	free(p->comments);
	free(p->t_exc);
	free(p->t_matched);
	free(p->t_pending);
	return e;
}

/* The workbook at tmp_path (and the Matched CSV at csv_path when capped), as named steps. */
static enum perr
build(struct rep *r, const char *dir, const char *tmp_path, const char *csv_path)
{
	struct plan p;
	struct atomic_file *csv = NULL;
	enum perr e;

	(void)dir;
	memset(&p, 0, sizeof(p));
	if ((e = build_params(r, &p)) != PERR_OK)
		return e;
	if ((e = build_plan(r, &p)) == PERR_OK && (e = load_accounts(r)) == PERR_OK &&
	    (!r->matched_capped || (e = atomic_open(csv_path, &csv)) == PERR_OK) &&
	    (e = build_workbook(r, &p, tmp_path)) == PERR_OK) {
		build_sheets(r, &p);
		e = build_write(r, &p, csv);
	}
	return build_finish(r, &p, e, tmp_path, csv_path, csv);
}

/*
 * Removes what a killed report run left behind: libxlsxwriter's temporary files in `scratch` and
 * our own ".recon-DATE.xlsx.tmp.PID" in `dir`. The run lock is held, so no other writer is active.
 */
static enum perr
clean_leftovers(const char *scratch, const char *dir, const char *date_iso)
{
	char *prefix = xasprintf(".recon-%s.xlsx.tmp.", date_iso);
	enum perr e = remove_leftovers(scratch, "");

	if (e == PERR_OK)
		e = remove_leftovers(dir, prefix);
	free(prefix);
	return e;
}

enum perr
report_write(struct stage_ctx *ctx, const char *dir, struct report_result *out)
{
	struct rep r;
	enum perr e;
	char *final = NULL, *tmp = NULL, *csv = NULL, *scratch = NULL;
	bool own_txn = false;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	r.ctx = ctx;
	r.cfg = ctx->cfg;
	r.res = out;
	r.params1[0] = ctx->date_iso;

	if ((e = mkdir_p(dir, 0750)) != PERR_OK)
		return e;
	{
		struct stat st;

		if (stat(dir, &st) != 0)
			return perr_set(PERR_IO, "%s: %s", dir, strerror(errno));
		if (!S_ISDIR(st.st_mode))
			return perr_set(PERR_IO, "%s: not a directory: cannot write the report there", dir);
	}
	r.scratch = scratch = xasprintf("%s/tmp/report", ctx->cfg->data_dir);
	if ((e = mkdir_p(scratch, 0700)) != PERR_OK || (e = clean_leftovers(scratch, dir, ctx->date_iso)) != PERR_OK) {
		free(scratch);
		return e;
	}
	final = xasprintf("%s/recon-%s.xlsx", dir, ctx->date_iso);
	tmp = xasprintf("%s/.recon-%s.xlsx.tmp.%ld", dir, ctx->date_iso, (long)getpid());
	csv = xasprintf("%s/recon-%s-matched.csv", dir, ctx->date_iso);

	/* One snapshot for every sheet, so they agree with each other and with the counts. */
	if (PQtransactionStatus(ctx->db) == PQTRANS_IDLE) {
		if ((e = db_exec(ctx->db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")) != PERR_OK)
			goto out;
		own_txn = true;
	}
	e = build(&r, dir, tmp, csv);
	if (own_txn) {
		if (e == PERR_OK)
			e = db_commit(ctx->db);
		else
			db_rollback(ctx->db);
	}
	if (e == PERR_OK && rename(tmp, final) != 0)
		e = perr_set(PERR_IO, "%s: cannot rename into place: %s", final, strerror(errno));
	if (e == PERR_OK)
		e = fsync_dir_of(final, false);
	out->open_errors = r.open_err;
	out->open_warnings = r.open_warn;
	out->matched_total = r.matched_total;
	out->matched_csv = r.matched_capped;
out:
	if (e != PERR_OK)
		(void)unlink(tmp);
	for (size_t i = 0; i < r.n_accts; i++) {
		free(r.accts[i].account_no);
		free(r.accts[i].name);
		free(r.accts[i].purpose);
	}
	free(r.accts);
	for (size_t i = 0; i < r.n_bks; i++)
		free(r.bks[i].account_no);
	free(r.bks);
	free(r.curs);
	free(final);
	free(tmp);
	free(csv);
	free(scratch);
	return e;
}
