/* Parsing and formatting of durations. */
#include "duration.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

static const struct unit {
    const char *name;
    uint64_t ms;
} units[] = {
    /* Longest suffix first where one is a prefix of another ("ms" vs "m"). */
    {"d", 86400000ULL}, {"h", 3600000ULL}, {"ms", 1ULL}, {"m", 60000ULL}, {"s", 1000ULL},
};

/* Order units by size, so "1h30m" is accepted and "30m1h" is not. */
static unsigned unit_rank(uint64_t ms)
{
    switch (ms) {
    case 86400000ULL:
        return 0;
    case 3600000ULL:
        return 1;
    case 60000ULL:
        return 2;
    case 1000ULL:
        return 3;
    default:
        return 4;
    }
}

int duration_parse(const char *s, uint64_t *ms, char *err, size_t errlen)
{
    const uint64_t max = 365ULL * 86400000ULL;
    uint64_t total = 0;
    int last_rank = -1;
    const char *p = s;

    if (strcmp(s, "0") == 0) {
        *ms = 0;
        return 0;
    }
    if (*p == '\0') {
        errbuf_set(err, errlen, "empty duration");
        return -1;
    }
    while (*p) {
        uint64_t n = 0;
        const char *digits = p;

        while (isdigit((unsigned char)*p)) {
            if (n > max)
                break;
            n = n * 10 + (uint64_t)(*p - '0');
            p++;
        }
        if (p == digits) {
            errbuf_set(err, errlen, "invalid duration \"%s\": expected a number at \"%s\"", s, p);
            return -1;
        }
        if (n > max) {
            errbuf_set(err, errlen, "duration \"%s\" is too long (at most 365d)", s);
            return -1;
        }
        const struct unit *u = NULL;
        for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
            size_t len = strlen(units[i].name);
            if (strncmp(p, units[i].name, len) == 0 &&
                (p[len] == '\0' || isdigit((unsigned char)p[len]))) {
                u = &units[i];
                p += len;
                break;
            }
        }
        if (u == NULL) {
            if (*p == '\0')
                errbuf_set(err, errlen,
                           "duration \"%s\" has no unit (use ms, s, m, h or d, e.g. \"%ss\")", s,
                           digits);
            else
                errbuf_set(err, errlen,
                           "invalid duration \"%s\": unknown unit \"%s\" (use ms, s, m, h or d)", s,
                           p);
            return -1;
        }
        int rank = (int)unit_rank(u->ms);
        if (rank <= last_rank) {
            errbuf_set(err, errlen,
                       "invalid duration \"%s\": units must go from largest to smallest, once "
                       "each",
                       s);
            return -1;
        }
        last_rank = rank;
        total += n * u->ms;
        if (total > max) {
            errbuf_set(err, errlen, "duration \"%s\" is too long (at most 365d)", s);
            return -1;
        }
    }
    *ms = total;
    return 0;
}

void duration_format(uint64_t ms, char *out, size_t outlen)
{
    static const struct unit order[] = {
        {"d", 86400000ULL}, {"h", 3600000ULL}, {"m", 60000ULL}, {"s", 1000ULL}, {"ms", 1ULL},
    };
    size_t off = 0;

    if (outlen == 0)
        return;
    out[0] = '\0';
    if (ms == 0) {
        snprintf(out, outlen, "0");
        return;
    }
    for (size_t i = 0; i < ARRAY_SIZE(order) && ms > 0; i++) {
        uint64_t n = ms / order[i].ms;
        if (n == 0)
            continue;
        ms -= n * order[i].ms;
        int w = snprintf(out + off, outlen - off, "%llu%s", (unsigned long long)n, order[i].name);
        if (w < 0 || (size_t)w >= outlen - off)
            return;
        off += (size_t)w;
    }
}
