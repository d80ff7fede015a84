/* The probe result as plain data: its blank state and the names of the
 * reasons a probe got no usable answer. */
#include "result.h"

#include <string.h>

#include "names.h"

static const char *const error_name[PERR_COUNT] = {
    [PERR_NONE] = "none",
    [PERR_DNS] = "dns",
    [PERR_CONNECT] = "connect",
    [PERR_TIMEOUT] = "timeout",
    [PERR_TLS] = "tls",
    [PERR_RESET] = "reset",
    [PERR_PROTOCOL] = "protocol",
    [PERR_BODY] = "body",
    [PERR_TOO_SLOW] = "too_slow",
    [PERR_INTERNAL] = "internal",
    [PERR_TRUNCATED] = "truncated",
};
static const struct names error_names = {error_name, PERR_COUNT, "internal"};

const char *probe_error_name(enum probe_error e)
{
    return names_get(&error_names, e);
}

void probe_result_init(struct probe_result *r)
{
    memset(r, 0, sizeof(*r));
    r->body_match = -1;
    r->dns_us = r->connect_us = r->tls_us = r->ttfb_us = r->total_us = -1;
}

void probe_result_name(char *dst, size_t size, const char *src, size_t n)
{
    size_t i;

    if (size == 0)
        return;
    for (i = 0; i < n && i < size - 1; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    dst[i] = '\0';
    if (i < n && size >= 4)
        memcpy(dst + size - 4, "...", 4);
}
