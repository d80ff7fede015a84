/* Logging to stderr. Under systemd (stderr is the journal stream named by
 * $JOURNAL_STREAM) each line carries an sd-daemon "<N>" priority prefix and
 * no timestamp, since the journal adds its own; elsewhere each line starts
 * with the local time and the level. Levels are syslog's. */
#ifndef UPMON_LOG_H
#define UPMON_LOG_H

#include <stdbool.h>
#include <syslog.h>

#include "util.h"

extern int log_max_level;

void log_init(void);
void log_set_level(int level);
bool log_to_journal(void);

void log_msg(int prio, const char *fmt, ...) PRINTF_LIKE(2, 3);

/* The level test comes first, so a debug line on the probe path costs a
 * comparison and no formatting unless debug is on. */
#define log_at(prio, ...)                                                                          \
    do {                                                                                           \
        if ((prio) <= log_max_level)                                                               \
            log_msg((prio), __VA_ARGS__);                                                          \
    } while (0)
#define log_err(...)    log_at(LOG_ERR, __VA_ARGS__)
#define log_warn(...)   log_at(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_at(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)   log_at(LOG_INFO, __VA_ARGS__)
#define log_debug(...)  log_at(LOG_DEBUG, __VA_ARGS__)

#endif
