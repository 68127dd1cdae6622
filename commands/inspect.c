/*
 * inspect.c - `pipeline inspect [--format NAME] [--source NAME] [--encoding ENC] FILE...`: parses
 * statement files without touching the database and prints them as JSON Lines: per statement a
 * {"kind":"statement",...} object, then one {"kind":"line",...} object per line (a trustee
 * register prints {"kind":"register",...} then {"kind":"holding",...}). This is how a person
 * checks a new bank's file before it goes live.
 *
 * Each file is read twice: the first pass validates the whole file and collects the statement
 * headers (the closing balance comes after the lines), the second prints. Memory grows with the
 * number of statements in a file, not with its lines. A file that fails prints nothing on stdout
 * and its error on stderr; the exit status is 1 if any file failed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "config.h"
#include "trust.h"
#include "errors.h"
#include "layout.h"
#include "money.h"
#include "refx.h"
#include "statement.h"
#include "util.h"

struct collect {
	struct stmt_header *h;
	size_t n, cap;
	int64_t reg_rows;
	bool reg_have_as_of;
	date_t reg_as_of;
};

static enum perr
collect_end(void *arg, const struct stmt_header *h)
{
	struct collect *c = arg;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 8;
		c->h = xrealloc(c->h, c->cap * sizeof *c->h);
	}
	c->h[c->n++] = *h;
	return PERR_OK;
}

static enum perr
collect_reg_end(void *arg, int64_t rows, bool have_as_of, date_t as_of)
{
	struct collect *c = arg;

	c->reg_rows = rows;
	c->reg_have_as_of = have_as_of;
	c->reg_as_of = as_of;
	return PERR_OK;
}

struct printer {
	FILE *out;
	const struct collect *c;
	size_t idx;            /* statement being printed */
	const char *file;
	const char *format;
};

static void
put_date(FILE *fp, date_t d)
{
	char b[DATE_BUFSZ];

	fprintf(fp, "\"%s\"", date_format_iso(d, b));
}

static void
put_balance(FILE *fp, const struct stmt_balance *b)
{
	fputs("{\"date\":", fp);
	put_date(fp, b->date);
	fprintf(fp, ",\"amount_minor\":%lld,\"mark\":\"%c\",\"intermediate\":%s}", (long long)b->amount_minor,
	    b->mark ? b->mark : 'C', b->intermediate ? "true" : "false");
}

static enum perr
print_begin(void *arg, const struct stmt_header *hb)
{
	struct printer *p = arg;
	const struct stmt_header *h;

	(void)hb;
	if (p->idx >= p->c->n)
		return perr_set(PERR_INTERNAL, "%s: the file changed between the two passes", p->file);
	h = &p->c->h[p->idx];
	fputs("{\"kind\":\"statement\",\"file\":", p->out);
	json_put_string(p->out, p->file);
	fputs(",\"format\":", p->out);
	json_put_string(p->out, p->format);
	fputs(",\"account\":", p->out);
	json_put_string(p->out, h->account);
	fputs(",\"statement_no\":", p->out);
	json_put_string(p->out, h->statement_no);
	fputs(",\"sequence_no\":", p->out);
	json_put_string(p->out, h->sequence_no);
	fputs(",\"currency\":", p->out);
	json_put_string(p->out, h->currency);
	fputs(",\"opening\":", p->out);
	put_balance(p->out, &h->opening);
	fputs(",\"closing\":", p->out);
	put_balance(p->out, &h->closing);
	fprintf(p->out, ",\"line_count\":%lld}\n", (long long)h->line_count);
	return PERR_OK;
}

static enum perr
print_line(void *arg, const struct stmt_header *h, const struct stmt_line *l)
{
	struct printer *p = arg;
	FILE *o = p->out;

	fprintf(o, "{\"kind\":\"line\",\"line_no\":%lld,\"value_date\":", (long long)l->line_no);
	put_date(o, l->value_date);
	fputs(",\"entry_date\":", o);
	if (l->has_entry_date)
		put_date(o, l->entry_date);
	else
		fputs("null", o);
	fprintf(o, ",\"mark\":\"%s\",\"funds_code\":", l->mark);
	json_put_string(o, l->funds_code);
	fprintf(o, ",\"amount_minor\":%lld,\"currency\":", (long long)l->amount_minor);
	json_put_string(o, h->currency);
	fputs(",\"type_code\":", o);
	json_put_string(o, l->type_code);
	fputs(",\"customer_ref\":", o);
	json_put_string(o, l->customer_ref);
	fputs(",\"bank_ref\":", o);
	json_put_string(o, l->bank_ref);
	fputs(",\"supplementary\":", o);
	json_put_string(o, l->supplementary);
	fputs(",\"narrative\":", o);
	json_put_string(o, l->narrative);
	fputs(",\"reference\":", o);
	json_put_string(o, l->reference);
	fputs("}\n", o);
	return PERR_OK;
}

static enum perr
print_end(void *arg, const struct stmt_header *h)
{
	struct printer *p = arg;

	(void)h;
	p->idx++;
	return PERR_OK;
}

static enum perr
print_holding(void *arg, const struct register_row *r)
{
	struct printer *p = arg;

	fprintf(p->out, "{\"kind\":\"holding\",\"line\":%ld,\"as_of_date\":", r->src_line);
	put_date(p->out, r->as_of_date);
	fputs(",\"offering_id\":", p->out);
	json_put_string(p->out, r->offering_id);
	fputs(",\"investor_id\":", p->out);
	json_put_string(p->out, r->investor_id);
	fprintf(p->out, ",\"units\":%lld}\n", (long long)r->units);
	return PERR_OK;
}

/* Parses one file twice (validate + collect, then print). */
static enum perr
inspect_file(const char *path, const struct format *fmt, enum text_encoding enc, const struct refx *rx)
{
	struct collect c = { 0 };
	struct printer pr = { .out = stdout, .c = &c, .file = path, .format = fmt->name };
	struct parse_opts o = { .path = path, .encoding = enc, .refx = rx };
	FILE *fp;
	enum perr e;

	if (fmt->kind == FORMAT_BANKCSV)
		o.encoding = fmt->layout->encoding;
	fp = fopen(path, "rb");
	if (fp == NULL)
		return perr_set(PERR_IO, "%s: cannot open: %s", path, strerror(errno));
	if (fmt->kind == FORMAT_TRUSTEE) {
		struct register_sink s1 = { .arg = &c, .end = collect_reg_end };
		struct register_sink s2 = { .arg = &pr, .row = print_holding };

		e = trustee_parse(fp, &o, &s1);
		if (e == PERR_OK) {
			rewind(fp);
			fputs("{\"kind\":\"register\",\"file\":", stdout);
			json_put_string(stdout, path);
			fputs(",\"format\":\"trustee_register\",\"as_of_date\":", stdout);
			if (c.reg_have_as_of)
				put_date(stdout, c.reg_as_of);
			else
				fputs("null", stdout);
			fprintf(stdout, ",\"holdings\":%lld}\n", (long long)c.reg_rows);
			e = trustee_parse(fp, &o, &s2);
		}
	} else {
		struct stmt_sink s1 = { .arg = &c, .end = collect_end };
		struct stmt_sink s2 = { .arg = &pr, .begin = print_begin, .line = print_line, .end = print_end };

		e = format_parse_statements(fmt, fp, &o, &s1);
		if (e == PERR_OK) {
			rewind(fp);
			e = format_parse_statements(fmt, fp, &o, &s2);
		}
	}
	fclose(fp);
	free(c.h);
	return e;
}

static void
inspect_usage(FILE *fp)
{
	fprintf(fp, "usage: pipeline inspect [--format NAME] [--source NAME] [--encoding ENC] FILE...\n"
	    "Parses statement files without the database and prints them as JSON Lines.\n"
	    "  --format NAME    mt940, trustee_register or a layout under formats/ (default: guessed)\n"
	    "  --source NAME    use that [source.NAME]'s format, encoding and reference patterns\n"
	    "  --encoding ENC   UTF-8 (default) or ISO-8859-1 for MT940 and the trustee register\n"
	    "Errors go to standard error; the exit status is 1 if any file failed.\n");
}

int
cmd_inspect(int argc, char **argv, const char *conf_file)
{
	const char *format_name = NULL, *source_name = NULL, *enc_name = NULL;
	struct config *cfg = NULL;
	char *formats_dir = NULL;
	const struct source_cfg *src = NULL;
	struct refx *rx = NULL;
	struct format *fixed = NULL;
	enum text_encoding enc = ENC_UTF8;
	int i, rc = 0;
	enum perr e;

	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			inspect_usage(stdout);
			return 0;
		}
		if (i + 1 >= argc) {
			inspect_usage(stderr);
			return 2;
		}
		if (strcmp(argv[i], "--format") == 0)
			format_name = argv[++i];
		else if (strcmp(argv[i], "--source") == 0)
			source_name = argv[++i];
		else if (strcmp(argv[i], "--encoding") == 0)
			enc_name = argv[++i];
		else {
			fprintf(stderr, "pipeline: inspect: unknown option %s\n", argv[i]);
			inspect_usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		inspect_usage(stderr);
		return 2;
	}
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);   /* millions of short lines */
	if (enc_name != NULL && !text_encoding_from_name(enc_name, &enc)) {
		fprintf(stderr, "pipeline: inspect: encoding \"%s\" is not UTF-8 or ISO-8859-1\n", enc_name);
		return 2;
	}
	/* The configuration is optional here: it only says where the layouts are and what a source uses. */
	if (config_load(conf_file, &cfg) == PERR_OK) {
		if (trust_require(cfg) != PERR_OK) {   /* the layouts say how money is read (src/trust.h) */
			fprintf(stderr, "pipeline: inspect: %s\n", perr_detail());
			config_free(cfg);
			return 2;
		}
		formats_dir = config_path(cfg, cfg->formats_dir ? cfg->formats_dir : "formats");
	} else if (source_name != NULL) {
		fprintf(stderr, "pipeline: inspect: %s\n", perr_detail());
		return 2;
	} else {
		formats_dir = xstrdup("formats");
	}
	if (source_name != NULL) {
		src = config_source(cfg, source_name);
		if (src == NULL) {
			fprintf(stderr, "pipeline: inspect: no [source.%s] in %s\n", source_name, conf_file);
			rc = 2;
			goto out;
		}
		if (format_name == NULL)
			format_name = src->format;
		if (enc_name == NULL && src->encoding != NULL && !text_encoding_from_name(src->encoding, &enc)) {
			fprintf(stderr, "pipeline: inspect: source %s: encoding \"%s\" is unknown\n", source_name,
			    src->encoding);
			rc = 2;
			goto out;
		}
		if (src->n_reference_patterns > 0) {
			char origin[128];

			snprintf(origin, sizeof origin, "[source.%s]", source_name);
			e = refx_compile((const char *const *)src->reference_patterns, src->n_reference_patterns,
			    origin, &rx);
			if (e != PERR_OK) {
				fprintf(stderr, "pipeline: inspect: %s\n", perr_detail());
				rc = 2;
				goto out;
			}
		}
	}
	if (format_name != NULL && (e = format_open(formats_dir, format_name, &fixed)) != PERR_OK) {
		fprintf(stderr, "pipeline: inspect: %s\n", perr_detail());
		rc = 2;
		goto out;
	}
	for (; i < argc; i++) {
		struct format *f = fixed;

		if (f == NULL && (e = format_guess(formats_dir, argv[i], enc, &f)) != PERR_OK) {
			fprintf(stderr, "pipeline: inspect: %s\n", perr_detail());
			rc = 1;
			continue;
		}
		e = inspect_file(argv[i], f, enc, rx);
		if (e != PERR_OK) {
			fflush(stdout);
			fprintf(stderr, "pipeline: inspect: %s\n", perr_detail());
			rc = 1;
		}
		if (f != fixed)
			format_free(f);
	}
out:
	format_free(fixed);
	refx_free(rx);
	free(formats_dir);
	config_free(cfg);
	return rc;
}
