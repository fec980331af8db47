/*
 * value.h — typing a value by its field: integers, numbers, booleans, times
 * and dates, as written in UPSERT values and filter terms (SPEC sections 2, 7).
 *
 * "A value is typed by its field, not by its look": purchases:012 is 12,
 * created_at > 2019-11-01 is a time. These parsers accept exactly:
 *   integer  [+-]digits (leading zeros fine), within int64
 *   number   a decimal or scientific literal (strtod, finite, whole string)
 *   bool     yes/no, true/false, 1/0, on/off (case-insensitive)
 *   time     unix seconds (digits), YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM|-HH:MM]
 *            (also with a space instead of T), now, and relative [+-]N{d,h,m,s,w}
 *   date     YYYY-MM-DD (birthday)
 * All return 0 or -1 (the caller words the WRONGTYPE message).
 */
#ifndef VALUE_H
#define VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int value_parse_int(const char *s, size_t len, int64_t *out);
int value_parse_number(const char *s, size_t len, double *out);
int value_parse_bool(const char *s, size_t len, bool *out);

/* A parsed time: [lo, hi] is the instant (lo == hi) or, for a date without a
 * time, the whole day [start, start + 86399] in zone tz_offset. */
typedef struct value_time {
    int64_t lo, hi;
    bool whole_day;
} value_time;

/* now is the evaluation instant (unix seconds); tz_offset in seconds east of UTC. */
int value_parse_time(const char *s, size_t len, int64_t now, int tz_offset, value_time *out);

/* YYYY-MM-DD -> days since 1970-01-01 (may be negative). */
int value_parse_date(const char *s, size_t len, int64_t *days);

/* Days since 1970-01-01 for a civil date, and back. */
int64_t value_days_from_civil(int64_t y, unsigned m, unsigned d);
void value_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

/* Format unix seconds as "YYYY-MM-DDTHH:MM:SS+07:00" in zone tz_offset;
 * out capacity >= 32. Returns the length. */
size_t value_format_time(int64_t t, int tz_offset, char *out);

/* Format days since epoch as YYYY-MM-DD; out capacity >= 16. */
size_t value_format_date(int64_t days, char *out);

/* Format a double the shortest way that reads back the same; out >= 32. */
size_t value_format_number(double v, char *out);

#endif /* VALUE_H */
