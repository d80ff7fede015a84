/* Structured journal entries through sd_journal_sendv. */
#include "journal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <systemd/sd-journal.h>

#include "log.h"
#include "payload.h"

int journal_send(const struct alert *a, const struct target_conf *t, const char *host,
                 const char *instance_location)
{
    static bool failing;
    char *fields[PAYLOAD_JOURNAL_MAX];
    struct iovec iov[PAYLOAD_JOURNAL_MAX];
    size_t n = payload_journal(a, t, host, instance_location, fields);

    for (size_t i = 0; i < n; i++) {
        iov[i].iov_base = fields[i];
        iov[i].iov_len = strlen(fields[i]);
    }
    int rc = sd_journal_sendv(iov, (int)n);
    for (size_t i = 0; i < n; i++)
        free(fields[i]);
    if (rc < 0) {
        if (!failing)
            log_err("cannot write alerts to the journal: %s", strerror(-rc));
        failing = true;
        return -1;
    }
    if (failing)
        log_notice("writing alerts to the journal again");
    failing = false;
    return 0;
}
