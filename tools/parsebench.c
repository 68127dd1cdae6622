/*
 * parsebench.c - bench helper (bench/normalize.sh): parses one file with the real parser and a sink
 * that only counts, and prints "lines seconds" - the parser's own cost without JSON or database.
 * Usage: parsebench FORMAT FILE [FORMATS_DIR]. Also `parsebench --csv-floor FILE [DELIM]`: a bare
 * libcsv pass over the file (the floor the issue names), counting records and fields.
 */
#include <csv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "layout.h"
#include "statement.h"

static long long nlines, nfields, nrecords;

static enum perr
count_line(void *arg, const struct stmt_header *h, const struct stmt_line *l)
{
	(void)arg;
	(void)h;
	(void)l;
	nlines++;
	return PERR_OK;
}

static void
cb1(void *s, size_t n, void *d)
{
	(void)s;
	(void)n;
	(void)d;
	nfields++;
}

static void
cb2(int c, void *d)
{
	(void)c;
	(void)d;
	nrecords++;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	double t0 = now();

	if (argc >= 3 && strcmp(argv[1], "--csv-floor") == 0) {
		struct csv_parser p;
		static char buf[1 << 16];
		FILE *fp = fopen(argv[2], "rb");
		size_t n;

		if (fp == NULL || csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0)
			return 1;
		if (argc >= 4)
			csv_set_delim(&p, (unsigned char)argv[3][0]);
		while ((n = fread(buf, 1, sizeof buf, fp)) > 0)
			if (csv_parse(&p, buf, n, cb1, cb2, NULL) != n)
				return 1;
		csv_fini(&p, cb1, cb2, NULL);
		csv_free(&p);
		fclose(fp);
		printf("%lld %.3f\n", nrecords, now() - t0);
		return 0;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: parsebench FORMAT FILE [FORMATS_DIR] | parsebench --csv-floor FILE [DELIM]\n");
		return 2;
	}
	{
		struct format *f = NULL;
		struct parse_opts o = { .path = argv[2], .encoding = ENC_UTF8 };
		struct stmt_sink s = { .line = count_line };
		FILE *fp;

		if (format_open(argc > 3 ? argv[3] : "formats", argv[1], &f) != PERR_OK) {
			fprintf(stderr, "%s\n", perr_detail());
			return 1;
		}
		fp = fopen(argv[2], "rb");
		if (fp == NULL || format_parse_statements(f, fp, &o, &s) != PERR_OK) {
			fprintf(stderr, "%s\n", perr_detail());
			return 1;
		}
		fclose(fp);
		format_free(f);
	}
	printf("%lld %.3f\n", nlines, now() - t0);
	return 0;
}
