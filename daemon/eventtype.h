/* The kinds of alert event, shared by configuration (webhook event filters),
 * the state machine and the sinks. Pure. */
#ifndef UPMON_EVENTTYPE_H
#define UPMON_EVENTTYPE_H

#include <stdint.h>

#include "names.h"

enum event_type {
    EVT_DOWN,          /* started failing */
    EVT_REDIRECT,      /* started redirecting, or the redirect target changed */
    EVT_CHANGED,       /* one failing state to another */
    EVT_RECOVERED,     /* back up after failing or redirecting */
    EVT_REMINDER,      /* still failing after remind_every */
    EVT_SLOW,          /* answers slower than max_latency */
    EVT_CERT_EXPIRING, /* TLS certificate ends within cert_expiry_warning */
    EVT_FLAPPING,      /* changing state too often; alerts held until it settles */
};
#define EVT_COUNT 8
#define EVT_ALL   ((1u << EVT_COUNT) - 1)

/* The names webhook event filters are written with; the table is there for
 * callers that list them. */
extern const struct names eventtype_names;
const char *eventtype_name(enum event_type e);
int eventtype_parse(const char *s, enum event_type *out);

#endif
