/*
 * value.c — parse and format integers, numbers, booleans, times and dates
 * (see value.h). Civil-date arithmetic follows Howard Hinnant's
 * days_from_civil algorithm, valid for any proleptic Gregorian date.
 */
#include "value.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int value_parse_int(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (len == 0) return -1;
    if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == len) return -1;
    uint64_t v = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_C(9223372036854775808) - d) / 10) return -1;
        v = v * 10 + d;
    }
    if (!neg && v > INT64_MAX) return -1;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

int value_parse_number(const char *s, size_t len, double *out)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf) return -1;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E'))
            return -1;
    }
    memcpy(buf, s, len);
    buf[len] = 0;
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (end != buf + len || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

int value_parse_bool(const char *s, size_t len, bool *out)
{
    static const char *yes[] = {"yes", "true", "1", "on", "y"};
    static const char *no[] = {"no", "false", "0", "off", "n"};
    for (size_t k = 0; k < 5; k++) {
        if (strlen(yes[k]) == len && strncasecmp(s, yes[k], len) == 0) { *out = true; return 0; }
        if (strlen(no[k]) == len && strncasecmp(s, no[k], len) == 0) { *out = false; return 0; }
    }
    return -1;
}

int64_t value_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void value_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t yy = (int64_t)yoe + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

static int digits(const char *s, size_t n, unsigned *out)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return 0;
}

static bool valid_ymd(unsigned y, unsigned m, unsigned d)
{
    static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1 || m < 1 || m > 12 || d < 1) return false;
    unsigned lim = mdays[m - 1];
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) lim = 29;
    return d <= lim;
}

int value_parse_date(const char *s, size_t len, int64_t *days)
{
    unsigned y, m, d;
    if (len != 10 || s[4] != '-' || s[7] != '-') return -1;
    if (digits(s, 4, &y) || digits(s + 5, 2, &m) || digits(s + 8, 2, &d)) return -1;
    if (!valid_ymd(y, m, d)) return -1;
    *days = value_days_from_civil(y, m, d);
    return 0;
}

int value_parse_time(const char *s, size_t len, int64_t now, int tz_offset, value_time *out)
{
    memset(out, 0, sizeof *out);
    if (len == 0) return -1;
    if (len == 3 && strncasecmp(s, "now", 3) == 0) {
        out->lo = out->hi = now;
        return 0;
    }
    /* relative: [+-]N unit */
    if ((s[0] == '-' || s[0] == '+') && len >= 3) {
        char unit = (char)tolower((unsigned char)s[len - 1]);
        int64_t mult = unit == 'd' ? 86400 : unit == 'h' ? 3600 : unit == 'm' ? 60
                     : unit == 's' ? 1 : unit == 'w' ? 604800 : 0;
        if (mult) {
            int64_t n;
            if (value_parse_int(s + 1, len - 2, &n) || n < 0 || n > INT64_C(100000000000) / mult)
                return -1;
            out->lo = out->hi = s[0] == '-' ? now - n * mult : now + n * mult;
            return 0;
        }
        return -1;
    }
    /* unix seconds */
    bool all_digits = true;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9') all_digits = false;
    if (all_digits) {
        if (len > 12) return -1;
        int64_t v;
        if (value_parse_int(s, len, &v)) return -1;
        out->lo = out->hi = v;
        return 0;
    }
    int64_t days;
    if (len < 10 || value_parse_date(s, 10, &days)) return -1;
    if (len == 10) {
        out->lo = days * 86400 - tz_offset;
        out->hi = out->lo + 86399;
        out->whole_day = true;
        return 0;
    }
    if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return -1;
    size_t p = 11;
    unsigned hh, mm, ss = 0;
    if (len < p + 5 || digits(s + p, 2, &hh) || s[p + 2] != ':' || digits(s + p + 3, 2, &mm))
        return -1;
    p += 5;
    if (p < len && s[p] == ':') {
        if (len < p + 3 || digits(s + p + 1, 2, &ss)) return -1;
        p += 3;
    }
    if (hh > 23 || mm > 59 || ss > 60) return -1;
    int64_t off = tz_offset;
    if (p < len) {
        if ((s[p] == 'Z' || s[p] == 'z') && p + 1 == len) {
            off = 0;
        } else if ((s[p] == '+' || s[p] == '-') && (len - p == 6 || len - p == 5 || len - p == 3)) {
            unsigned oh, om = 0;
            if (digits(s + p + 1, 2, &oh)) return -1;
            if (len - p == 6) {
                if (s[p + 3] != ':' || digits(s + p + 4, 2, &om)) return -1;
            } else if (len - p == 5) {
                if (digits(s + p + 3, 2, &om)) return -1;
            }
            if (oh > 14 || om > 59) return -1;
            off = (int64_t)(oh * 3600 + om * 60) * (s[p] == '-' ? -1 : 1);
        } else {
            return -1;
        }
    }
    out->lo = out->hi = days * 86400 + hh * 3600 + mm * 60 + ss - off;
    return 0;
}

size_t value_format_time(int64_t t, int tz_offset, char *out)
{
    int64_t local = t + tz_offset;
    int64_t days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
    int64_t secs = local - days * 86400;
    int64_t y;
    unsigned m, d;
    value_civil_from_days(days, &y, &m, &d);
    int oh = abs(tz_offset) / 3600, om = (abs(tz_offset) % 3600) / 60;
    int n;
    if (tz_offset == 0)
        n = snprintf(out, 32, "%04lld-%02u-%02uT%02d:%02d:%02dZ", (long long)y, m, d,
                     (int)(secs / 3600), (int)(secs % 3600 / 60), (int)(secs % 60));
    else
        n = snprintf(out, 32, "%04lld-%02u-%02uT%02d:%02d:%02d%c%02d:%02d", (long long)y, m, d,
                     (int)(secs / 3600), (int)(secs % 3600 / 60), (int)(secs % 60),
                     tz_offset < 0 ? '-' : '+', oh, om);
    return n < 0 ? 0 : (size_t)n >= 32 ? 31 : (size_t)n;
}

size_t value_format_date(int64_t days, char *out)
{
    int64_t y;
    unsigned m, d;
    value_civil_from_days(days, &y, &m, &d);
    int n = snprintf(out, 16, "%04lld-%02u-%02u", (long long)y, m, d);
    return n < 0 ? 0 : (size_t)n >= 16 ? 15 : (size_t)n;
}

size_t value_format_number(double v, char *out)
{
    int n = 0;
    for (int prec = 1; prec <= 17; prec++) {
        n = snprintf(out, 32, "%.*g", prec, v);
        if (strtod(out, NULL) == v) break;
    }
    return n < 0 ? 0 : (size_t)n;
}
