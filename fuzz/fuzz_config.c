/*
 * fuzz_config.c - libFuzzer harness for the configuration parser (src/config.c, libinih):
 * any bytes as a pipeline.conf. Properties: config_load either succeeds with a configuration
 * whose sources all have a name, a format and a transport, or fails with PERR_CONFIG and a
 * non-empty detail; never crashes, leaks or reads out of bounds. The bytes go to a memfd and are
 * read back through /proc/self/fd (no disk I/O per input). The working directory is the repository
 * (fuzz/run.sh runs harnesses from build/fuzz/NAME; relative paths then point nowhere, which is
 * one more error path). Run by fuzz/run.sh (seeds: the SEEDS line below).
 */
// SEEDS: pipeline.conf fixtures/config-bad/*.conf
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	struct config *cfg = NULL;
	enum perr e;
	size_t i;

	if (fd < 0) {
		if ((fd = memfd_create("fuzz_config", 0)) < 0)
			abort();
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	perr_clear();
	e = config_load(path, &cfg);
	if (e == PERR_OK) {
		if (cfg == NULL)
			abort();
		for (i = 0; i < cfg->n_sources; i++)
			if (cfg->sources[i].name == NULL || cfg->sources[i].format == NULL)
				abort();
		config_free(cfg);
	} else {
		if (e != PERR_CONFIG && e != PERR_NOMEM && e != PERR_IO)
			abort();
		if (perr_detail()[0] == '\0')
			abort();
	}
	return 0;
}
