/* Silences on the loop (silencing.h). Ends are on the wall clock, as
 * people give them: the timer is armed for the next end, or the next
 * deletion of an ended one, and looks at the clock again when it fires. */
#include "silencing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "report.h"
#include "text.h"
#include "util.h"

struct silencing {
    struct store *store;
    struct holding *holding;
    struct silence *list; /* by id, oldest first */
    size_t n, cap;
    uint64_t next_id;
    struct event *timer;
    int64_t said_ms; /* ends up to this time have been said */
};

/* "target shop" or "labels team=web, env=prod", for the journal. */
static void what_of(const struct silence *s, char *out, size_t len)
{
    char part[2 * SILENCE_VALUE_MAX];
    size_t off;

    if (s->target) {
        off = (size_t)snprintf(out, len, "target ");
        text_sanitize(out + off, len - off, s->target, strlen(s->target),
                      TEXT_ESCAPE | TEXT_ELLIPSIS);
        return;
    }
    off = (size_t)snprintf(out, len, "label%s ", s->nlabels == 1 ? "" : "s");
    for (size_t i = 0; i < s->nlabels && off < len; i++) {
        text_sanitize(part, sizeof(part), s->labels[i].value, strlen(s->labels[i].value),
                      TEXT_ESCAPE);
        off += (size_t)snprintf(out + off, len - off, "%s%s=%s", i ? ", " : "", s->labels[i].key,
                                part);
    }
}

static void say(const struct silence *s, const char *what, int64_t at)
{
    char which[512], when[40], comment[4 * SILENCE_COMMENT_MAX];

    what_of(s, which, sizeof(which));
    report_time(at, when, sizeof(when));
    text_sanitize(comment, sizeof(comment), s->comment, strlen(s->comment), TEXT_ESCAPE);
    log_notice("silence %llu (%s) %s %s: \"%s\"", (unsigned long long)s->id, which, what, when,
               comment);
}

static void save(struct silencing *sg, const struct silence *s)
{
    char *labels = s->nlabels ? silence_labels_text(s) : NULL;
    struct silence_row row = {s->id,       s->target, labels,    s->comment,
                              s->start_ms, s->end_ms, s->expired};

    store_silence_save(sg->store, &row);
    free(labels);
}

/* The next time something is due: an end not yet said, or the deletion
 * of one ended long enough ago. */
static void arm(struct silencing *sg)
{
    int64_t next = INT64_MAX;

    for (size_t i = 0; i < sg->n; i++) {
        const struct silence *s = &sg->list[i];
        if (s->end_ms > sg->said_ms && s->end_ms < next)
            next = s->end_ms;
        if (s->end_ms + SILENCE_KEEP_MS < next)
            next = s->end_ms + SILENCE_KEEP_MS;
    }
    event_del(sg->timer);
    if (next == INT64_MAX)
        return;
    int64_t wait = next - clock_wall_ms();
    wait = wait < 0 ? 0 : wait;
    struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)(wait % 1000 * 1000)};
    evtimer_add(sg->timer, &tv);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct silencing *sg = arg;
    int64_t now = clock_wall_ms();
    bool ended = false;
    size_t kept = 0;
    (void)fd;
    (void)what;

    for (size_t i = 0; i < sg->n; i++) {
        struct silence *s = &sg->list[i];
        if (s->end_ms > sg->said_ms && s->end_ms <= now && !s->expired) {
            say(s, "ended at", s->end_ms);
            ended = true;
        }
        if (s->end_ms + SILENCE_KEEP_MS <= now) {
            store_silence_delete(sg->store, s->id);
            silence_free(s);
            continue;
        }
        sg->list[kept++] = *s;
    }
    sg->n = kept;
    sg->said_ms = now;
    if (ended)
        holding_recheck(sg->holding);
    arm(sg);
}

/* The database was started anew: every silence is written again. */
static void reset_cb(void *arg)
{
    struct silencing *sg = arg;

    for (size_t i = 0; i < sg->n; i++)
        save(sg, &sg->list[i]);
}

static void load_cb(const struct silence_row *row, void *arg)
{
    struct silencing *sg = arg;
    struct silence s = {
        .id = row->id, .start_ms = row->start_ms, .end_ms = row->end_ms, .expired = row->expired};

    if (row->id >= sg->next_id)
        sg->next_id = row->id + 1;
    if (row->target)
        s.target = xstrdup(row->target);
    else if (row->labels == NULL || silence_labels_parse(row->labels, &s) < 0) {
        silence_free(&s); /* written by something else: it could hold anything */
        log_warn("silence %llu in the state database selects nothing readable; ignored",
                 (unsigned long long)row->id);
        return;
    }
    s.comment = xstrdup(row->comment);
    xgrow((void **)&sg->list, &sg->cap, sg->n, sizeof(*sg->list));
    sg->list[sg->n++] = s;
}

struct silencing *silencing_new(struct event_base *base, struct store *store,
                                struct holding *holding)
{
    struct silencing *sg = xcalloc(1, sizeof(*sg));
    size_t active = 0;

    sg->store = store;
    sg->holding = holding;
    sg->next_id = 1;
    sg->timer = evtimer_new(base, timer_cb, sg);
    if (sg->timer == NULL) {
        free(sg);
        return NULL;
    }
    store_silence_load(store, load_cb, sg);
    sg->said_ms = clock_wall_ms(); /* what ended while stopped is not news */
    for (size_t i = 0; i < sg->n; i++)
        active += silence_active(&sg->list[i], sg->said_ms);
    if (active)
        log_info("%zu silence%s in force", active, active == 1 ? "" : "s");
    store_on_reset(store, reset_cb, sg);
    arm(sg);
    return sg;
}

void silencing_free(struct silencing *sg)
{
    if (sg == NULL)
        return;
    store_on_reset(sg->store, NULL, sg);
    for (size_t i = 0; i < sg->n; i++)
        silence_free(&sg->list[i]);
    free(sg->list);
    event_free(sg->timer);
    free(sg);
}

const struct silence *silencing_list(const struct silencing *sg, size_t *n)
{
    *n = sg->n;
    return sg->list;
}

const struct silence *silencing_holding(const struct silencing *sg, const struct target_conf *t,
                                        int64_t wall)
{
    return silence_holding(sg->list, sg->n, t, wall);
}

int silencing_add(void *silencer, struct silence *s, char *err, size_t errlen)
{
    struct silencing *sg = silencer;

    if (sg->n >= SILENCE_COUNT_MAX) {
        errbuf_set(err, errlen,
                   "%d silences are kept already (ended ones for a day): expire some first",
                   SILENCE_COUNT_MAX);
        return 409;
    }
    s->id = sg->next_id++;
    xgrow((void **)&sg->list, &sg->cap, sg->n, sizeof(*sg->list));
    silence_copy(&sg->list[sg->n++], s);
    save(sg, s);
    say(s, "added, until", s->end_ms);
    arm(sg);
    return 0;
}

int silencing_expire(void *silencer, uint64_t id, char *err, size_t errlen)
{
    struct silencing *sg = silencer;
    int64_t now = clock_wall_ms();
    char when[40];

    for (size_t i = 0; i < sg->n; i++) {
        struct silence *s = &sg->list[i];
        if (s->id != id)
            continue;
        if (!silence_active(s, now)) {
            report_time(s->end_ms, when, sizeof(when));
            errbuf_set(err, errlen, "silence %llu ended already, at %s", (unsigned long long)id,
                       when);
            return 409;
        }
        s->end_ms = now;
        s->expired = true;
        save(sg, s);
        say(s, "expired by hand at", now);
        holding_recheck(sg->holding); /* what it held is let go now */
        arm(sg);
        return 0;
    }
    errbuf_set(err, errlen, "no such silence");
    return 404;
}
