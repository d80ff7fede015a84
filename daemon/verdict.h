/* The verdict: what one probe result means for a target, under the target's
 * policy (expect, severity overrides, content checks, max_latency). Pure. */
#ifndef UPMON_VERDICT_H
#define UPMON_VERDICT_H

#include <stdbool.h>

#include "codes.h"
#include "config.h"
#include "result.h"

enum target_state {
    ST_UNKNOWN,      /* not probed yet */
    ST_UP,           /* an expected answer */
    ST_REDIRECTING,  /* an unexpected 3xx */
    ST_CLIENT_ERROR, /* an unexpected 4xx */
    ST_SERVER_ERROR, /* an unexpected 5xx */
    ST_UNREACHABLE,  /* no valid answer: DNS, connect, TLS, timeout, reset, protocol */
    ST_CONTENT,      /* an expected status, but the answer failed a content check */
    ST_UNEXPECTED,   /* a 1xx or 2xx answer that expect does not list */
};
#define ST_COUNT 8

struct verdict {
    enum target_state state;
    enum severity severity;
    enum code_class cls;
    enum probe_error error; /* the transport error, or PERR_BODY / PERR_TOO_SLOW */
    bool slow;              /* up, but over max_latency */
};

void verdict_judge(const struct probe_result *r, const struct target_conf *t, struct verdict *v);

/* Whether an answer with this status counts as up for the target (expect,
 * or a severity override to ok): only such answers have their body
 * checked, so the probe asks this before reading a body. */
bool verdict_status_up(const struct target_conf *t, int code);

#endif
