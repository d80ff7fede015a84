/* Parsing and formatting of sizes. */
#include "size.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const struct unit {
    const char *name;
    uint64_t bytes;
} units[] = {{"GiB", 1ULL << 30}, {"MiB", 1ULL << 20}, {"KiB", 1ULL << 10}, {"B", 1}};

/* Sizes past this are mistakes, not bodies (and cannot overflow). */
#define SIZE_LIMIT (1ULL << 40)

int size_parse(const char *s, uint64_t *bytes, char *err, size_t errlen)
{
    unsigned long long n;
    char *end;

    if (!isdigit((unsigned char)s[0])) {
        errbuf_set(err, errlen, "invalid size \"%s\": it must start with a number", s);
        return -1;
    }
    errno = 0;
    n = strtoull(s, &end, 10);
    if (errno || n > SIZE_LIMIT) {
        errbuf_set(err, errlen, "invalid size \"%s\": too large", s);
        return -1;
    }
    if (*end == '\0') {
        *bytes = n;
        return 0;
    }
    for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
        if (strcmp(end, units[i].name) == 0) {
            if (n > SIZE_LIMIT / units[i].bytes) {
                errbuf_set(err, errlen, "invalid size \"%s\": too large", s);
                return -1;
            }
            *bytes = n * units[i].bytes;
            return 0;
        }
    }
    errbuf_set(err, errlen, "invalid size \"%s\": unknown unit \"%s\" (use B, KiB, MiB or GiB)", s,
               end);
    return -1;
}

void size_format(uint64_t bytes, char *out, size_t outlen)
{
    for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
        if (bytes >= units[i].bytes && bytes % units[i].bytes == 0) {
            snprintf(out, outlen, "%llu%s", (unsigned long long)(bytes / units[i].bytes),
                     units[i].bytes == 1 ? "" : units[i].name);
            return;
        }
    }
    snprintf(out, outlen, "0");
}
