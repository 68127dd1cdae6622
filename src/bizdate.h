/*
 * bizdate.h - calendar dates as day numbers, and the business-day calendar.
 *
 * A date_t is the number of days since 1970-01-01 (proleptic Gregorian), so date arithmetic is
 * integer arithmetic. Business days skip Saturdays, Sundays and the configured holidays.
 */
#ifndef PIPELINE_BIZDATE_H
#define PIPELINE_BIZDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "errors.h"

typedef int32_t date_t;

#define DATE_BUFSZ 11   /* "YYYY-MM-DD" + NUL */

/* Day number of a civil date; the caller guarantees y/m/d form a valid date (see date_valid). */
date_t date_from_ymd(int y, int m, int d);
void date_to_ymd(date_t d, int *y, int *m, int *dd);
bool date_valid(int y, int m, int d);
/* 0 = Monday ... 6 = Sunday */
int date_weekday(date_t d);

/* Strict "YYYY-MM-DD" (exactly 10 characters). PERR_DATE on anything else. */
enum perr date_parse_iso(const char *s, date_t *out);
/* Writes "YYYY-MM-DD" into buf (DATE_BUFSZ bytes) and returns buf. */
char *date_format_iso(date_t d, char *buf);

struct calendar {
	date_t *holidays;   /* sorted, unique; owned by the calendar */
	size_t n_holidays;
};

bool calendar_is_business_day(const struct calendar *cal, date_t d);
/* The business day before / after d (d itself excluded). */
date_t calendar_prev_business_day(const struct calendar *cal, date_t d);
date_t calendar_next_business_day(const struct calendar *cal, date_t d);
/* d moved by n business days (n may be negative). */
date_t calendar_add_business_days(const struct calendar *cal, date_t d, int n);
/* Business days from `from` to `to` (0 if to <= from): the age of something opened on `from`. */
int calendar_business_days_between(const struct calendar *cal, date_t from, date_t to);

/*
 * Today's date in the given IANA time zone ("Asia/Singapore"). PERR_CONFIG if the zone is unknown.
 */
enum perr date_today_in_zone(const char *tz, date_t *out);

/*
 * The instant at which the wall clock in zone `tz` shows date d, hh:mm (DST resolved by mktime).
 * PERR_CONFIG if the zone is unknown, PERR_DATE if the time cannot be represented.
 */
enum perr zone_wall_time(const char *tz, date_t d, int hh, int mm, time_t *out);

#endif
