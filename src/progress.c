/*
 * progress.c - terminal progress bar with rate and ETA (see progress.h). Display only: integer
 * arithmetic in tenths, nothing here ever touches money or file content.
 */
#include "progress.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

struct progress_bar {
	char *label;
	int64_t total, done, start_ms, last_ms;
	enum progress_unit unit;
};

/* "12.3 MiB" / "1234" / "1.2 M": a quantity with one decimal, integer arithmetic only. */
static void
fmt_qty(char *buf, size_t cap, int64_t n, enum progress_unit unit)
{
	static const char *const bin[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	static const char *const dec[] = { "", "k", "M", "G", "T" };
	int64_t div = 1, base = unit == PROGRESS_BYTES ? 1024 : 1000;
	int i = 0;

	if (n < 0)
		n = 0;
	while (i < 4 && n / div >= base) {
		div *= base;
		i++;
	}
	if (i == 0)
		snprintf(buf, cap, "%lld%s%s", (long long)n, unit == PROGRESS_BYTES ? " " : "",
		    unit == PROGRESS_BYTES ? bin[0] : "");
	else {
		int64_t tenths = n / (div / 10);

		snprintf(buf, cap, "%lld.%lld %s", (long long)(tenths / 10), (long long)(tenths % 10),
		    unit == PROGRESS_BYTES ? bin[i] : dec[i]);
	}
}

static void
fmt_duration(char *buf, size_t cap, int64_t s)
{
	if (s >= 3600)
		snprintf(buf, cap, "%lld:%02lld:%02lld", (long long)(s / 3600), (long long)(s / 60 % 60),
		    (long long)(s % 60));
	else
		snprintf(buf, cap, "%lld:%02lld", (long long)(s / 60), (long long)(s % 60));
}

char *
progress_bar_format(char *buf, size_t cap, const char *label, int64_t done, int64_t total,
    enum progress_unit unit, int64_t elapsed_ms, int width)
{
	char qty[32], rate[40], eta[32], bar[128];
	int64_t per_s = 0;
	int filled = 0, i, pct = -1;
	size_t len;

	if (width < 0)
		width = 0;
	if (width > (int)sizeof bar - 3)
		width = (int)sizeof bar - 3;
	if (done < 0)
		done = 0;
	if (total > 0) {
		if (done > total)
			done = total;
		/* done <= total, both far below INT64_MAX / 100 for any real file or row count */
		pct = (int)(total > INT64_MAX / 100 ? done / (total / 100) : done * 100 / total);
		filled = (int)(total > INT64_MAX / 1000 ? done / (total / width + 1) : done * width / total);
	}
	bar[0] = '[';
	for (i = 0; i < width; i++)
		bar[i + 1] = total > 0 ? (i < filled ? '#' : '.') : (i == (int)(elapsed_ms / 200 % (width ? width : 1)) ? '#' : '.');
	bar[width + 1] = ']';
	bar[width + 2] = '\0';
	fmt_qty(qty, sizeof qty, done, unit);
	if (elapsed_ms > 0)
		per_s = done > INT64_MAX / 1000 ? done / elapsed_ms * 1000 : done * 1000 / elapsed_ms;
	fmt_qty(rate, sizeof rate, per_s, unit);
	len = strlen(rate);
	snprintf(rate + len, sizeof rate - len, "/s");
	if (total > 0 && done >= total)
		snprintf(eta, sizeof eta, "done");
	else if (total > 0 && per_s > 0) {
		char d[24];

		fmt_duration(d, sizeof d, (total - done + per_s - 1) / per_s);
		snprintf(eta, sizeof eta, "ETA %s", d);
	} else
		snprintf(eta, sizeof eta, "ETA --:--");
	if (pct >= 0)
		snprintf(buf, cap, "%-30.30s %s %3d%%  %s  %s  %s", label ? label : "", bar, pct, qty, rate, eta);
	else
		snprintf(buf, cap, "%-30.30s %s  %s  %s", label ? label : "", bar, qty, rate);
	return buf;
}

struct progress_bar *
progress_bar_start(const char *label, int64_t total, enum progress_unit unit)
{
	const char *env = getenv("PIPELINE_PROGRESS");
	struct progress_bar *pb;

	if ((env && !strcmp(env, "0")) || !is_terminal(STDERR_FILENO))
		return NULL;
	pb = xcalloc(1, sizeof *pb);
	pb->label = xstrdup(label ? label : "");
	pb->total = total;
	pb->unit = unit;
	pb->start_ms = now_ms();
	pb->last_ms = pb->start_ms - 1000;
	return pb;
}

static void
draw(struct progress_bar *pb, int64_t now)
{
	char line[256];

	progress_bar_format(line, sizeof line, pb->label, pb->done, pb->total, pb->unit,
	    now - pb->start_ms, 24);
	/* \r and clear-to-end-of-line: the bar rewrites itself in place */
	fprintf(stderr, "\r%s\033[K", line);
	fflush(stderr);
}

void
progress_bar_update(struct progress_bar *pb, int64_t done)
{
	int64_t now;

	if (pb == NULL)
		return;
	pb->done = done;
	now = now_ms();
	if (now - pb->last_ms < 200)
		return;
	pb->last_ms = now;
	draw(pb, now);
}

void
progress_bar_end(struct progress_bar *pb)
{
	if (pb == NULL)
		return;
	draw(pb, now_ms());
	fputc('\n', stderr);
	fflush(stderr);
	free(pb->label);
	free(pb);
}
