/* The retry policy of webhook deliveries. */
#include "retry.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

/* For curl_getdate only: an HTTP date parser, no I/O and no clock. */
#include <curl/curl.h>

#define RETRY_AFTER_MAX_MS 3600000

uint64_t retry_backoff_ms(uint64_t initial, uint64_t max, unsigned attempt, double jitter)
{
    uint64_t d = initial;

    for (unsigned i = 1; i < attempt && d < max; i++)
        d *= 2;
    if (d > max)
        d = max;
    return d / 2 + (uint64_t)((double)(d - d / 2) * jitter);
}

bool retry_transient(bool answered, long code)
{
    return !answered || code >= 500 || code == 408 || code == 429;
}

bool retry_smtp_transient(long reply)
{
    return reply < 500 || reply > 599;
}

int64_t retry_after_ms(const char *value, int64_t now_ms)
{
    char *end;
    int64_t ms = -1;

    errno = 0;
    long long secs = strtoll(value, &end, 10);
    if (end != value && *end == '\0' && secs >= 0) {
        ms = errno == ERANGE || secs > RETRY_AFTER_MAX_MS / 1000 ? RETRY_AFTER_MAX_MS
                                                                 : (int64_t)secs * 1000;
    } else {
        time_t when = curl_getdate(value, NULL);
        if (when > 0) /* a date passed means now */
            ms = (int64_t)when * 1000 > now_ms ? (int64_t)when * 1000 - now_ms : 0;
    }
    return ms > RETRY_AFTER_MAX_MS ? RETRY_AFTER_MAX_MS : ms;
}
