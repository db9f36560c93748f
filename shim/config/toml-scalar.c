/* toml-scalar.c — TOML's integers (decimal, hex, octal, binary, underscores), floats (inf, nan, exponents)
 * and the four date/time types, each checked against the spec's grammar and ranges, into tree values. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "toml-parser.h"
#include "util.h"

static bool is_hex_digit(int c)
{
        return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Reads digits of base, with single underscores between them, from s[*i]. False if none or a bad '_'. */
static bool digit_run(const char *s, size_t n, size_t *i, int base)
{
        size_t digits = 0;
        for (;; (*i)++) {
                int c = *i < n ? s[*i] : -1;
                int d = is_digit(c)            ? c - '0'
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                               : 99;
                if (d < base) {
                        digits++;
                        continue;
                }
                if (c != '_')
                        break;
                int next = *i + 1 < n ? s[*i + 1] : -1;
                int nd = is_digit(next)               ? next - '0'
                         : next >= 'a' && next <= 'f' ? next - 'a' + 10
                         : next >= 'A' && next <= 'F' ? next - 'A' + 10
                                                      : 99;
                if (digits == 0 || nd >= base)
                        return false;
        }
        return digits > 0;
}

int toml_parse_number(struct parser *p, struct toml_value **ret)
{
        struct toml_pos at = toml_here(p);
        const char *s = p->buf + p->pos;
        size_t n = 0;
        while (p->pos + n < p->len && (is_bare_key_char(s[n]) || s[n] == '.' || s[n] == '+'))
                n++;
        p->pos += n;
        const char *t = s + (n > 0 && (s[0] == '+' || s[0] == '-'));
        size_t tn = n - (size_t)(t - s);
        bool negative = s[0] == '-';
        _cleanup_(value_freep) struct toml_value *v = NULL;
        if (tn == 3 && (memcmp(t, "inf", 3) == 0 || memcmp(t, "nan", 3) == 0)) {
                v = toml_value_new(TOML_FLOAT, at, 0);
                if (!v)
                        return toml_oom(p);
                v->flt = t[0] == 'i' ? (negative ? -INFINITY : INFINITY) : (negative ? -NAN : NAN);
                *ret = TAKE_PTR(v);
                return 0;
        }
        bool (*digit)(int) = tn > 2 && t[0] == '0' && t[1] == 'x' ? is_hex_digit : is_digit;
        for (size_t j = 0; j < n; j++) {
                if (s[j] == '_' && (j == 0 || j + 1 == n || !digit(s[j - 1]) || !digit(s[j + 1])))
                        return toml_fail_at(p, at,
                                            "invalid number `%.*s`: underscores must be between digits",
                                            (int)n, s);
        }
        int base = tn > 2 && t[0] == '0' ? (t[1] == 'x' ? 16 : t[1] == 'o' ? 8 : t[1] == 'b' ? 2 : 10) : 10;
        size_t i = base == 10 ? 0 : 2;
        if (base != 10 && t != s)
                return toml_fail_at(p, at, "invalid number `%.*s`: only decimal integers may have a sign",
                                    (int)n, s);
        if (!digit_run(t, tn, &i, base))
                return toml_fail_at(p, at, "invalid number `%.*s`", (int)n, s);
        bool is_float = false;
        if (base == 10) {
                if (t[0] == '0' && i > 1)
                        return toml_fail_at(p, at, "invalid number `%.*s`: leading zeros are not allowed",
                                            (int)n, s);
                if (i < tn && t[i] == '.') {
                        i++;
                        is_float = true;
                        if (!digit_run(t, tn, &i, 10))
                                return toml_fail_at(p, at,
                                                    "invalid number `%.*s`: a digit must follow the `.`",
                                                    (int)n, s);
                }
                if (i < tn && (t[i] == 'e' || t[i] == 'E')) {
                        i++;
                        is_float = true;
                        if (i < tn && (t[i] == '+' || t[i] == '-'))
                                i++;
                        if (!digit_run(t, tn, &i, 10))
                                return toml_fail_at(p, at, "invalid number `%.*s`: bad exponent", (int)n, s);
                }
        }
        if (i != tn)
                return toml_fail_at(p, at, "invalid number `%.*s`", (int)n, s);
        v = toml_value_new(is_float ? TOML_FLOAT : TOML_INTEGER, at, 0);
        if (!v)
                return toml_oom(p);
        if (is_float) {
                _cleanup_free_ char *plain = malloc(n + 1);
                if (!plain)
                        return toml_oom(p);
                size_t m = 0;
                for (size_t j = 0; j < n; j++)
                        if (s[j] != '_')
                                plain[m++] = s[j];
                plain[m] = '\0';
                v->flt = strtod_l(plain, NULL, p->c_locale);
                if (isinf(v->flt))
                        return toml_fail_at(p, at, "float `%.*s` is out of range", (int)n, s);
        } else {
                uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, m = 0;
                for (size_t j = base == 10 ? 0 : 2; j < tn; j++) {
                        if (t[j] == '_')
                                continue;
                        uint64_t d = is_digit(t[j]) ? (uint64_t)(t[j] - '0')
                                                    : (uint64_t)((t[j] | 0x20) - 'a' + 10);
                        if (m > (limit - d) / (uint64_t)base)
                                return toml_fail_at(p, at, "integer `%.*s` is out of range (64-bit signed)",
                                                    (int)n, s);
                        m = m * (uint64_t)base + d;
                }
                v->integer = negative ? (int64_t)(0 - m) : (int64_t)m;
        }
        *ret = TAKE_PTR(v);
        return 0;
}

/* Reads exactly n digits at pos into *ret. */
static bool fixed_digits(struct parser *p, size_t n, int *ret)
{
        int v = 0;
        for (size_t i = 0; i < n; i++) {
                if (!is_digit(peek_at(p, i)))
                        return false;
                v = v * 10 + (peek_at(p, i) - '0');
        }
        p->pos += n;
        *ret = v;
        return true;
}

static int parse_time(struct parser *p, struct toml_datetime *dt, char *frac, struct toml_pos at)
{
        if (!fixed_digits(p, 2, &dt->hour) || peek(p) != ':' || (p->pos++, !fixed_digits(p, 2, &dt->minute)))
                return toml_fail_at(p, at, "invalid time: expected HH:MM:SS");
        if (peek(p) != ':' || (p->pos++, !fixed_digits(p, 2, &dt->second)))
                return toml_fail_at(p, at, "invalid time: expected HH:MM:SS (seconds are required)");
        if (dt->hour > 23 || dt->minute > 59 || dt->second > 60)
                return toml_fail_at(p, at, "invalid time: %02d:%02d:%02d is out of range", dt->hour,
                                    dt->minute, dt->second);
        if (peek(p) != '.')
                return 0;
        p->pos++;
        if (!is_digit(peek(p)))
                return toml_fail_at(p, at, "invalid time: a digit must follow the `.`");
        size_t n = 0;
        for (; is_digit(peek(p)); p->pos++, n++) {
                if (n < 9) {
                        frac[n] = p->buf[p->pos];
                        frac[n + 1] = '\0';
                }
        }
        uint32_t ns = 0;
        for (size_t i = 0; i < 9; i++)
                ns = ns * 10 + (i < strlen(frac) ? (uint32_t)(frac[i] - '0') : 0);
        dt->nanosecond = ns;
        return 0;
}

int toml_parse_datetime(struct parser *p, struct toml_value **ret)
{
        static const int month_days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
        struct toml_pos at = toml_here(p);
        struct toml_datetime dt = { 0 };
        char frac[10] = "";
        enum toml_type type = TOML_TIME_LOCAL;
        bool zulu = false;
        int r;
        if (time_ahead(p, 0)) {
                r = parse_time(p, &dt, frac, at);
                if (r < 0)
                        return r;
        } else {
                if (!fixed_digits(p, 4, &dt.year) || peek(p) != '-' ||
                    (p->pos++, !fixed_digits(p, 2, &dt.month)) || peek(p) != '-' ||
                    (p->pos++, !fixed_digits(p, 2, &dt.day)))
                        return toml_fail_at(p, at, "invalid date: expected YYYY-MM-DD");
                bool leap = dt.year % 4 == 0 && (dt.year % 100 != 0 || dt.year % 400 == 0);
                if (dt.month < 1 || dt.month > 12 || dt.day < 1 ||
                    dt.day > month_days[dt.month - 1] + (dt.month == 2 && leap))
                        return toml_fail_at(p, at, "invalid date: %04d-%02d-%02d does not exist", dt.year,
                                            dt.month, dt.day);
                type = TOML_DATE_LOCAL;
                int c = peek(p);
                if (c == 'T' || c == 't' || (c == ' ' && time_ahead(p, 1))) {
                        p->pos++;
                        r = parse_time(p, &dt, frac, at);
                        if (r < 0)
                                return r;
                        type = TOML_DATETIME_LOCAL;
                        c = peek(p);
                        if (c == 'Z' || c == 'z') {
                                p->pos++;
                                zulu = true;
                                type = TOML_DATETIME;
                        } else if (c == '+' || c == '-') {
                                int oh, om;
                                p->pos++;
                                if (!fixed_digits(p, 2, &oh) || peek(p) != ':' ||
                                    (p->pos++, !fixed_digits(p, 2, &om)))
                                        return toml_fail_at(
                                                p, at, "invalid date-time: the offset must be Z or ±HH:MM");
                                if (oh > 23 || om > 59)
                                        return toml_fail_at(
                                                p, at,
                                                "invalid date-time: offset %c%02d:%02d is out of range", c,
                                                oh, om);
                                dt.offset_minutes = (c == '-' ? -1 : 1) * (oh * 60 + om);
                                type = TOML_DATETIME;
                        }
                }
        }
        _cleanup_(value_freep) struct toml_value *v = toml_value_new(type, at, 0);
        if (!v)
                return toml_oom(p);
        v->datetime.dt = dt;
        char *o = v->datetime.text;
        size_t size = sizeof(v->datetime.text);
        int n = 0;
        if (type != TOML_TIME_LOCAL)
                n += snprintf(o + n, size - (size_t)n, "%04d-%02d-%02d%s", dt.year, dt.month, dt.day,
                              type == TOML_DATE_LOCAL ? "" : "T");
        if (type != TOML_DATE_LOCAL)
                n += snprintf(o + n, size - (size_t)n, "%02d:%02d:%02d%s%s", dt.hour, dt.minute, dt.second,
                              frac[0] ? "." : "", frac);
        if (type == TOML_DATETIME && zulu)
                snprintf(o + n, size - (size_t)n, "Z");
        else if (type == TOML_DATETIME)
                snprintf(o + n, size - (size_t)n, "%c%02d:%02d", dt.offset_minutes < 0 ? '-' : '+',
                         abs(dt.offset_minutes) / 60, abs(dt.offset_minutes) % 60);
        *ret = TAKE_PTR(v);
        return 0;
}
