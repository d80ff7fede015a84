/* Each target's history in memory (history.h). Time comes in as wall-clock
 * milliseconds; minutes, hours and days are UTC. */
#include "history.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"
#include "util.h"

#define MINUTE_MS ((int64_t)60 * 1000)
#define HOUR_MS   (60 * MINUTE_MS)
#define DAY_MS    (24 * HOUR_MS)

/* Prometheus's usual bounds for request durations, from a fast local
 * answer to a timeout's worth. */
const int64_t hist_lat_bounds_us[HIST_LAT_BUCKETS - 1] = {
    25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
};

unsigned hist_lat_bucket(int64_t us)
{
    unsigned i = 0;

    while (i < HIST_LAT_BUCKETS - 1 && us > hist_lat_bounds_us[i])
        i++;
    return i;
}

int hist_state_rank(enum target_state s)
{
    static const int rank[ST_COUNT] = {
        [ST_UNKNOWN] = 0, [ST_UP] = 1,           [ST_REDIRECTING] = 2,  [ST_UNEXPECTED] = 3,
        [ST_CONTENT] = 4, [ST_CLIENT_ERROR] = 5, [ST_SERVER_ERROR] = 6, [ST_UNREACHABLE] = 7,
    };
    return (unsigned)s < ST_COUNT ? rank[s] : 0;
}

static unsigned worse(unsigned a, unsigned b)
{
    return hist_state_rank((enum target_state)b) > hist_state_rank((enum target_state)a) ? b : a;
}

/* Floor division: a wall clock before 1970 is garbage, but must not make
 * a minute that ends before it starts. */
static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b < 0);
}

void htarget_init(struct htarget *h)
{
    memset(h, 0, sizeof(*h));
    h->dns_us = h->connect_us = h->tls_us = h->ttfb_us = -1;
    h->last.total_us = -1;
}

void htarget_free(struct htarget *h)
{
    free(h->message);
    free(h->location);
    free(h->cert_subject);
    free(h->cert_issuer);
    free(h->open);
    free(h->closed);
    free(h->days);
    htarget_init(h);
}

/* Keeps what the site sent unless it changed, and then in the room it
 * had when the new text fits: most probes send what the last one did, or
 * a message of the same shape, and ten thousand targets must not cost an
 * allocation each a probe. */
static void set_text(char **dst, const char *src)
{
    size_t len = strlen(src);

    if (len == 0) {
        free(*dst);
        *dst = NULL;
    } else if (*dst == NULL || strcmp(*dst, src) != 0) {
        if (*dst == NULL || malloc_usable_size(*dst) <= len) {
            free(*dst);
            *dst = xmalloc(len < 32 ? 32 : len + 1);
        }
        memcpy(*dst, src, len + 1);
    }
}

static int32_t clamp32(int64_t v)
{
    return v < 0 ? -1 : v > INT32_MAX ? INT32_MAX : (int32_t)v;
}

static void total_add(struct htotal *t, uint32_t probes, uint32_t failures, unsigned worst)
{
    uint64_t f = (uint64_t)t->failures + failures;

    t->probes = UINT32_MAX - t->probes < probes ? UINT32_MAX : t->probes + probes;
    t->failures = (unsigned)(f > 0x0fffffff ? 0x0fffffff : f) & 0x0fffffffu;
    t->worst = worse(t->worst, worst) & 0xfu;
}

/* How long a window of n units (cap at most) ending at last becomes once
 * unit is in it: longer when unit is newer (a gap of cap or more leaves
 * unit alone) or older but within cap of last (restored days come in any
 * order). */
static unsigned window_len(unsigned n, unsigned cap, int32_t last, int32_t unit)
{
    if (n == 0)
        return 1;
    int64_t d = (int64_t)unit - last;
    if (d >= cap)
        return 1;
    if (d > 0)
        return (n < cap - (unsigned)d ? n : cap - (unsigned)d) + (unsigned)d;
    if (-d < n || -d >= cap)
        return n;
    return (unsigned)-d + 1;
}

/* The index of unit in the window a (elements of size el), which must
 * hold the newlen units that window_len gave, moving the window forward
 * (or its start back) as needed; -1 when unit is too old for it. */
static int window_slot(void *a, size_t el, unsigned n, unsigned newlen, int32_t *last, int32_t unit)
{
    char *p = a;

    if (n == 0 || unit > *last) {
        unsigned gap = n == 0 ? newlen : (unsigned)((int64_t)unit - *last);
        unsigned keep = newlen > gap ? newlen - gap : 0;
        memmove(p, p + (n - keep) * el, keep * el);
        memset(p + keep * el, 0, (newlen - keep) * el);
        *last = unit;
        return (int)newlen - 1;
    }
    if (newlen > n) { /* older than the window: it starts earlier */
        memmove(p + (newlen - n) * el, p, n * el);
        memset(p, 0, (newlen - n) * el);
    }
    int64_t back = (int64_t)*last - unit;
    return back < newlen ? (int)(newlen - 1 - back) : -1;
}

static uint16_t add16(uint16_t a, uint32_t b)
{
    return (uint16_t)((uint32_t)(UINT16_MAX - a) < b ? UINT16_MAX : a + b);
}

static void hours_add(struct htarget *h, int64_t t_ms, uint32_t probes, uint32_t failures)
{
    int32_t unit = (int32_t)floor_div(t_ms, HOUR_MS);
    unsigned len = window_len(h->nhours, HIST_HOURS, h->hour_last, unit);
    int i = window_slot(h->hours, sizeof(h->hours[0]), h->nhours, len, &h->hour_last, unit);

    h->nhours = (uint8_t)len;
    if (i >= 0) {
        h->hours[i].probes = add16(h->hours[i].probes, probes);
        h->hours[i].failures = add16(h->hours[i].failures, failures);
    }
}

/* The room n days take: a power of two up to HIST_DAYS, so that ninety
 * days restored one by one cost seven allocations, not ninety. */
static unsigned days_room(unsigned n)
{
    unsigned room = 1;

    while (room < n)
        room *= 2;
    return room < HIST_DAYS ? room : HIST_DAYS;
}

/* The days grow as they come, up to HIST_DAYS: most targets are young or
 * are watched only for days, and need no room for ninety. */
static void days_add(struct htarget *h, int64_t t_ms, uint32_t probes, uint32_t failures,
                     unsigned worst)
{
    int32_t unit = (int32_t)floor_div(t_ms, DAY_MS);
    unsigned len = window_len(h->ndays, HIST_DAYS, h->day_last, unit);
    unsigned room = h->ndays ? days_room(h->ndays) : 0;

    if (len > room)
        h->days = xreallocarray(h->days, days_room(len), sizeof(*h->days));
    int i = window_slot(h->days, sizeof(*h->days), h->ndays, len, &h->day_last, unit);
    if (i >= 0)
        total_add(&h->days[i], probes, failures, worst);
    if (days_room(len) < room)
        h->days = xreallocarray(h->days, days_room(len), sizeof(*h->days));
    h->ndays = (uint8_t)len;
}

void htarget_add_hour(struct htarget *h, int64_t start_ms, const struct hspan *s)
{
    hours_add(h, start_ms, s->probes, s->failures);
}

void htarget_add_day(struct htarget *h, int64_t start_ms, const struct hspan *s)
{
    days_add(h, start_ms, s->probes, s->failures, s->worst);
}

static void bucket_add(struct hbucket *b, enum target_state state, int64_t total_us)
{
    b->probes++;
    b->failures += state_is_failing(state);
    b->worst = (uint8_t)worse(b->worst, state);
    if (total_us >= 0) {
        b->latency_sum_us += (uint64_t)total_us;
        if (total_us > b->latency_max_us)
            b->latency_max_us = total_us > UINT32_MAX ? UINT32_MAX : (uint32_t)total_us;
        b->lat[hist_lat_bucket(total_us)]++;
    }
}

/* What a failing probe adds to an incident; whether it changed. */
static bool incident_note(struct incident *inc, const struct hsample *s)
{
    bool changed = false;

    if (hist_state_rank(s->state) > hist_state_rank(inc->worst)) {
        inc->worst = s->state;
        changed = true;
    }
    if (s->error != PERR_NONE && !(inc->errors & (1u << s->error))) {
        inc->errors |= 1u << s->error;
        changed = true;
    }
    if (s->code == 0)
        return changed;
    for (unsigned i = 0; i < inc->ncodes; i++)
        if (inc->codes[i] == s->code)
            return changed;
    if (inc->ncodes < INCIDENT_CODES) {
        inc->codes[inc->ncodes++] = s->code;
        changed = true;
    }
    return changed;
}

/* The closed incident goes first among the closed, the oldest falling
 * off the end. */
static const struct incident *incident_close(struct htarget *h, int64_t end_ms)
{
    struct incident *inc = h->open;

    inc->end_ms = end_ms > inc->start_ms ? end_ms : inc->start_ms;
    if (h->closed == NULL)
        h->closed = xcalloc(HIST_INCIDENTS, sizeof(*h->closed));
    memmove(&h->closed[1], &h->closed[0], (HIST_INCIDENTS - 1) * sizeof(h->closed[0]));
    h->closed[0] = *inc;
    if (h->nclosed < HIST_INCIDENTS)
        h->nclosed++;
    free(inc);
    h->open = NULL;
    return &h->closed[0];
}

static const struct hsample *recent_at(const struct htarget *h, unsigned back)
{
    return &h->recent[(h->next + HIST_RECENT - 1 - back) % HIST_RECENT];
}

static const struct incident *incident_step(struct htarget *h, const struct hsample *s,
                                            enum target_state confirmed, int64_t since_ms,
                                            int64_t now_ms, uint64_t *next_id)
{
    bool failing = state_is_failing(confirmed);

    if (h->open == NULL && failing) {
        struct incident *inc = h->open = xcalloc(1, sizeof(*inc));
        inc->id = (*next_id)++;
        inc->start_ms = since_ms > 0 ? since_ms : now_ms;
        inc->worst = (uint8_t)confirmed;
        /* The probes that confirmed it came before it opened: the run of
         * failing ones that ends with this one. */
        for (unsigned back = 0; back < h->nrecent && state_is_failing(recent_at(h, back)->state);
             back++)
            incident_note(inc, recent_at(h, back));
        return inc;
    }
    if (h->open && failing) {
        bool changed = false;
        if (hist_state_rank(confirmed) > hist_state_rank(h->open->worst)) {
            h->open->worst = (uint8_t)confirmed;
            changed = true;
        }
        if (state_is_failing(s->state))
            changed |= incident_note(h->open, s);
        return changed ? h->open : NULL;
    }
    /* Recovered; unknown is no news (a restart whose alert state was
     * lost): the incident stays open until a state is confirmed. */
    if (h->open && confirmed != ST_UNKNOWN)
        return incident_close(h, since_ms > 0 ? since_ms : now_ms);
    return NULL;
}

void htarget_observe(struct htarget *h, const struct probe_result *r, const struct verdict *v,
                     enum target_state confirmed, int64_t confirmed_since_ms, int64_t now_ms,
                     uint64_t *next_id, struct hchanges *out)
{
    struct hsample s = {
        .wall_ms = r->started_wall_ms > 0 ? r->started_wall_ms : now_ms,
        .total_us = clamp32(r->total_us),
        .code = (uint16_t)(r->code > 0 && r->code < 1000 ? r->code : 0),
        .error = (uint8_t)v->error,
        .state = (uint8_t)v->state,
    };

    memset(out, 0, sizeof(*out));
    h->last = s;
    h->dns_us = clamp32(r->dns_us);
    h->connect_us = clamp32(r->connect_us);
    h->tls_us = clamp32(r->tls_us);
    h->ttfb_us = clamp32(r->ttfb_us);
    h->severity = (uint8_t)v->severity;
    h->cls = (uint8_t)v->cls;
    h->slow = v->slow;
    h->cert_not_after = r->cert_not_after;
    set_text(&h->message, r->message);
    set_text(&h->location, r->location);
    set_text(&h->cert_subject, r->cert_subject);
    set_text(&h->cert_issuer, r->cert_issuer);

    h->recent[h->next] = s;
    h->next = (h->next + 1) % HIST_RECENT;
    if (h->nrecent < HIST_RECENT)
        h->nrecent++;

    h->by_state[v->state]++;
    if (r->total_us >= 0) {
        h->duration[hist_lat_bucket(r->total_us)]++;
        h->duration_sum_us += (uint64_t)r->total_us;
    }

    int64_t minute = floor_div(now_ms, MINUTE_MS) * MINUTE_MS;
    if (h->minute.probes && h->minute.start_ms != minute) {
        out->minute_closed = true;
        out->closed = h->minute;
        h->minute.probes = 0;
    }
    if (h->minute.probes == 0) {
        memset(&h->minute, 0, sizeof(h->minute));
        h->minute.start_ms = minute;
    }
    bucket_add(&h->minute, v->state, r->total_us);

    uint32_t failed = state_is_failing(v->state);
    hours_add(h, now_ms, 1, failed);
    days_add(h, now_ms, 1, failed, v->state);

    out->incident = incident_step(h, &s, confirmed, confirmed_since_ms, now_ms, next_id);
}

bool htarget_tick(struct htarget *h, int64_t now_ms, struct hbucket *closed)
{
    if (h->minute.probes == 0 || now_ms < h->minute.start_ms + MINUTE_MS)
        return false;
    *closed = h->minute;
    memset(&h->minute, 0, sizeof(h->minute));
    return true;
}

/* Sums the units from..to (inclusive) of a window of n ending at last;
 * probes and failures of unit i are what at(a, i) gives. */
static void window_sum(const void *a, unsigned n, int32_t last, int64_t from, int64_t to,
                       void (*at)(const void *a, unsigned i, uint64_t *probes, uint64_t *failures),
                       uint64_t *probes, uint64_t *failures)
{
    for (unsigned i = 0; i < n; i++) {
        int64_t unit = (int64_t)last - (n - 1 - i);
        if (unit >= from && unit <= to)
            at(a, i, probes, failures);
    }
}

static void hour_at(const void *a, unsigned i, uint64_t *probes, uint64_t *failures)
{
    const struct hhour *h = a;
    *probes += h[i].probes;
    *failures += h[i].failures;
}

static void day_at(const void *a, unsigned i, uint64_t *probes, uint64_t *failures)
{
    const struct htotal *d = a;
    *probes += d[i].probes;
    *failures += d[i].failures;
}

double htarget_uptime(const struct htarget *h, int64_t span_ms, int64_t now_ms)
{
    uint64_t probes = 0, failures = 0;

    if (span_ms <= 0)
        return -1;
    if (span_ms <= (HIST_HOURS - 1) * HOUR_MS) {
        int64_t cur = floor_div(now_ms, HOUR_MS);
        window_sum(h->hours, h->nhours, h->hour_last, cur - (span_ms + HOUR_MS - 1) / HOUR_MS, cur,
                   hour_at, &probes, &failures);
    } else {
        int64_t cur = floor_div(now_ms, DAY_MS), n = (span_ms + DAY_MS - 1) / DAY_MS;
        window_sum(h->days, h->ndays, h->day_last, cur - (n < HIST_DAYS ? n : HIST_DAYS - 1), cur,
                   day_at, &probes, &failures);
    }
    if (probes == 0)
        return -1;
    return (double)(probes - (failures < probes ? failures : probes)) / (double)probes;
}

void htarget_days(const struct htarget *h, int64_t now_ms, struct hspan *out, size_t ndays)
{
    int64_t today = floor_div(now_ms, DAY_MS);

    for (size_t i = 0; i < ndays; i++) {
        int64_t back = (int64_t)h->day_last - (today - (int64_t)(ndays - 1 - i));
        out[i] = (struct hspan){.worst = ST_UNKNOWN};
        if (back >= 0 && back < h->ndays) {
            const struct htotal *t = &h->days[h->ndays - 1 - back];
            out[i] = (struct hspan){t->probes, t->failures, (uint8_t)t->worst};
        }
    }
}

const struct incident *htarget_end(struct htarget *h, int64_t now_ms)
{
    return h->open ? incident_close(h, now_ms) : NULL;
}

void htarget_renumber(struct htarget *h, uint64_t below, uint64_t *next_id)
{
    if (h->open && h->open->id < below)
        h->open->id = (*next_id)++;
    for (unsigned i = 0; i < h->nclosed; i++)
        if (h->closed[i].id < below)
            h->closed[i].id = (*next_id)++;
}

void htarget_add_incident(struct htarget *h, const struct incident *inc)
{
    /* A newer version of one already here (the database's row, then the
     * change not yet written) takes its place. */
    if (h->open && h->open->id == inc->id && inc->end_ms != 0) {
        free(h->open);
        h->open = NULL;
    }
    for (unsigned i = 0; i < h->nclosed; i++) {
        if (h->closed[i].id == inc->id) {
            memmove(&h->closed[i], &h->closed[i + 1], (h->nclosed - 1 - i) * sizeof(h->closed[0]));
            h->nclosed--;
            break;
        }
    }
    if (inc->end_ms == 0) {
        if (h->open == NULL)
            h->open = xmalloc(sizeof(*h->open));
        *h->open = *inc;
        return;
    }
    /* Newest first: the place of the first one that began before it. */
    unsigned i = 0;
    while (i < h->nclosed && h->closed[i].start_ms >= inc->start_ms)
        i++;
    if (i >= HIST_INCIDENTS)
        return;
    if (h->closed == NULL)
        h->closed = xcalloc(HIST_INCIDENTS, sizeof(*h->closed));
    memmove(&h->closed[i + 1], &h->closed[i], (HIST_INCIDENTS - 1 - i) * sizeof(h->closed[0]));
    h->closed[i] = *inc;
    if (h->nclosed < HIST_INCIDENTS)
        h->nclosed++;
}
