/* stderr logging with journal priority prefixes or timestamps. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "text.h"

int log_max_level = LOG_INFO;
static bool journal;

/* $JOURNAL_STREAM is "DEV:INODE" of the stream systemd connected; it only
 * counts if stderr is still that stream (not redirected by a wrapper). */
static bool stderr_is_journal(void)
{
    const char *e = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;

    if (e == NULL || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
        return false;
    if (fstat(2, &st) < 0)
        return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(void)
{
    journal = stderr_is_journal();
}

void log_set_level(int level)
{
    log_max_level = level;
}

bool log_to_journal(void)
{
    return journal;
}

static void vlog(int prio, const char *fmt, va_list ap)
{
    static const char *const names[] = {"emerg",   "alert",  "crit", "error",
                                        "warning", "notice", "info", "debug"};
    char raw[2048], msg[2048];

    vsnprintf(raw, sizeof(raw), fmt, ap);
    /* A line may quote what a site or a receiver sent (a Location, curl's
     * messages): one line, printable, valid UTF-8, so it can neither
     * rewrite a terminal nor turn into a blob in the journal. */
    text_sanitize(msg, sizeof(msg), raw, strlen(raw), TEXT_ESCAPE | TEXT_ELLIPSIS);
    if (journal) {
        fprintf(stderr, "<%d>%s\n", prio, msg);
        return;
    }
    struct timespec ts;
    struct tm tm;
    char when[32];
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
    fprintf(stderr, "%s.%03ld %s: %s\n", when, ts.tv_nsec / 1000000, names[prio & 7], msg);
}

void log_msg(int prio, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(prio, fmt, ap);
    va_end(ap);
}
