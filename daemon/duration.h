/* Durations as written in configuration: "250ms", "10s", "5m", "1h", "2d",
 * or combined from largest to smallest unit ("1h30m"). "0" alone is zero.
 * Pure; values are milliseconds. */
#ifndef UPMON_DURATION_H
#define UPMON_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* Parses s into *ms. On error returns -1 and writes a reason into err. */
int duration_parse(const char *s, uint64_t *ms, char *err, size_t errlen);

/* Formats ms in the same notation (largest units first), e.g. "1h30m". */
void duration_format(uint64_t ms, char *out, size_t outlen);

#endif
