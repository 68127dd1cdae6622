/*
 * fuzz_ledger.c - libFuzzer harness for the ledger extract reader (commands/ledger_import.c): any bytes
 * as one extract CSV file, checked and turned into COPY text exactly as `pipeline ledger import`
 * does before it touches the database. The file kind (accounts.csv, cash_movements.csv, ...) is
 * the one whose header the input starts with, else chosen by the first byte.
 * Properties: either the file is rejected with PERR_IMPORT (or PERR_NOMEM) and a "path:line: ..."
 * detail, or every accepted row became exactly one COPY line with exactly one tab per column (no
 * tab, newline or backslash from the input escapes its field: nothing can smuggle a row or a
 * column into the COPY stream), and the line count equals the rows counted.
 * The reader's functions are static, so this file includes ledger_import.c with its one external
 * symbol renamed (the program's own ledger_import.o keeps cmd_ledger). The bytes go to a memfd.
 * Run by fuzz/run.sh (seeds: the SEEDS line below).
 */
// SEEDS: fixtures/ledger/*/*.csv fixtures/ledger-bad/*.csv fixtures/ledger-small/*/*.csv fixtures/settle/ledger/*.csv
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#define cmd_ledger fuzz_ledger_unused_cmd_ledger
#include "../commands/ledger_import.c"
#undef cmd_ledger

int fuzz_ledger_unused_cmd_ledger(int argc, char **argv, const char *config_path);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The extract file whose header row (column names joined by ',') the input starts with. */
static int
pick_file(const uint8_t *data, size_t size)
{
	char hdr[512];
	int f, c;

	for (f = 0; f < N_EXTRACT_FILES; f++) {
		size_t n = 0;

		hdr[0] = '\0';
		for (c = 0; c < extract_files[f].n_cols; c++)
			n += (size_t)snprintf(hdr + n, sizeof hdr - n, "%s%s", c ? "," : "", extract_files[f].cols[c].csv_name);
		if (size >= n && !memcmp(data, hdr, n))
			return f;
	}
	return size ? data[0] % N_EXTRACT_FILES : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	struct reader r;
	enum perr e;
	size_t i, lines = 0, tabs = 0;
	int f = pick_file(data, size);

	if (fd < 0) {
		if ((fd = memfd_create("fuzz_ledger", 0)) < 0)
			abort();
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	memset(&r, 0, sizeof r);
	r.ef = &extract_files[f];
	r.path = path;
	perr_clear();
	e = read_extract_file(&r);
	if (e == PERR_OK) {
		for (i = 0; i < r.copy_len; i++) {
			if (r.copy[i] == '\t') {
				tabs++;
			} else if (r.copy[i] == '\n') {
				/* line number + one field per column: n_cols tabs on each line */
				if (tabs != (size_t)r.ef->n_cols)
					abort();
				tabs = 0;
				lines++;
			}
		}
		if (tabs != 0 || lines != (size_t)r.rows)
			abort();
	} else if (e != PERR_IMPORT && e != PERR_NOMEM) {
		abort();
	} else if (strncmp(perr_detail(), path, strlen(path)) != 0) {
		abort();     /* every rejection names the file */
	}
	free(r.copy);
	return 0;
}
