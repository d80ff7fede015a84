/* The alert state machine. The order of one step:
 *   1. flap history: did the raw state change with this probe?
 *   2. flapping starts: raise "flapping" once, hold alerts from here on;
 *   3. hysteresis: a new confirmed state raises down / redirect / changed /
 *      recovered (held while flapping, but the state still moves);
 *   4. flapping settles: confirm where it is, raise one alert saying so;
 *   5. reminder, while failing;
 *   6. slow, among up answers (its own hysteresis);
 *   7. certificate end within cert_expiry_warning, once per certificate. */
#include "state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codes.h"
#include "duration.h"
#include "names.h"
#include "text.h"
#include "util.h"

/* The states, then the two conditions an alert can follow that are not
 * states: one array read as two tables, so that a state has the same name
 * wherever it appears. */
static const char *const state_name_of[PREV_COUNT] = {
    [ST_UNKNOWN] = "unknown",
    [ST_UP] = "up",
    [ST_REDIRECTING] = "redirecting",
    [ST_CLIENT_ERROR] = "client_error",
    [ST_SERVER_ERROR] = "server_error",
    [ST_UNREACHABLE] = "unreachable",
    [ST_CONTENT] = "content",
    [ST_UNEXPECTED] = "unexpected",
    [PREV_SLOW] = "slow",
    [PREV_FLAPPING] = "flapping",
};
static const struct names state_names = {state_name_of, ST_COUNT, "unknown"};
static const struct names previous_names = {state_name_of, PREV_COUNT, "unknown"};

bool state_is_failing(enum target_state s)
{
    return s == ST_CLIENT_ERROR || s == ST_SERVER_ERROR || s == ST_UNREACHABLE || s == ST_CONTENT ||
           s == ST_UNEXPECTED;
}

const char *state_name(enum target_state s)
{
    return names_get(&state_names, s);
}

int state_parse(const char *s, enum target_state *out)
{
    int v = names_parse(&state_names, s);

    if (v < 0)
        return -1;
    *out = (enum target_state)v;
    return 0;
}

const char *alert_previous_name(enum alert_previous p)
{
    return names_get(&previous_names, p);
}

/* An alert that follows a confirmed state. */
static enum alert_previous previous_state(enum target_state s)
{
    return (enum alert_previous)s;
}

void tstate_init(struct tstate *ts)
{
    memset(ts, 0, sizeof(*ts));
    ts->s.state = ST_UNKNOWN;
    ts->s.severity = SEV_OK;
    ts->candidate = ST_UNKNOWN;
    ts->last_raw = ST_UNKNOWN;
}

int64_t instant_mono_of(int64_t wall_ms, struct instant now)
{
    /* A saved time not in the past (or garbage) counts as now; one older
     * than the monotonic clock can say is as old as it can say. */
    if (wall_ms <= 0 || wall_ms >= now.wall_ms)
        return now.mono_ms;
    int64_t ago = now.wall_ms - wall_ms;
    return ago < now.mono_ms - INT64_MIN / 2 ? now.mono_ms - ago : INT64_MIN / 2;
}

void tstate_restore(struct tstate *ts, const struct tstate_saved *saved, struct instant now)
{
    tstate_init(ts);
    ts->s = *saved;
    ts->s.location = saved->location && saved->location[0] ? xstrdup(saved->location) : NULL;
    ts->since_mono = instant_mono_of(saved->since_ms, now);
    ts->notified_mono = instant_mono_of(saved->notified_ms, now);
}

void tstate_free(struct tstate *ts)
{
    free(ts->s.location);
    ts->s.location = NULL;
}

static void copy_location(char *dst, const char *src)
{
    snprintf(dst, STATE_LOCATION_MAX, "%s", src ? src : "");
}

/* Only the confirmed redirect target is kept as text; the others are
 * compared by hash (the state machine runs for every probe of every
 * target, and its memory is per target). */
static uint64_t location_hash(const char *loc)
{
    return loc && loc[0] ? hash64(loc) : 0;
}

static bool same_hash(enum target_state a, uint64_t aloc, enum target_state b, uint64_t bloc)
{
    return a == b && (a != ST_REDIRECTING || aloc == bloc);
}

static bool same_confirmed(const struct tstate *ts, enum target_state raw, const char *loc)
{
    return raw == ts->s.state &&
           (raw != ST_REDIRECTING || strcmp(loc, ts->s.location ? ts->s.location : "") == 0);
}

static unsigned popcount64(uint64_t x)
{
    return (unsigned)__builtin_popcountll(x);
}

struct step {
    struct tstate *ts;
    const struct target_conf *t;
    const struct probe_result *r;
    const struct verdict *v;
    struct instant now;
    struct alert *out;
    unsigned n;
    bool *changed;
};

static struct alert *emit(struct step *st, enum event_type type, enum alert_previous previous,
                          enum severity sev, enum severity filter)
{
    if (st->n >= STATE_MAX_ALERTS)
        return NULL;
    struct alert *a = &st->out[st->n++];
    const struct probe_result *r = st->r;

    memset(a, 0, sizeof(*a));
    a->type = type;
    a->state = st->ts->s.state;
    a->previous = previous;
    a->severity = sev;
    a->filter_severity = filter;
    a->time_ms = st->now.wall_ms;
    a->since_ms = st->ts->s.since_ms;
    a->duration_ms = st->now.mono_ms - st->ts->since_mono;
    a->code = r->code;
    a->cls = st->v->cls;
    a->error = st->v->error;
    snprintf(a->message, sizeof(a->message), "%s", r->message);
    copy_location(a->location, r->location);
    a->latency_us = r->total_us;
    a->cert_not_after = r->cert_not_after;
    memcpy(a->cert_subject, r->cert_subject, sizeof(a->cert_subject));
    memcpy(a->cert_issuer, r->cert_issuer, sizeof(a->cert_issuer));
    return a;
}

/* Moves the confirmed state to the raw one, which began at `began`;
 * returns the previous state. */
static enum target_state confirm(struct step *st, enum target_state raw, const char *loc,
                                 struct instant began, enum severity *prev_sev,
                                 struct instant *prev_since)
{
    struct tstate *ts = st->ts;
    enum target_state prev = ts->s.state;

    *prev_sev = ts->s.severity;
    *prev_since = (struct instant){ts->since_mono, ts->s.since_ms};
    /* An outage that changes kind (503, then refused) is one outage. */
    if (!(state_is_failing(prev) && state_is_failing(raw))) {
        ts->s.since_ms = began.wall_ms;
        ts->since_mono = began.mono_ms;
    }
    ts->s.state = raw;
    ts->s.severity = st->v->severity;
    free(ts->s.location);
    ts->s.location = loc[0] ? xstrdup(loc) : NULL;
    ts->streak = 0;
    ts->candidate = ST_UNKNOWN;
    ts->candidate_location = 0;
    if (raw != ST_UP) {
        ts->s.slow = false;
        ts->slow_streak = 0;
    }
    *st->changed = true;
    return prev;
}

/* The alert a confirmed change raises, if any; settled: the change ends
 * a spell of flapping, and the alert says it came from there. */
static void transition_alert(struct step *st, enum target_state prev, enum severity prev_sev,
                             struct instant prev_since, bool settled)
{
    struct tstate *ts = st->ts;
    enum target_state now_state = ts->s.state;
    enum alert_previous previous = settled ? PREV_FLAPPING : previous_state(prev);
    struct alert *a;

    if (now_state == ST_UP) {
        if (prev == ST_UNKNOWN && !settled)
            return; /* up at start-up: nothing to say */
        a = emit(st, EVT_RECOVERED, previous, SEV_OK, settled ? SEV_WARNING : prev_sev);
        if (a) { /* since when the outage began */
            a->since_ms = prev_since.wall_ms;
            a->duration_ms = st->now.mono_ms - prev_since.mono_ms;
        }
        return;
    }
    if (now_state == ST_REDIRECTING) {
        a = emit(st, EVT_REDIRECT, previous, ts->s.severity, ts->s.severity);
        if (a)
            a->previous_since_ms = prev_since.wall_ms;
        return;
    }
    enum event_type type = (state_is_failing(prev) && !settled) ? EVT_CHANGED : EVT_DOWN;
    a = emit(st, type, previous, ts->s.severity, ts->s.severity);
    if (a)
        a->previous_since_ms = prev_since.wall_ms;
    ts->s.notified_ms = st->now.wall_ms;
    ts->notified_mono = st->now.mono_ms;
}

unsigned state_step(struct tstate *ts, const struct target_conf *t, const struct probe_result *r,
                    const struct verdict *v, struct instant now, struct alert *out,
                    bool *saved_changed)
{
    struct step st = {ts, t, r, v, now, out, 0, saved_changed};
    enum target_state raw = v->state;
    const char *loc = raw == ST_REDIRECTING ? r->location : "";
    uint64_t lochash = location_hash(loc);
    bool transitioned = false;
    enum severity prev_sev;
    struct instant prev_since;

    *saved_changed = false;

    /* 1. Flap history over the last flap_window probes (at most 64). */
    bool raw_changed =
        ts->probes > 0 && !same_hash(raw, lochash, ts->last_raw, ts->last_raw_location);
    ts->changes = (ts->changes << 1) | (raw_changed ? 1u : 0u);
    if (ts->probes < 64)
        ts->probes++;
    ts->last_raw = raw;
    ts->last_raw_location = lochash;
    unsigned window = t->flap_window < 64 ? t->flap_window : 64;
    uint64_t mask = window >= 64 ? ~0ull : ((1ull << window) - 1);
    unsigned flips = popcount64(ts->changes & mask);

    /* 2. Flapping starts. */
    if (t->flap_threshold && !ts->s.flapping && flips > t->flap_threshold) {
        ts->s.flapping = true;
        *saved_changed = true;
        struct alert *a =
            emit(&st, EVT_FLAPPING, previous_state(ts->s.state), SEV_WARNING, SEV_WARNING);
        if (a)
            a->flap_changes = flips;
    }

    /* 3. Hysteresis. */
    if (same_confirmed(ts, raw, loc)) {
        ts->streak = 0;
        ts->candidate = ST_UNKNOWN;
        ts->candidate_location = 0;
    } else {
        if (ts->streak > 0 && same_hash(raw, lochash, ts->candidate, ts->candidate_location)) {
            ts->streak++;
        } else {
            ts->candidate = raw;
            ts->candidate_location = lochash;
            ts->streak = 1;
            ts->candidate_since = now;
        }
        unsigned threshold = raw == ST_UP ? t->recovery_threshold : t->failure_threshold;
        if (ts->streak >= (threshold ? threshold : 1)) {
            enum target_state prev =
                confirm(&st, raw, loc, ts->candidate_since, &prev_sev, &prev_since);
            transitioned = true;
            if (!ts->s.flapping)
                transition_alert(&st, prev, prev_sev, prev_since, false);
        }
    }

    /* 4. Flapping settles: few changes left in a window of history (after
     * a restart there is none yet: no settling on the first probe), or
     * flap detection was turned off by a reload. */
    if (ts->s.flapping &&
        (t->flap_threshold == 0 || (ts->probes >= window && flips <= t->flap_threshold / 2))) {
        ts->s.flapping = false;
        *saved_changed = true;
        if (!same_confirmed(ts, raw, loc))
            confirm(&st, raw, loc, now, &prev_sev, &prev_since);
        prev_since = (struct instant){ts->since_mono, ts->s.since_ms};
        transition_alert(&st, ts->s.state, SEV_WARNING, prev_since, true);
        transitioned = true;
    }

    /* 5. Reminders while failing. */
    if (!ts->s.flapping && !transitioned && state_is_failing(ts->s.state) && t->remind_every_ms &&
        now.mono_ms - ts->notified_mono >= (int64_t)t->remind_every_ms) {
        emit(&st, EVT_REMINDER, previous_state(ts->s.state), ts->s.severity, ts->s.severity);
        ts->s.notified_ms = now.wall_ms;
        ts->notified_mono = now.mono_ms;
        *saved_changed = true;
    }

    /* 6. Slow among up answers. */
    if (ts->s.state == ST_UP && raw == ST_UP) {
        if (v->slow != ts->s.slow)
            ts->slow_streak++;
        else
            ts->slow_streak = 0;
        unsigned threshold = v->slow ? t->failure_threshold : t->recovery_threshold;
        if (ts->slow_streak >= (threshold ? threshold : 1)) {
            ts->s.slow = v->slow;
            ts->slow_streak = 0;
            *saved_changed = true;
            if (!ts->s.flapping) {
                if (v->slow)
                    emit(&st, EVT_SLOW, PREV_UP, SEV_WARNING, SEV_WARNING);
                else
                    emit(&st, EVT_RECOVERED, PREV_SLOW, SEV_OK, SEV_WARNING);
            }
        }
    }

    /* 7. A certificate near its end, once per certificate. */
    if (r->cert_not_after > 0 && t->cert_expiry_warning_ms) {
        int64_t left_ms = r->cert_not_after * 1000 - now.wall_ms; /* certificates: wall clock */
        if (left_ms <= (int64_t)t->cert_expiry_warning_ms) {
            if (ts->s.cert_warned != r->cert_not_after) {
                ts->s.cert_warned = r->cert_not_after;
                *saved_changed = true;
                emit(&st, EVT_CERT_EXPIRING, previous_state(ts->s.state), SEV_WARNING, SEV_WARNING);
            }
        } else if (ts->s.cert_warned) {
            ts->s.cert_warned = 0; /* renewed */
            *saved_changed = true;
        }
    }
    return st.n;
}

/* The status line, or why there was none. */
static void answer_of(const struct alert *a, char *out, size_t len)
{
    const char *phrase = codes_phrase(a->code);

    /* An answer over max_latency is still the answer it was. */
    if (a->code && codes_valid(a->code) && (a->error == PERR_NONE || a->error == PERR_TOO_SLOW))
        snprintf(out, len, "%d %s", a->code, phrase ? phrase : "(unregistered)");
    else if (a->error != PERR_NONE && a->message[0])
        snprintf(out, len, "%s: %s", probe_error_name(a->error), a->message);
    else if (a->error != PERR_NONE)
        snprintf(out, len, "%s", probe_error_name(a->error));
    else
        snprintf(out, len, "no answer");
}

void alert_detail(const struct alert *a, char *out, size_t len)
{
    char answer[RESULT_MESSAGE_MAX + 64], took[48] = "";
    char full[sizeof(answer) + STATE_LOCATION_MAX + sizeof(took) + 8];
    size_t size = len < ALERT_DETAIL_MAX ? len : ALERT_DETAIL_MAX;
    bool redirect = a->type == EVT_REDIRECT ||
                    (a->cls == CLASS_REDIRECTION && a->error == PERR_NONE && codes_valid(a->code));

    if (len < 4) {
        if (len)
            out[0] = '\0';
        return;
    }
    answer_of(a, answer, sizeof(answer));
    if (a->error == PERR_TOO_SLOW && a->latency_us >= 0)
        snprintf(took, sizeof(took), " in %.0f ms", (double)a->latency_us / 1000.0);
    const char *where = a->location[0] ? a->location : "(no Location)";
    snprintf(full, sizeof(full), "%s%s%s%s", answer, redirect ? " -> " : "", redirect ? where : "",
             took);

    /* Printable, and when longer than size - 1, cut with "..." between
     * characters. */
    text_sanitize(out, size, full, strlen(full), TEXT_ESCAPE | TEXT_ELLIPSIS);
}

/* The summary line, as it comes: it may quote what a site sent. */
static void compose(const struct alert *a, const struct target_conf *t, char *out, size_t len)
{
    char answer[RESULT_MESSAGE_MAX + 64];
    char dur[32];

    answer_of(a, answer, sizeof(answer));

    duration_format(a->duration_ms > 0 && a->since_ms > 0
                        ? (uint64_t)((a->duration_ms + 500) / 1000 * 1000)
                        : 0,
                    dur, sizeof(dur));
    switch (a->type) {
    case EVT_DOWN:
        snprintf(out, len, "%s is down: %s (%s)", t->name, answer, t->shown_url);
        break;
    case EVT_CHANGED:
        snprintf(out, len, "%s is still down, now %s (was %s)", t->name, answer,
                 alert_previous_name(a->previous));
        break;
    case EVT_REMINDER:
        snprintf(out, len, "%s is still down after %s: %s (%s)", t->name, dur, answer,
                 t->shown_url);
        break;
    case EVT_REDIRECT:
        snprintf(out, len, "%s redirects: %s -> %s", t->name, answer,
                 a->location[0] ? a->location : "(no Location)");
        break;
    case EVT_RECOVERED:
        if (a->previous == PREV_SLOW)
            snprintf(out, len, "%s answers within max_latency again: %s in %.0f ms", t->name,
                     answer, (double)a->latency_us / 1000.0);
        else
            snprintf(out, len, "%s recovered: %s (was %s for %s)", t->name, answer,
                     alert_previous_name(a->previous), dur);
        break;
    case EVT_SLOW:
        snprintf(out, len, "%s is slow: %s in %.0f ms, over max_latency %llu ms", t->name, answer,
                 (double)a->latency_us / 1000.0, (unsigned long long)t->max_latency_ms);
        break;
    case EVT_CERT_EXPIRING: {
        int64_t left = a->cert_not_after * 1000 - a->time_ms;
        char which[2 * RESULT_CERT_NAME_MAX + 32] = "", when[32] = "";
        time_t end = (time_t)a->cert_not_after;
        struct tm tm;

        /* Which one: in a chain, the one that ends first may not be the
         * site's own. */
        if (a->cert_subject[0])
            snprintf(which, sizeof(which), " \"%s\"", a->cert_subject);
        if (a->cert_issuer[0])
            snprintf(which + strlen(which), sizeof(which) - strlen(which), " issued by \"%s\"",
                     a->cert_issuer);
        if (gmtime_r(&end, &tm))
            strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        duration_format(left > 0 ? (uint64_t)(left / 3600000 * 3600000) : 0, dur, sizeof(dur));
        if (left > 0)
            snprintf(out, len, "%s: the TLS certificate%s expires in %s, at %s", t->name, which,
                     left < 3600000 ? "less than an hour" : dur, when);
        else
            snprintf(out, len, "%s: the TLS certificate%s has expired, at %s", t->name, which,
                     when);
        break;
    }
    case EVT_FLAPPING:
        snprintf(out, len, "%s is flapping: %u state changes in the last %u probes", t->name,
                 a->flap_changes, t->flap_window < 64 ? t->flap_window : 64);
        break;
    }
    /* A failure of something others sit behind: their alerts wait for
     * this one (depends_on), which says what it stands for. */
    if (t->ndependents &&
        (a->type == EVT_DOWN || a->type == EVT_CHANGED || a->type == EVT_REMINDER)) {
        size_t off = strlen(out);
        snprintf(out + off, len - off, "; %u target%s depend%s on it", t->ndependents,
                 t->ndependents == 1 ? "" : "s", t->ndependents == 1 ? "s" : "");
    }
}

void alert_message(const struct alert *a, const struct target_conf *t, char *out, size_t len)
{
    /* Room for every part whole: the answer, a Location, two certificate
     * names, the target's name and URL, and the words around them. */
    size_t room = RESULT_MESSAGE_MAX + STATE_LOCATION_MAX + 2 * RESULT_CERT_NAME_MAX +
                  strlen(t->name) + strlen(t->shown_url) + 256;
    char *full = xmalloc(room);

    compose(a, t, full, room);
    /* A line people read (MESSAGE=, chat): printable, and valid UTF-8
     * even where a site sent bytes that are not. */
    text_sanitize(out, len, full, strlen(full), TEXT_ESCAPE | TEXT_ELLIPSIS);
    free(full);
}
