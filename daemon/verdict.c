/* Judging a probe result. The rules, in order:
 *   - no valid answer (a transport error, or a status outside 100-599):
 *     unreachable, critical;
 *   - a status that expect lists (any 2xx when expect is not given), or one
 *     whose severity is overridden to ok: up; then a content check may make
 *     it content (critical), and max_latency may mark it slow (warning);
 *   - any other status: its class decides the state (3xx redirecting, 4xx
 *     client_error, 5xx server_error, 1xx/2xx unexpected) and the severity
 *     override, else the class default, decides the severity. */
#include "verdict.h"

#include <string.h>

static bool in_ranges(int code, const struct code_range *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (code >= r[i].lo && code <= r[i].hi)
            return true;
    return false;
}

/* The override for code, most specific first: an exact code beats a class. */
static bool severity_override(const struct target_conf *t, int code, enum severity *out)
{
    const struct severity_rule *best = NULL;

    for (size_t i = 0; i < t->nseverity; i++) {
        const struct severity_rule *r = &t->severity[i];
        if (code < r->codes.lo || code > r->codes.hi)
            continue;
        if (best == NULL || (r->codes.hi - r->codes.lo) < (best->codes.hi - best->codes.lo))
            best = r;
    }
    if (best)
        *out = best->severity;
    return best != NULL;
}

static bool expected(const struct target_conf *t, int code)
{
    if (t->nexpect)
        return in_ranges(code, t->expect, t->nexpect);
    return code >= 200 && code <= 299;
}

bool verdict_status_up(const struct target_conf *t, int code)
{
    enum severity sev;

    return expected(t, code) || (severity_override(t, code, &sev) && sev == SEV_OK);
}

void verdict_judge(const struct probe_result *r, const struct target_conf *t, struct verdict *v)
{
    memset(v, 0, sizeof(*v));
    v->error = r->error;
    if (!codes_valid(r->code)) {
        v->state = ST_UNREACHABLE;
        v->cls = CLASS_TRANSPORT;
        v->severity = SEV_CRITICAL;
        if (v->error == PERR_NONE)
            v->error = PERR_PROTOCOL;
        return;
    }
    v->cls = codes_class(r->code);
    if (r->error != PERR_NONE && r->error != PERR_BODY) {
        /* A status line came, but the answer broke off. */
        v->state = ST_UNREACHABLE;
        v->severity = SEV_CRITICAL;
        return;
    }
    if (verdict_status_up(t, r->code)) {
        if (r->error == PERR_BODY || r->body_match == 0) {
            v->state = ST_CONTENT;
            v->severity = SEV_CRITICAL;
            v->error = PERR_BODY;
            return;
        }
        v->state = ST_UP;
        v->severity = SEV_OK;
        if (t->max_latency_ms && r->total_us >= 0 &&
            (uint64_t)r->total_us > t->max_latency_ms * 1000) {
            v->slow = true;
            v->severity = SEV_WARNING;
            v->error = PERR_TOO_SLOW;
        }
        return;
    }
    v->error = PERR_NONE; /* the status says it all */
    switch (v->cls) {
    case CLASS_REDIRECTION:
        v->state = ST_REDIRECTING;
        break;
    case CLASS_CLIENT_ERROR:
        v->state = ST_CLIENT_ERROR;
        break;
    case CLASS_SERVER_ERROR:
        v->state = ST_SERVER_ERROR;
        break;
    default:
        v->state = ST_UNEXPECTED;
        break;
    }
    if (!severity_override(t, r->code, &v->severity))
        v->severity = codes_class_severity(v->cls);
    /* An unexpected 2xx is not ok: it is not what was asked for. */
    if (v->severity == SEV_OK)
        v->severity = SEV_WARNING;
}
