/* Sizes as written in configuration: a number of bytes, alone or with a
 * binary unit: "65536", "64KiB", "1MiB", "1GiB". Pure. */
#ifndef UPMON_SIZE_H
#define UPMON_SIZE_H

#include <stddef.h>
#include <stdint.h>

/* Parses s into *bytes. On error returns -1 and writes a reason into err. */
int size_parse(const char *s, uint64_t *bytes, char *err, size_t errlen);

/* Formats bytes in the largest unit that divides them: "1MiB", "1536KiB". */
void size_format(uint64_t bytes, char *out, size_t outlen);

#endif
