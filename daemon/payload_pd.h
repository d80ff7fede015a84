/* The PagerDuty Events API v2 body of an alert: a trigger for down,
 * changed, reminder, redirect, slow, cert_expiring and flapping, a resolve
 * for recovered, with one dedup_key per incident. Pure, as payload.h. */
#ifndef UPMON_PAYLOAD_PD_H
#define UPMON_PAYLOAD_PD_H

#include <stddef.h>

#include "config.h"
#include "state.h"

/* "upmon-" and 32 hex digits: the same for every event of one incident
 * (its trigger, changes, reminders and resolve), another for the next
 * one. An incident is a kind of trouble of a target (an outage, a
 * redirect, slowness, a certificate near its end, flapping) and when it
 * began: the alert's since_ms (a recovery carries the since_ms of the
 * state it ends), a certificate's end, or for flapping nothing (the
 * events of flapping do not agree on a since). */
#define PD_DEDUP_KEY_LEN 39
void pagerduty_dedup_key(const struct alert *a, const struct target_conf *t,
                         char out[PD_DEDUP_KEY_LEN]);

/* PagerDuty's severity of an alert's: critical and warning as they are,
 * ok (a recovery) as info. PagerDuty's error is not used: upmon has no
 * level between warning and critical. */
const char *pagerduty_severity(enum severity s);

/* The resolve that goes before an alert's own event when the alert ends
 * one kind of trouble by starting another: an outage that becomes a
 * redirect (or the other way round), a redirect to a new Location, flapping
 * that begins in an outage or a redirect, or settles into one. NULL when
 * there is none. Only down and redirect alerts out of another state carry
 * the since_ms of that state (state.h): they and flapping are the
 * incidents resolved this way. */
char *pagerduty_superseded(const struct alert *a, const struct target_conf *t, const char *host);

/* The event without its routing key (a malloc'd JSON string): what the
 * outbox keeps. instance_location (or NULL) goes into its details. */
char *payload_pagerduty(const struct alert *a, const struct target_conf *t, const char *host,
                        const char *instance_location);

/* The body as sent: the stored event with routing_key set, so the key is
 * never written to the outbox and a reloaded key applies to pending
 * deliveries too. NULL when body is not a JSON object. */
char *pagerduty_keyed(const char *body, const char *routing_key);

#endif
