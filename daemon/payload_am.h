/* Alertmanager's two directions, as bodies. Pure.
 *
 * format alertmanager: alerts pushed INTO Alertmanager, as Prometheus
 * does: a JSON array of PostableAlert POSTed to its /api/v2/alerts. An
 * alert there is known by its labels; it fires until its endsAt, so a
 * firing one is sent again (resend_every) with endsAt well ahead, and one
 * that ends is sent once more with endsAt = now. What has been sent as
 * firing, per webhook and target, is kept (struct am_sent), so that what
 * ends is resolved under exactly the labels it fired with (a severity
 * that changed during an outage included).
 *
 * format alertmanager-webhook: the notification Alertmanager itself sends
 * to its webhook receivers (version 4), for receivers written for those:
 * one alert name per notification. */
#ifndef UPMON_PAYLOAD_AM_H
#define UPMON_PAYLOAD_AM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "state.h"

/* The alerts a target has in Alertmanager, one per kind. */
enum am_kind {
    AM_DOWN,        /* UpmonTargetDown: every failing state */
    AM_REDIRECTING, /* UpmonTargetRedirecting */
    AM_SLOW,        /* UpmonTargetSlow */
    AM_FLAPPING,    /* UpmonTargetFlapping */
    AM_CERT,        /* UpmonCertificateExpiring */
};
#define AM_KINDS 5

const char *am_alertname(enum am_kind k);

/* What one webhook has been sent of one target: per kind, firing or not,
 * with the severity label and startsAt it fired with. */
struct am_sent {
    bool known;                  /* from an event, or seeded from the stored state */
    uint8_t sev[AM_KINDS];       /* severity + 1; 0: not firing */
    int64_t starts_ms[AM_KINDS]; /* wall clock */
};

/* What receivers were last told of a target (hold.h), and the stored state
 * beside it: what Alertmanager should have firing. */
struct am_told {
    enum target_state state;
    enum severity severity; /* of the state */
    int64_t since_ms;       /* when the state began */
    bool slow, flapping, cert;
};

/* The kinds firing as told (bits 1 << kind). */
unsigned am_told_firing(const struct am_told *t);
/* The kinds firing as sent. */
unsigned am_sent_firing(const struct am_sent *s);

/* Where upmond is: its host name (the monitor label), the status page
 * (generatorURL; NULL or "": none) and the instance's location (the
 * location label; NULL: none). */
struct am_site {
    const char *host;
    const char *external_url;
    const char *location;
};

/* The PostableAlerts one event makes: the kind it fires (endsAt ttl_ms
 * after the event) and the kinds it ends, resolved (endsAt the event's
 * time) with their labels as sent. s is updated. NULL when the event
 * changes nothing Alertmanager knows (a recovery of what was never sent).
 * Returns a malloc'd string. */
char *am_event_body(struct am_sent *s, const struct alert *a, const struct target_conf *t,
                    const struct am_site *site, int64_t ttl_ms);

/* A target first seen by a webhook since the start: what was firing is
 * taken from the stored state, told (startsAt of a kind the state does not
 * date: now). */
void am_seed(struct am_sent *s, const struct am_told *told, int64_t now_ms);

/* For a webhook with no record of the target (a fresh start, before the
 * stored state is read into it): what the event says was firing before
 * it, at the severity it says (a recovery's is exact). */
void am_assume_previous(struct am_sent *s, const struct alert *a);

/* Forgets what a webhook's filters would not have let through (seeded
 * from the stored state, which knows no filters): a kind whose event is
 * not among events (bits 1 << enum event_type), or whose severity is below
 * min. */
void am_filter(struct am_sent *s, uint32_t events, enum severity min);

/* The re-send of what s has firing, as of now: each kind told still fires
 * with endsAt ttl_ms ahead; one told no longer (a certificate renewed, a
 * recovery this webhook filtered out) is resolved. base is the target as
 * it is (the last probe, for the annotations; type is ignored). NULL when
 * nothing fires. s is updated. */
char *am_resend_body(struct am_sent *s, const struct am_told *told, const struct alert *base,
                     const struct target_conf *t, const struct am_site *site, int64_t now_ms,
                     int64_t ttl_ms);

/* The body as it goes out at now_ms: every alert of a body made at
 * created_ms that was firing (its endsAt after created_ms) ends ttl_ms
 * after now, so that an attempt late by retries does not end it. NULL
 * when body is not such an array (it goes as it is). */
char *am_refresh(const char *body, int64_t created_ms, int64_t now_ms, int64_t ttl_ms);

/* The targets of the alerts of a body (their target labels), each once,
 * into *out (malloc'd, as each name); returns how many. */
size_t am_body_targets(const char *body, char ***out);

/* The URL alerts are POSTed to: url itself, or with /api/v2/alerts when
 * its path is empty or "/" (the base URL, as Prometheus takes it). */
char *am_endpoint(const char *url);

/* format alertmanager-webhook: the notifications of one event, each of
 * one alert name, into out (at most AM_NOTIFICATIONS_MAX, malloc'd);
 * returns how many. An event that supersedes another kind of alert (a
 * redirect turning into an outage) resolves that one in a notification of
 * its own, after its own. */
#define AM_NOTIFICATIONS_MAX 2
size_t am_notifications(const struct alert *a, const struct target_conf *t, const char *host,
                        const char *location, const char *receiver, char **out);

#endif
