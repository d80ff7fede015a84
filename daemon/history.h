/* Each target's history in memory: the last probe and a few before it,
 * the minute under way, the totals that uptime figures and the status
 * page's daily strip are made of, the open incident and the last few
 * closed ones, and the counters /metrics exports. Pure: results, states
 * and the time come in; what closes (a minute's bucket, an incident's
 * change) comes out for the history database (histdb.h) to write. */
#ifndef UPMON_HISTORY_H
#define UPMON_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codes.h"
#include "result.h"
#include "verdict.h"

/* Latency buckets, shared by the per-minute histogram and /metrics's
 * upmon_probe_duration_seconds: upper bounds in microseconds, the last
 * bucket (+Inf) not listed. */
#define HIST_LAT_BUCKETS 10
extern const int64_t hist_lat_bounds_us[HIST_LAT_BUCKETS - 1];

/* The bucket a latency falls in (0 .. HIST_LAT_BUCKETS - 1). */
unsigned hist_lat_bucket(int64_t us);

/* How bad a state is, for "the worst state" of a bucket, a day or an
 * incident: up < redirecting < unexpected < content < client_error <
 * server_error < unreachable; unknown (nothing seen) is below all. */
int hist_state_rank(enum target_state s);

/* One minute (or, compacted, one hour) of one target. */
struct hbucket {
    int64_t start_ms; /* wall clock, a multiple of the bucket's width */
    uint32_t probes;
    uint32_t failures;       /* probes whose verdict was a failing state */
    uint64_t latency_sum_us; /* over probes that have a total time */
    uint32_t latency_max_us;
    uint32_t lat[HIST_LAT_BUCKETS]; /* probes per latency bucket (not cumulative) */
    uint8_t worst;                  /* enum target_state: the worst verdict seen */
};

/* One probe, as the recent list and the API show it. */
struct hsample {
    int64_t wall_ms;  /* when it started */
    int32_t total_us; /* -1: no total time */
    uint16_t code;    /* 0: no answer */
    uint8_t error;    /* enum probe_error */
    uint8_t state;    /* enum target_state: the verdict */
};

/* Totals of one span (an hour, a day). */
struct hspan {
    uint32_t probes, failures;
    uint8_t worst; /* enum target_state; ST_UNKNOWN: no probe */
};

#define INCIDENT_CODES 8

/* From the moment a target's confirmed state became failing to its
 * recovery. */
struct incident {
    uint64_t id;              /* unique in the history database, never reused */
    int64_t start_ms, end_ms; /* wall clock; end_ms 0 while open */
    uint8_t worst;            /* enum target_state: the worst confirmed or seen */
    uint8_t ncodes;           /* distinct status codes seen while it lasted */
    uint16_t codes[INCIDENT_CODES];
    uint32_t errors; /* bit (1u << e) per enum probe_error seen */
};

/* A day's totals as memory keeps them: 8 bytes, the worst state packed
 * beside the failures, for there are up to 90 of them per target and ten
 * thousand targets. */
struct htotal {
    uint32_t probes;
    unsigned failures : 28; /* saturates: 2^28 is 3,000 probes a second for a day */
    unsigned worst : 4;     /* enum target_state; ST_UNKNOWN: no probe */
};

/* An hour's, for uptime only: an interval is at least a second, so an
 * hour has at most 3,600 probes (the counts saturate all the same). */
struct hhour {
    uint16_t probes, failures;
};

#define HIST_HOURS     25 /* the hour under way and the 24 before it */
#define HIST_RECENT    16 /* probes kept in memory per target */
#define HIST_INCIDENTS 5  /* closed incidents kept in memory per target */
#define HIST_DAYS      90 /* days the status page's strip shows */

/* What memory holds of one target. The fields are read by the renderers
 * (/metrics, the status page, the API); only history.c writes them. */
struct htarget {
    /* The last probe, whole enough to be shown as --once --json shows
     * one (report.h): its sample, timings (-1: phase not reached), the
     * verdict's details and what the site sent (owned; NULL when none). */
    struct hsample last; /* last.wall_ms 0: no probe yet */
    int32_t dns_us, connect_us, tls_us, ttfb_us;
    uint8_t severity; /* enum severity */
    uint8_t cls;      /* enum code_class */
    bool slow;
    int64_t cert_not_after; /* 0: unknown */
    char *message, *location, *cert_subject, *cert_issuer;

    /* The last HIST_RECENT probes, oldest first from recent[next] once
     * full. */
    struct hsample recent[HIST_RECENT];
    unsigned nrecent, next;

    /* The minute under way (probes 0: none yet). */
    struct hbucket minute;

    /* Counters since the daemon started, for /metrics. 32 bits: at one
     * probe a second (the shortest interval) they last 136 years, and
     * 72 bytes a target is 720 KB at 10,000 targets. */
    uint32_t by_state[ST_COUNT];         /* probes by verdict */
    uint32_t duration[HIST_LAT_BUCKETS]; /* probes by total time (not cumulative) */
    uint64_t duration_sum_us;            /* of probes with a total time */

    /* Incidents: the open one (NULL when none) and the last few closed,
     * newest first: nclosed of them, up to HIST_INCIDENTS (closed is
     * allocated with the first, as most targets never have one). */
    struct incident *open;
    struct incident *closed;
    unsigned nclosed;

    /* Totals by hour and by day (UTC) for uptime figures and the daily
     * strip, restored from the database at start (histdb.h): history.c's
     * own layout, read through htarget_uptime and htarget_days. Each is
     * a window of consecutive units (hours or days since the epoch)
     * ending with the unit *_last, oldest first; the days grow as they
     * come, so a target with a week of history holds a week of them. */
    struct hhour hours[HIST_HOURS];
    struct htotal *days; /* ndays of them, up to HIST_DAYS */
    int32_t hour_last, day_last;
    uint8_t nhours, ndays;
};

void htarget_init(struct htarget *h);
void htarget_free(struct htarget *h);

/* What a probe changed that the database must write. */
struct hchanges {
    bool minute_closed;
    struct hbucket closed;           /* the minute that ended, when minute_closed */
    const struct incident *incident; /* opened, changed or closed; NULL: none */
};

/* Feeds one judged probe, with the target's confirmed state after it
 * (state.h) and when that state began, at wall time now_ms. An incident
 * opens when the confirmed state becomes a failing one, takes the codes
 * and errors seen while it lasts, and closes when the state recovers;
 * *next_id gives a new incident its id. */
void htarget_observe(struct htarget *h, const struct probe_result *r, const struct verdict *v,
                     enum target_state confirmed, int64_t confirmed_since_ms, int64_t now_ms,
                     uint64_t *next_id, struct hchanges *out);

/* Closes the minute under way once its minute is past, for targets that
 * probe less than once a minute; true when *closed was filled. */
bool htarget_tick(struct htarget *h, int64_t now_ms, struct hbucket *closed);

/* The share of probes that did not fail over the span_ms before now_ms
 * (0 to 1), or -1 when there was none. The window is made of whole
 * units and the one under way: up to 24 hours, the hour under way and
 * the ceil(span_ms / 1 h) whole hours before it (so "24 h" covers 24 to
 * 25 hours back); beyond, today (UTC) and the ceil(span_ms / 1 d) whole
 * UTC days before it ("7 d" covers 7 to 8 days, "30 d" 30 to 31), at
 * most HIST_DAYS - 1 days. */
double htarget_uptime(const struct htarget *h, int64_t span_ms, int64_t now_ms);

/* Totals of the last ndays UTC days, out[ndays - 1] being today's. */
void htarget_days(const struct htarget *h, int64_t now_ms, struct hspan *out, size_t ndays);

/* A target removed from the configuration: its open incident, if any,
 * ends at now_ms. Returns it (now closed[0]) for the database, or NULL. */
const struct incident *htarget_end(struct htarget *h, int64_t now_ms);

/* Incident ids below `below` (handed out while no database was open, so
 * one it holds may have them) are replaced by new ones from *next_id. */
void htarget_renumber(struct htarget *h, uint64_t below, uint64_t *next_id);

/* Restoring from the database (histdb.c), in any order: an hour's or a
 * UTC day's totals (start_ms within it), a minute not yet written (into
 * both), an incident (open when end_ms is 0; closed ones beyond the
 * HIST_INCIDENTS newest are dropped; one with the id of an incident
 * already there is a newer version of it and replaces it). Totals outside
 * the windows that memory keeps are ignored. */
void htarget_add_hour(struct htarget *h, int64_t start_ms, const struct hspan *s);
void htarget_add_day(struct htarget *h, int64_t start_ms, const struct hspan *s);
void htarget_add_incident(struct htarget *h, const struct incident *inc);

#endif
