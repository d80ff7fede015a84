/* What alerts look like on the wire: the webhook bodies (standard, slack;
 * alertmanager in payload_am.h, pagerduty in payload_pd.h, e-mail in
 * payload_mail.h), the Standard Webhooks signature, and the journald
 * fields. Pure: everything is built from an alert, the target's
 * configuration and the host name; JSON by jansson, HMAC and base64 by
 * libcrypto. */
#ifndef UPMON_PAYLOAD_H
#define UPMON_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "state.h"

/* host is this machine's name; instance_location the instance's
 * (instance.location, NULL when unset), not a->location, which is where
 * a redirect leads. */

/* The event as a JSON object: the "data" of a standard webhook. */
json_t *payload_event(const struct alert *a, const struct target_conf *t, const char *host,
                      const char *instance_location);

/* The body for webhook w, in its format (its name is alertmanager's
 * receiver; username and icons go into a slack body). Returns a malloc'd
 * string. The alertmanager formats may make more than one body of an
 * alert, or none, and the push keeps what was sent: webhooks build those
 * with payload_am.h; this is the first body, made with no record. */
char *payload_body(const struct webhook_conf *w, const struct alert *a, const struct target_conf *t,
                   const char *host, const char *instance_location);

/* "upmon.target.down" and so on. */
void payload_type(enum event_type e, char *out, size_t len);

/* "v1,<base64 HMAC-SHA256 of id.timestamp.body>" with a "whsec_" secret.
 * Returns -1 when the secret is not valid. */
int payload_sign(const char *secret, const char *id, int64_t timestamp, const char *body,
                 size_t body_len, char *out, size_t outlen);

/* journald: fills fields with malloc'd "KEY=value" strings (at most
 * PAYLOAD_JOURNAL_MAX) and returns how many. */
#define PAYLOAD_JOURNAL_MAX 64
size_t payload_journal(const struct alert *a, const struct target_conf *t, const char *host,
                       const char *instance_location, char **fields);
/* The fixed MESSAGE_ID of an event type (32 hex digits). */
const char *payload_message_id(enum event_type e);
/* journald PRIORITY: critical 2, warning 4, ok (recovered) 5. */
int payload_priority(enum severity s);

#endif
