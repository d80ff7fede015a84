/* sd_notify messages. */
#include "notify.h"

#include <stdio.h>

#include <systemd/sd-daemon.h>

#include "log.h"

static void notify_send(const char *msg)
{
    int rc = sd_notify(0, msg);
    if (rc < 0)
        log_debug("sd_notify(%s) failed: %d", msg, rc);
}

void notify_ready(void)
{
    notify_send("READY=1");
}

void notify_reloading(int64_t monotonic_us)
{
    char msg[64];

    /* MONOTONIC_USEC lets systemd tell this reload from a later one
     * (Type=notify-reload in systemd 253 and later requires it). */
    snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%lld", (long long)monotonic_us);
    notify_send(msg);
}

void notify_stopping(void)
{
    notify_send("STOPPING=1");
}

void notify_status(const char *status)
{
    char msg[512];

    snprintf(msg, sizeof(msg), "STATUS=%s", status);
    notify_send(msg);
}

void notify_watchdog(void)
{
    notify_send("WATCHDOG=1");
}

uint64_t notify_watchdog_usec(void)
{
    uint64_t usec = 0;

    if (sd_watchdog_enabled(0, &usec) <= 0)
        return 0;
    return usec;
}
