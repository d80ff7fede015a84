/* The one clock the shell reads. Scheduling and timeouts use the monotonic
 * clock; wall-clock time is only for timestamps shown to people. The pure
 * core never calls these: it takes "now" as an argument. */
#ifndef UPMON_CLOCK_H
#define UPMON_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t clock_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline int64_t clock_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
