/* The journald sink: one structured entry per alert (payload_journal). */
#ifndef UPMON_JOURNAL_H
#define UPMON_JOURNAL_H

#include "config.h"
#include "state.h"

/* Returns 0, or -1 when the journal refused the entry (logged once per
 * outage of the journal). */
int journal_send(const struct alert *a, const struct target_conf *t, const char *host,
                 const char *instance_location);

#endif
