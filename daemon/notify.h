/* sd_notify: readiness, status, reload and watchdog messages to systemd.
 * Without $NOTIFY_SOCKET every call is a no-op. */
#ifndef UPMON_NOTIFY_H
#define UPMON_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

void notify_ready(void);
void notify_reloading(int64_t monotonic_us);
void notify_stopping(void);
void notify_status(const char *status);
void notify_watchdog(void);

/* The watchdog interval systemd expects (WATCHDOG_USEC for this process),
 * or 0 when there is no watchdog. */
uint64_t notify_watchdog_usec(void);

#endif
