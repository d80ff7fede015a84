/* Holding alerts on the loop (see holding.h). Windows are on the wall
 * clock, as people write them; the one timer is armed for the earliest
 * end of a window that holds an alert, and whatever a clock step makes
 * it miss is let go with the target's next probe. */
#include "holding.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "report.h"
#include "silence.h"
#include "util.h"

struct holding {
    struct holding_ops ops;
    struct monitor *m;
    struct strmap by_name; /* target name -> struct target_rt */
    struct event *timer;
    int64_t timer_at; /* the wall-clock time it is armed for; 0: not armed */
    bool was_failing; /* between holding_before and _after: of the target, as a parent */
};

static struct instant now(void)
{
    return (struct instant){clock_mono_us() / 1000, clock_wall_ms()};
}

/* A parent fails from its first bad probe: its confirmed state, or the
 * failing one its probes are about to confirm. */
static bool failing_parent(const struct tstate *ts)
{
    return state_is_failing(ts->s.state) || (ts->streak > 0 && state_is_failing(ts->candidate));
}

/* What holds a target now, and for the journal: the window that holds it
 * longest and when the windows end, or the parent that fails. */
struct why {
    int64_t until;
    const struct window *window;
    const struct silence *silence;
    const char *parent;
};

static struct hold_cond cond_of(struct holding *h, struct target_rt *rt, int64_t wall,
                                struct why *why)
{
    const struct target_conf *t = rt->conf;
    struct hold_cond c = {false, false, false};

    memset(why, 0, sizeof(*why));
    c.window = windows_active(t->windows, t->nwindows, wall, &why->until, &why->window);
    why->silence = h->ops.silence ? h->ops.silence(rt, wall, h->ops.arg) : NULL;
    c.silence = why->silence != NULL;
    for (size_t i = 0; i < t->ndepends_on && !c.parent; i++) {
        struct target_rt *p = strmap_get(&h->by_name, t->depends_on[i]);
        struct hold *hold;
        const struct tstate *ts;
        if (p == NULL)
            continue; /* disabled, or of another shard */
        h->ops.target(p, h->ops.arg, &hold, &ts);
        if (failing_parent(ts)) {
            c.parent = true;
            why->parent = t->depends_on[i];
        }
    }
    return c;
}

static void arm(struct holding *h, int64_t at)
{
    int64_t wait = at - clock_wall_ms();

    if (h->timer_at && h->timer_at <= at)
        return;
    h->timer_at = at;
    wait = wait < 0 ? 0 : wait;
    struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)(wait % 1000 * 1000)};
    evtimer_add(h->timer, &tv);
}

static void raise_all(struct holding *h, struct target_rt *rt, const struct alert *a, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        h->ops.raise(rt, &a[i], h->ops.arg);
}

/* What let go of a target's alerts (HOLD_BY_* bits), for the journal. */
static void over_text(unsigned by, char *out, size_t len)
{
    static const struct {
        unsigned bit;
        const char *text;
    } parts[] = {
        {HOLD_BY_WINDOW, "maintenance is over"},
        {HOLD_BY_SILENCE, "the silence is over"},
        {HOLD_BY_PARENT, "the targets it depends on are back"},
    };
    size_t n = 0, said = 0;

    for (size_t i = 0; i < ARRAY_SIZE(parts); i++)
        n += (by & parts[i].bit) != 0;
    for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
        if (!(by & parts[i].bit))
            continue;
        said++;
        snprintf(out + strlen(out), len - strlen(out), "%s%s",
                 said == 1   ? ""
                 : said == n ? " and "
                             : ", ",
                 parts[i].text);
    }
}

/* Lets go of what no longer holds one target, saying so when its last
 * held alert goes. */
static void release(struct holding *h, struct target_rt *rt, struct instant at)
{
    struct hold *hold;
    const struct tstate *ts;
    struct why why;
    struct alert out[HOLD_TRACKS];

    h->ops.target(rt, h->ops.arg, &hold, &ts);
    if (!hold_pending(hold))
        return;
    unsigned by = hold->held_by;
    struct hold_cond c = cond_of(h, rt, at.wall_ms, &why);
    unsigned n = hold_release(hold, &ts->s, c, at, out);
    if (!hold_pending(hold)) {
        char over[128] = "";
        over_text(by, over, sizeof(over));
        char raised[64] = "";
        for (unsigned i = 0; i < n; i++)
            snprintf(raised + strlen(raised), sizeof(raised) - strlen(raised), "%s%s",
                     i ? ", " : "", eventtype_name(out[i].type));
        if (n)
            log_notice("%s: %s; raised now: %s", rt->conf->name, over, raised);
        else
            log_notice("%s: %s; nothing to raise: it is %s, as receivers last heard",
                       rt->conf->name, over, state_name(ts->s.state));
    } else if (c.window) {
        arm(h, why.until);
    }
    raise_all(h, rt, out, n);
    if (h->ops.changed)
        h->ops.changed(rt, h->ops.arg);
}

/* Every target with held alerts, looked at again. */
static void release_all(struct holding *h)
{
    struct target_rt **targets;
    struct instant at = now();

    if (h->m == NULL)
        return;
    size_t n = monitor_targets(h->m, &targets);
    for (size_t i = 0; i < n; i++)
        release(h, targets[i], at);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct holding *h = arg;
    (void)fd;
    (void)what;

    h->timer_at = 0;
    release_all(h); /* re-arms for windows that still hold */
}

struct holding *holding_new(struct event_base *base, const struct holding_ops *ops)
{
    struct holding *h = xcalloc(1, sizeof(*h));

    h->ops = *ops;
    h->timer = evtimer_new(base, timer_cb, h);
    if (h->timer == NULL) {
        free(h);
        return NULL;
    }
    return h;
}

void holding_free(struct holding *h)
{
    if (h == NULL)
        return;
    event_free(h->timer);
    strmap_free(&h->by_name);
    free(h);
}

void holding_detach(struct holding *h)
{
    strmap_free(&h->by_name);
    memset(&h->by_name, 0, sizeof(h->by_name));
}

void holding_configure(struct holding *h, struct monitor *m)
{
    struct target_rt **targets;
    size_t n = monitor_targets(m, &targets);

    h->m = m;
    holding_detach(h);
    for (size_t i = 0; i < n; i++)
        strmap_put(&h->by_name, targets[i]->conf->name, targets[i]);
    release_all(h); /* a window or a parent removed holds nothing */
}

void holding_recheck(struct holding *h)
{
    release_all(h);
}

void holding_before(struct holding *h, struct target_rt *rt)
{
    struct hold *hold;
    const struct tstate *ts;

    h->ops.target(rt, h->ops.arg, &hold, &ts);
    h->was_failing = rt->conf->ndependents && failing_parent(ts);
    release(h, rt, now());
}

void holding_after(struct holding *h, struct target_rt *rt, struct alert *alerts, unsigned n)
{
    struct hold *hold;
    const struct tstate *ts;
    struct instant at = now();
    struct why why;
    char until[40];

    h->ops.target(rt, h->ops.arg, &hold, &ts);
    /* Most probes raise nothing: what holds the target is looked up for
     * those that do. */
    struct hold_cond c =
        n ? cond_of(h, rt, at.wall_ms, &why) : (struct hold_cond){false, false, false};
    for (unsigned i = 0; i < n; i++) {
        bool was = hold_pending(hold);
        if (!hold_alert(hold, &alerts[i], c, at.mono_ms)) {
            h->ops.raise(rt, &alerts[i], h->ops.arg);
            continue;
        }
        if (was || !hold_pending(hold))
            continue;
        if (c.window) {
            report_time(why.until, until, sizeof(until));
            log_notice("%s: %s alert held: maintenance window%s%s%s until %s", rt->conf->name,
                       eventtype_name(alerts[i].type), why.window->name ? " \"" : "",
                       why.window->name ? why.window->name : "", why.window->name ? "\"" : "",
                       until);
        } else if (c.silence) {
            report_time(why.silence->end_ms, until, sizeof(until));
            log_notice("%s: %s alert held: silence %llu until %s", rt->conf->name,
                       eventtype_name(alerts[i].type), (unsigned long long)why.silence->id, until);
        } else {
            log_notice("%s: %s alert held: %s, which it depends on, is failing", rt->conf->name,
                       eventtype_name(alerts[i].type), why.parent);
        }
    }
    if (hold_pending(hold) && c.window)
        arm(h, why.until);
    if (n && h->ops.changed)
        h->ops.changed(rt, h->ops.arg);
    /* Those behind it, once it is back. */
    if (h->was_failing && !failing_parent(ts))
        release_all(h);
}
