/*
 * fuzz_mt940_86.c - libFuzzer harness for the structured :86: decoders (formats/mt940_86.c) on
 * their own: any bytes as a :86: text, decoded twice into the same struct (the buffers are reused),
 * checking that every part is NUL-terminated, no longer than the input, and that a text is
 * classified the same way both times. A NUL byte never reaches the decoder (the MT940 parser
 * refuses it before), so such inputs are skipped. Seeds: the dialect fixtures.
 */
// SEEDS: fixtures/formats/mt940-dialects/gvc-86.sta fixtures/formats/mt940-dialects/slash-86.sta fixtures/formats/mt940-dialects/many-dialects.sta
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mt940_86.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct info86 in;

static void
check(const struct fbuf *b, size_t size)
{
	if (b->p == NULL || strlen(b->p) != b->len || b->len > size)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum info86_kind first;
	const char *e2e;

	if (memchr(data, 0, size) != NULL)
		return 0;
	for (int round = 0; round < 2; round++) {
		info86_decode((const char *)data, size, &in);
		if (round == 0)
			first = in.kind;
		else if (in.kind != first)
			abort();
		check(&in.posting_text, size);
		check(&in.purpose, size);
		check(&in.eref, size);
		check(&in.kref, size);
		check(&in.mref, size);
		check(&in.cred, size);
		check(&in.svwz, size);
		check(&in.name, size);
		check(&in.account, size);
		check(&in.bic, size);
		if (strlen(in.code) > 3)
			abort();
		e2e = info86_e2e(&in);
		if (e2e != NULL && e2e != in.eref.p)
			abort();
	}
	info86_free(&in);
	return 0;
}
