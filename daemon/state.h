/* The alert state machine of one target. Pure: the previous state, one
 * verdict, the target's policy and the time go in; the new state and the
 * alerts to raise come out.
 *
 * A target's confirmed state changes only after failure_threshold
 * consecutive probes agree (recovery_threshold to come back up); each
 * confirmed change raises one alert. While failing, a reminder is raised
 * every remind_every. "slow" is judged the same way among up answers, and
 * a certificate near its end is reported once per certificate. A target
 * whose raw verdict changes more than flap_threshold times within the last
 * flap_window probes is reported once as flapping; its alerts are held
 * until it settles, when one alert tells where it settled. */
#ifndef UPMON_STATE_H
#define UPMON_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "eventtype.h"
#include "result.h"
#include "verdict.h"

#define STATE_LOCATION_MAX RESULT_LOCATION_MAX

/* Whether a state is one of the failing ones (an alert is due). */
bool state_is_failing(enum target_state s);

/* Names used in JSON, the journal, logs and the store. */
const char *state_name(enum target_state s);
int state_parse(const char *s, enum target_state *out);

/* A moment on both clocks: durations (how long a target has been down,
 * when to remind) run on the monotonic one, which no clock step moves;
 * the wall clock is for display and for certificates. */
struct instant {
    int64_t mono_ms;
    int64_t wall_ms;
};

/* A wall-clock time from before a restart on the monotonic clock of now:
 * how long ago it was is taken from the wall clock, and a time not in
 * the past (the clock went back while the daemon was stopped, or the
 * value is garbage) counts as now. */
int64_t instant_mono_of(int64_t wall_ms, struct instant now);

/* What survives a restart (the store keeps it). Times are on the wall
 * clock there; a restored state takes them as time elapsed (see
 * tstate_restore). */
struct tstate_saved {
    enum target_state state; /* confirmed state */
    enum severity severity;  /* of the confirmed state */
    char *location;          /* confirmed redirect target (owned), or NULL */
    int64_t since_ms;        /* wall clock: when the confirmed state began */
    int64_t notified_ms;     /* last down/changed/reminder raised */
    int64_t cert_warned;     /* notAfter already warned about; 0: none */
    bool slow;               /* confirmed slow */
    bool flapping;
};

struct tstate {
    struct tstate_saved s;
    /* Hysteresis: the state the last probes agree on, and how many. */
    enum target_state candidate;
    unsigned streak;
    uint64_t candidate_location;    /* hash of its redirect target */
    struct instant candidate_since; /* first probe of the streak */
    unsigned slow_streak;           /* consecutive slow (or, when slow, fast) up answers */
    /* Flap detection: bit i set when probe i back changed the raw state. */
    enum target_state last_raw;
    uint64_t last_raw_location; /* hash */
    uint64_t changes;
    unsigned probes; /* probes seen, up to 64 */
    /* s.since_ms and s.notified_ms on the monotonic clock. */
    int64_t since_mono, notified_mono;
};

/* The state of a target never seen before. */
void tstate_init(struct tstate *ts);
/* The state of a target known from before a restart (saved is copied).
 * How long ago its times were is taken from the wall clock, once: across
 * a restart there is no other (a step while the daemon was stopped
 * cannot be told from time passing; one into the past counts as none). */
void tstate_restore(struct tstate *ts, const struct tstate_saved *saved, struct instant now);
void tstate_free(struct tstate *ts);

/* What a target was before an alert: a confirmed state (the values are
 * those of enum target_state, so a state converts with a cast), or one of
 * two conditions that are not states. */
enum alert_previous {
    PREV_UNKNOWN = ST_UNKNOWN,
    PREV_UP = ST_UP,
    PREV_REDIRECTING = ST_REDIRECTING,
    PREV_CLIENT_ERROR = ST_CLIENT_ERROR,
    PREV_SERVER_ERROR = ST_SERVER_ERROR,
    PREV_UNREACHABLE = ST_UNREACHABLE,
    PREV_CONTENT = ST_CONTENT,
    PREV_UNEXPECTED = ST_UNEXPECTED,
    PREV_SLOW = ST_COUNT, /* up, but slower than max_latency */
    PREV_FLAPPING,        /* flapping: alerts were held */
};
#define PREV_COUNT (ST_COUNT + 2)

/* "up", "slow", "flapping" and so on: previous_state in JSON and the
 * journal. */
const char *alert_previous_name(enum alert_previous p);

/* One alert, with everything a sink needs besides the target's own
 * configuration. */
struct alert {
    enum event_type type;
    enum target_state state;       /* confirmed state after the event */
    enum alert_previous previous;  /* what the target was before the event */
    enum severity severity;        /* of this alert */
    enum severity filter_severity; /* compared with min_severity: for recovered, that
                                      of the state recovered from */
    int64_t time_ms;               /* wall clock */
    int64_t since_ms;              /* when the state began (for recovered: the outage began) */
    int64_t previous_since_ms;     /* down, changed, redirect out of another state (not out of
                                      flapping): when that state began */
    int64_t duration_ms;           /* how long since then, on the monotonic clock */
    int code;
    enum code_class cls;
    enum probe_error error;
    char message[RESULT_MESSAGE_MAX];
    char location[STATE_LOCATION_MAX];
    int64_t latency_us;
    /* The certificate that ends first in the chain the probe saw: its end
     * (0: unknown), subject and issuer (RFC 2253, "" when unknown). */
    int64_t cert_not_after;
    char cert_subject[RESULT_CERT_NAME_MAX];
    char cert_issuer[RESULT_CERT_NAME_MAX];
    unsigned flap_changes; /* for flapping */
};

#define STATE_MAX_ALERTS 4

/* Feeds one judged probe. Fills out[] with the alerts to raise (at most
 * STATE_MAX_ALERTS) and returns how many. *saved_changed tells whether
 * ts->s changed, so the caller knows when to persist it. */
unsigned state_step(struct tstate *ts, const struct target_conf *t, const struct probe_result *r,
                    const struct verdict *v, struct instant now, struct alert *out,
                    bool *saved_changed);

/* A person-readable one-line summary of an alert, for MESSAGE= and chat:
 * valid UTF-8 with control characters escaped (text.h), whatever a site
 * sent, and cut with "..." when longer than len - 1 bytes. */
void alert_message(const struct alert *a, const struct target_conf *t, char *out, size_t len);

/* What the probe that raised an alert saw, in words, such as "503 Service
 * Unavailable", "connect: Failed to connect to ..." or "301 Moved
 * Permanently -> https://...": the part of the summary line that tells
 * the answer, there whatever the answer was. Printable as alert_message
 * is; at most ALERT_DETAIL_MAX - 1 bytes, cut at a character with "..."
 * when longer, so that journalctl shows it in a catalog text (it leaves a
 * field over 256 bytes out). */
#define ALERT_DETAIL_MAX 240
void alert_detail(const struct alert *a, char *out, size_t len);

#endif
