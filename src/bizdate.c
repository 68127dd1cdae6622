/*
 * bizdate.c - civil dates as day numbers (Howard Hinnant's days_from_civil algorithm) and the
 * business-day calendar (weekends and configured holidays).
 */
#include "bizdate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

date_t
date_from_ymd(int y, int m, int d)
{
	int era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (date_t)(era * 146097 + doe - 719468);
}

void
date_to_ymd(date_t z, int *y, int *m, int *d)
{
	int era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}

bool
date_valid(int y, int m, int d)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int max;

	if (y < 1900 || y > 9999 || m < 1 || m > 12 || d < 1)
		return false;
	max = mdays[m - 1];
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		max = 29;
	return d <= max;
}

int
date_weekday(date_t d)
{
	/* 1970-01-01 was a Thursday (3 with Monday = 0). */
	int w = (int)((d + 3) % 7);

	return w < 0 ? w + 7 : w;
}

enum perr
date_parse_iso(const char *s, date_t *out)
{
	int y, m, d, i;

	if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return perr_set(PERR_DATE, "date \"%s\" is not in the form YYYY-MM-DD", s ? s : "");
	for (i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return perr_set(PERR_DATE, "date \"%s\" is not in the form YYYY-MM-DD", s);
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (!date_valid(y, m, d))
		return perr_set(PERR_DATE, "date \"%s\" does not exist", s);
	*out = date_from_ymd(y, m, d);
	return PERR_OK;
}

char *
date_format_iso(date_t d, char *buf)
{
	int y, m, dd;

	char tmp[32];

	date_to_ymd(d, &y, &m, &dd);
	snprintf(tmp, sizeof tmp, "%04d-%02d-%02d", y % 10000, m % 100, dd % 100);
	memcpy(buf, tmp, DATE_BUFSZ - 1);
	buf[DATE_BUFSZ - 1] = '\0';
	return buf;
}

static bool
is_holiday(const struct calendar *cal, date_t d)
{
	size_t lo = 0, hi = cal ? cal->n_holidays : 0;

	while (lo < hi) {       /* O(log n): the list is sorted */
		size_t mid = lo + (hi - lo) / 2;

		if (cal->holidays[mid] == d)
			return true;
		if (cal->holidays[mid] < d)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

bool
calendar_is_business_day(const struct calendar *cal, date_t d)
{
	return date_weekday(d) < 5 && !is_holiday(cal, d);
}

date_t
calendar_prev_business_day(const struct calendar *cal, date_t d)
{
	do
		d--;
	while (!calendar_is_business_day(cal, d));
	return d;
}

date_t
calendar_next_business_day(const struct calendar *cal, date_t d)
{
	do
		d++;
	while (!calendar_is_business_day(cal, d));
	return d;
}

date_t
calendar_add_business_days(const struct calendar *cal, date_t d, int n)
{
	for (; n > 0; n--)
		d = calendar_next_business_day(cal, d);
	for (; n < 0; n++)
		d = calendar_prev_business_day(cal, d);
	return d;
}

int
calendar_business_days_between(const struct calendar *cal, date_t from, date_t to)
{
	int n = 0;

	/* O(days): ages are short; whole weeks could be skipped if this ever shows up in a profile. */
	while (from < to) {
		from++;
		if (calendar_is_business_day(cal, from))
			n++;
	}
	return n;
}

/* Checks tz names a zone file: tzset silently falls back to UTC for an unknown zone. */
static enum perr
zone_check(const char *tz)
{
	char path[512];
	FILE *fp;

	if (tz == NULL || tz[0] == '\0' || strstr(tz, "..") != NULL || tz[0] == '/')
		return perr_set(PERR_CONFIG, "time zone \"%s\" is not an IANA zone name", tz ? tz : "");
	snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", tz);
	if ((fp = fopen(path, "rb")) == NULL)
		return perr_set(PERR_CONFIG, "time zone \"%s\" is unknown (no %s; install tzdata)", tz, path);
	fclose(fp);
	return PERR_OK;
}

/* Sets TZ to tz; *saved (caller passes it to zone_leave) is the previous value, or NULL. */
static void
zone_enter(const char *tz, char **saved)
{
	const char *old = getenv("TZ");

	*saved = old ? strdup(old) : NULL;
	setenv("TZ", tz, 1);
	tzset();
}

/* Restores TZ from zone_enter and frees `saved`. */
static void
zone_leave(char *saved)
{
	if (saved) {
		setenv("TZ", saved, 1);
		free(saved);
	} else
		unsetenv("TZ");
	tzset();
}

enum perr
date_today_in_zone(const char *tz, date_t *out)
{
	struct tm tm;
	time_t now = time(NULL);
	char *saved;
	enum perr e;

	if ((e = zone_check(tz)) != PERR_OK)
		return e;
	zone_enter(tz, &saved);
	localtime_r(&now, &tm);
	zone_leave(saved);
	*out = date_from_ymd(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	return PERR_OK;
}

enum perr
zone_wall_time(const char *tz, date_t d, int hh, int mm, time_t *out)
{
	struct tm tm;
	char *saved;
	int y, m, dd;
	enum perr e;
	time_t t;

	if ((e = zone_check(tz)) != PERR_OK)
		return e;
	date_to_ymd(d, &y, &m, &dd);
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = dd;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_isdst = -1;
	zone_enter(tz, &saved);
	t = mktime(&tm);
	zone_leave(saved);
	if (t == (time_t)-1)
		return perr_set(PERR_DATE, "%04d-%02d-%02d %02d:%02d in %s cannot be represented", y, m, dd,
		    hh, mm, tz);
	*out = t;
	return PERR_OK;
}
