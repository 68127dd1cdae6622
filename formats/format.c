/*
 * format.c - the format registry: a source's `format` name to its parser, and guessing the
 * format of a file from its content (for `pipeline inspect`): MT940, camt.053/camt.054 (an XML
 * document with a camt namespace), the trustee register, else the first layout that parses it.
 */
#include "statement.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layout.h"
#include "suggest.h"
#include "util.h"

/*
 * The registry: the formats that are code, by the name a source's `format =` gives. Any other
 * name is a CSV layout, formats_dir/NAME.layout. A new kind of format is one row here (and its
 * case in format_parse_statements); configuration checking (format_check) reads this table too.
 */
static const struct {
	const char *name;
	enum format_kind kind;
} builtin_formats[] = {
	{ "mt940", FORMAT_MT940 },
	{ "trustee_register", FORMAT_TRUSTEE },
	{ "camt053", FORMAT_CAMT },     /* camt053 and camt054: one parser, the document's namespace decides */
	{ "camt054", FORMAT_CAMT },
	{ "pain002", FORMAT_PAIN002 },          /* payment status reports (pain002.h), not statements */
	/* FORMATS: add rows here */
};
#define N_BUILTIN (sizeof builtin_formats / sizeof builtin_formats[0])

void
format_free(struct format *f)
{
	if (f == NULL)
		return;
	free(f->name);
	layout_free(f->layout);
	free(f);
}

static bool
name_ok(const char *name)
{
	const char *p;

	if (name == NULL || name[0] == '\0' || name[0] == '.')
		return false;
	for (p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
		    || *p == '-' || *p == '_' || *p == '.'))
			return false;
	return true;
}

static int layout_filter(const struct dirent *d);

/* "format X is not ...": the names there are, and the nearest of them. */
static enum perr
unknown_format(const char *formats_dir, const char *name, const char *path)
{
	struct dirent **names = NULL;
	int nn = scandir(formats_dir, &names, layout_filter, alphasort), k;
	const char **cand = xcalloc(N_BUILTIN + (size_t)(nn > 0 ? nn : 0) + 1, sizeof *cand);
	char list[1024] = "";
	const char *near;
	size_t n = 0, i;
	enum perr e;

	for (i = 0; i < N_BUILTIN; i++)
		cand[n++] = builtin_formats[i].name;
	for (k = 0; k < nn; k++) {
		names[k]->d_name[strlen(names[k]->d_name) - 7] = '\0';   /* without .layout */
		cand[n++] = names[k]->d_name;
	}
	for (i = 0; i < n; i++)
		snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", cand[i]);
	near = near_word(name, cand, n);
	e = perr_set(PERR_CONFIG, "format \"%s\" is not a format%s%s%s: the formats are %s (a layout is a "
	    "file in %s; there is no %s)", name, near ? " (did you mean \"" : "", near ? near : "",
	    near ? "\"?)" : "", list, formats_dir, path);
	for (k = 0; k < nn; k++)
		free(names[k]);
	free(names);
	free(cand);
	return e;
}

enum perr
format_check(const char *formats_dir, const char *name)
{
	struct format *f = NULL;
	enum perr e = format_open(formats_dir, name, &f);

	format_free(f);
	return e;
}

enum perr
format_open(const char *formats_dir, const char *name, struct format **out)
{
	struct format *f;
	char *path;
	enum perr e;
	size_t i;

	*out = NULL;
	if (!name_ok(name))
		return perr_set(PERR_CONFIG, "format \"%s\" is not a valid format name (letters, digits, '-', '_')",
		    name ? name : "");
	f = xcalloc(1, sizeof *f);
	f->name = xstrdup(name);
	f->kind = FORMAT_BANKCSV;
	for (i = 0; i < N_BUILTIN; i++)
		if (strcmp(name, builtin_formats[i].name) == 0)
			f->kind = builtin_formats[i].kind;
	if (f->kind == FORMAT_BANKCSV) {
		path = xasprintf("%s/%s.layout", formats_dir, name);
		if (access(path, F_OK) != 0) {
			e = unknown_format(formats_dir, name, path);
			free(path);
			format_free(f);
			return e;
		}
		e = layout_load(path, &f->layout);
		free(path);
		if (e != PERR_OK) {
			format_free(f);
			return e;
		}
	}
	*out = f;
	return PERR_OK;
}

enum perr
format_parse_statements(const struct format *f, FILE *fp, const struct parse_opts *o,
    const struct stmt_sink *sink)
{
	switch (f->kind) {
	case FORMAT_MT940:
		return mt940_parse(fp, o, sink);
	case FORMAT_BANKCSV:
		return bankcsv_parse(fp, f->layout, o, sink);
	case FORMAT_CAMT:
		return camt_parse(fp, o, sink);
	case FORMAT_TRUSTEE:
	case FORMAT_PAIN002:
		break;
	}
	return perr_set(PERR_INTERNAL, "%s: format %s does not hold statements", o->path, f->name);
}

static int
layout_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 7 && strcmp(d->d_name + n - 7, ".layout") == 0 && d->d_name[0] != '.';
}

enum perr
format_guess(const char *formats_dir, const char *path, enum text_encoding enc, struct format **out)
{
	FILE *fp;
	char head[512];
	size_t n, i;
	const char *p;
	struct dirent **names = NULL;
	int nn, k;
	char tried[1500] = "";
	static const char reg_header[] = "as_of_date,offering_id,investor_id,units";

	*out = NULL;
	fp = fopen(path, "rb");
	if (fp == NULL)
		return perr_set(PERR_IO, "%s: cannot open: %s", path, strerror(errno));
	n = fread(head, 1, sizeof head - 1, fp);
	head[n] = '\0';
	p = head;
	if (n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	while (*p == '\r' || *p == '\n' || *p == ' ' || *p == 0x01)
		p++;
	/* MT940 also after bank header lines (a BIC, "940"): a line starting with :20: early on */
	if (strncmp(p, "{1:", 3) == 0 || strncmp(p, ":20:", 4) == 0 || strstr(p, "\n:20:") != NULL) {
		fclose(fp);
		return format_open(formats_dir, "mt940", out);
	}
	if (camt_sniff(p, n - (size_t)(p - head))) {
		fclose(fp);
		return format_open(formats_dir, strstr(p, "camt.054.") != NULL ? "camt054" : "camt053", out);
	}
	if (strncmp(p, reg_header, sizeof reg_header - 1) == 0
	    && (p[sizeof reg_header - 1] == '\n' || p[sizeof reg_header - 1] == '\r')) {
		fclose(fp);
		return format_open(formats_dir, "trustee_register", out);
	}
	nn = scandir(formats_dir, &names, layout_filter, alphasort);
	if (nn < 0) {
		fclose(fp);
		return perr_set(PERR_IO, "%s: cannot list the layouts in %s: %s", path, formats_dir, strerror(errno));
	}
	for (k = 0; k < nn; k++) {
		struct format *f = NULL;
		struct parse_opts o = { .path = path, .encoding = enc, .refx = NULL };
		struct stmt_sink none = { 0 };
		char name[256];
		enum perr e;

		snprintf(name, sizeof name, "%.*s", (int)(strlen(names[k]->d_name) - 7), names[k]->d_name);
		e = format_open(formats_dir, name, &f);
		if (e == PERR_OK) {
			rewind(fp);
			e = bankcsv_parse(fp, f->layout, &o, &none);
		}
		if (e == PERR_OK && *out == NULL) {
			*out = f;
			continue;
		}
		format_free(f);
		if (strlen(tried) + 300 < sizeof tried) {
			const char *d = perr_detail();
			const char *rest = strstr(d, path) == d && d[strlen(path)] == ':' ? d + strlen(path) + 1 : d;

			snprintf(tried + strlen(tried), sizeof tried - strlen(tried), "%sline %.200s",
			    tried[0] ? "; " : "", rest);
		}
	}
	for (i = 0; i < (size_t)(nn > 0 ? nn : 0); i++)
		free(names[i]);
	free(names);
	fclose(fp);
	if (*out != NULL)
		return PERR_OK;
	return perr_set(PERR_PARSE, "%s: cannot tell the format: it is not MT940 (no :20: or {1: at the start), "
	    "not camt.053/camt.054 (no ISO 20022 camt namespace in the first bytes), "
	    "not a trustee register (no header %s), and no layout in %s parses it%s%s", path, reg_header,
	    formats_dir, tried[0] ? ": " : "", tried);
}
