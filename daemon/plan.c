/* Plan arithmetic and the account of probes in flight. */
#include "plan.h"

int64_t plan_first_due(int64_t now, uint64_t interval_us, uint64_t hash)
{
    const uint64_t max_spread = 60ull * 1000000;
    uint64_t spread = interval_us < max_spread ? interval_us : max_spread;

    if (spread == 0)
        return now;
    return now + (int64_t)(hash % spread);
}

int64_t plan_next_due(int64_t planned, uint64_t interval_us, int64_t now, uint64_t *missed)
{
    int64_t iv = (int64_t)interval_us;
    int64_t next = planned + iv;

    *missed = 0;
    if (iv <= 0)
        return now;
    if (next <= now) {
        /* Keep the phase: jump to the first slot of the plan not yet past.
         * The run that starts now stands for one of those passed. */
        int64_t behind = (now - next) / iv + 1;
        *missed = (uint64_t)behind;
        next += behind * iv;
    }
    return next;
}

int64_t plan_retry_due(int64_t now, uint64_t retry_us, int64_t next_planned)
{
    int64_t at = now + (int64_t)retry_us;

    if (retry_us == 0 || at > next_planned - (int64_t)(retry_us / 2))
        return 0;
    return at;
}

int64_t plan_sweep_due(int64_t now, uint64_t interval_us, uint64_t hash, size_t count)
{
    uint64_t spread = (uint64_t)count * 1000;

    if (spread > interval_us)
        spread = interval_us;
    if (spread == 0)
        return now;
    /* Mixed again, so the sweep order is not the phase order. */
    return now + (int64_t)((hash * 0x9e3779b97f4a7c15ULL >> 17) % spread);
}

int64_t plan_after_sweep(int64_t phase, int64_t swept, uint64_t interval_us, int64_t now,
                         uint64_t *missed)
{
    int64_t iv = (int64_t)interval_us;
    int64_t earliest = swept + iv / 2;
    int64_t next = phase;

    *missed = 0;
    /* The first point of the plan at least half an interval after the
     * sweep's run: never two runs almost at once. */
    if (iv > 0 && next < earliest)
        next += ((earliest - next + iv - 1) / iv) * iv;
    if (next < now)
        return plan_next_due(next - iv, interval_us, now, missed);
    return next;
}

void plan_flight_start(struct plan_flight *f, int64_t now)
{
    if (f->n++ == 0)
        f->mark = now;
}

void plan_flight_end(struct plan_flight *f, int64_t now)
{
    f->n--;
    f->mark = now;
}

void plan_flight_cancel(struct plan_flight *f, int64_t now)
{
    /* Those left in flight may have started long after the one stopped:
     * they are not held to its start. */
    if (--f->n > 0)
        f->mark = now;
}

bool plan_flight_progressing(const struct plan_flight *f, int64_t now, int64_t limit)
{
    return f->n == 0 || now - f->mark <= limit;
}
