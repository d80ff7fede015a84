/* The rows of the state database: the target states, the outbox and the
 * silences, read at start and written through the pending writes
 * (store.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "store_impl.h"
#include "util.h"

static void bind_text(sqlite3_stmt *q, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, i);
}

static char *dup_or_null(const char *v)
{
    return v ? xstrdup(v) : NULL;
}

/* Applies one pending write; -1 when the database refused it. */
int store_apply(struct store *s, const struct pending *p, bool delivery)
{
    enum stmt q;

    switch (p->op) {
    case OP_NONE:
        return 0;
    case OP_DELETE:
        q = delivery ? Q_OUTBOX_DELETE : Q_STATE_DELETE;
        bind_text(s->q[q], 1, p->key);
        return store_exec(s, q);
    case OP_UPDATE:
        sqlite3_bind_int(s->q[Q_OUTBOX_UPDATE], 1, (int)p->row.attempts);
        sqlite3_bind_int64(s->q[Q_OUTBOX_UPDATE], 2, p->row.next_ms);
        bind_text(s->q[Q_OUTBOX_UPDATE], 3, p->row.last_error);
        bind_text(s->q[Q_OUTBOX_UPDATE], 4, p->key);
        return store_exec(s, Q_OUTBOX_UPDATE);
    case OP_PUT:
        break;
    }
    if (delivery) {
        sqlite3_stmt *a = s->q[Q_OUTBOX_ADD];
        bind_text(a, 1, p->key);
        bind_text(a, 2, p->row.webhook);
        bind_text(a, 3, p->row.event);
        bind_text(a, 4, p->row.target);
        bind_text(a, 5, p->row.body);
        sqlite3_bind_int64(a, 6, p->row.created_ms);
        sqlite3_bind_int64(a, 7, p->row.next_ms);
        sqlite3_bind_int(a, 8, (int)p->row.attempts);
        bind_text(a, 9, p->row.last_error);
        return store_exec(s, Q_OUTBOX_ADD);
    }
    sqlite3_stmt *v = s->q[Q_STATE_SAVE];
    bind_text(v, 1, p->key);
    bind_text(v, 2, state_name(p->state.state));
    bind_text(v, 3, codes_severity_name(p->state.severity));
    bind_text(v, 4, p->state.location ? p->state.location : "");
    sqlite3_bind_int64(v, 5, p->state.since_ms);
    sqlite3_bind_int64(v, 6, p->state.notified_ms);
    /* A certificate's warning held is not kept across a restart: saved as
     * not given, so the next probe after one raises it again. */
    sqlite3_bind_int64(v, 7, p->hold.known && p->hold.held_cert ? 0 : p->state.cert_warned);
    sqlite3_bind_int(v, 8, p->state.slow);
    sqlite3_bind_int(v, 9, p->state.flapping);
    if (p->hold.known) {
        const struct hold_saved *h = &p->hold;
        bind_text(v, 10, state_name(h->told_state));
        sqlite3_bind_int64(v, 11, (int64_t)h->told_location);
        sqlite3_bind_int(v, 12, h->told_flapping);
        sqlite3_bind_int(v, 13, h->told_slow);
        sqlite3_bind_int(v, 14, h->held_state);
        sqlite3_bind_int(v, 15, h->held_slow);
        sqlite3_bind_int(v, 16, (int)h->held_by);
        bind_text(v, 17, alert_previous_name(h->held_from));
        bind_text(v, 18, codes_severity_name(h->told_severity));
        sqlite3_bind_int64(v, 19, h->told_since_ms);
    }
    return store_exec(s, Q_STATE_SAVE);
}

int store_apply_silence(struct store *s, const struct pending *p)
{
    sqlite3_stmt *q = s->q[p->op == OP_DELETE ? Q_SILENCE_DELETE : Q_SILENCE_SAVE];

    if (p->op == OP_NONE)
        return 0;
    sqlite3_bind_int64(q, 1, (int64_t)strtoull(p->key, NULL, 10));
    if (p->op == OP_DELETE)
        return store_exec(s, Q_SILENCE_DELETE);
    bind_text(q, 2, p->srow.target);
    bind_text(q, 3, p->srow.labels);
    bind_text(q, 4, p->srow.comment);
    sqlite3_bind_int64(q, 5, p->srow.start_ms);
    sqlite3_bind_int64(q, 6, p->srow.end_ms);
    sqlite3_bind_int(q, 7, p->srow.expired);
    return store_exec(s, Q_SILENCE_SAVE);
}

static const char *column_text(sqlite3_stmt *q, int i)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    return t ? (const char *)t : "";
}

/* The same, with NULL for SQL's NULL. */
static const char *column_text_or_null(sqlite3_stmt *q, int i)
{
    return sqlite3_column_type(q, i) == SQLITE_NULL ? NULL : column_text(q, i);
}

int store_state_load(struct store *s, store_state_cb cb, void *arg)
{
    sqlite3_stmt *q = s->q[Q_STATE_LOAD];
    int rc;

    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct tstate_saved saved;
        memset(&saved, 0, sizeof(saved));
        if (state_parse(column_text(q, 1), &saved.state) < 0 ||
            codes_severity_parse(column_text(q, 2), &saved.severity) < 0)
            continue; /* written by something else; start that target afresh */
        saved.location = (char *)column_text(q, 3); /* copied by the callback */
        saved.since_ms = sqlite3_column_int64(q, 4);
        saved.notified_ms = sqlite3_column_int64(q, 5);
        saved.cert_warned = sqlite3_column_int64(q, 6);
        saved.slow = sqlite3_column_int(q, 7) != 0;
        saved.flapping = sqlite3_column_int(q, 8) != 0;
        struct hold_saved hold = {0};
        hold.known = sqlite3_column_type(q, 9) != SQLITE_NULL &&
                     state_parse(column_text(q, 9), &hold.told_state) == 0;
        hold.told_location = (uint64_t)sqlite3_column_int64(q, 10);
        hold.told_flapping = sqlite3_column_int(q, 11) != 0;
        hold.told_slow = sqlite3_column_int(q, 12) != 0;
        hold.held_state = sqlite3_column_int(q, 13) != 0;
        hold.held_slow = sqlite3_column_int(q, 14) != 0;
        hold.held_by = (unsigned)sqlite3_column_int(q, 15);
        hold.held_from = PREV_UNKNOWN;
        for (int p = 0; p < PREV_COUNT; p++)
            if (strcmp(column_text(q, 16), alert_previous_name((enum alert_previous)p)) == 0)
                hold.held_from = (enum alert_previous)p;
        /* Kept since schema 3; none in an older row (hold_restore then
         * takes the state's). */
        if (sqlite3_column_type(q, 18) != SQLITE_NULL &&
            codes_severity_parse(column_text(q, 17), &hold.told_severity) == 0)
            hold.told_since_ms = sqlite3_column_int64(q, 18);
        cb(column_text(q, 0), &saved, &hold, arg);
    }
    sqlite3_reset(q);
    if (rc != SQLITE_DONE) {
        store_report(s, "cannot read target states");
        return -1;
    }
    return 0;
}

void store_state_save(struct store *s, const char *name, const struct tstate_saved *v,
                      const struct hold_saved *hold)
{
    struct pending *p = store_entry(&s->states, name);

    store_pending_clear(p);
    p->state = *v;
    if (hold)
        p->hold = *hold;
    p->state.location = dup_or_null(v->location);
    p->op = OP_PUT;
    store_schedule(s, 0);
}

void store_state_delete(struct store *s, const char *name)
{
    struct pending *p = store_entry(&s->states, name);

    store_pending_clear(p);
    p->op = OP_DELETE;
    store_schedule(s, 0);
}

int store_outbox_load(struct store *s, store_delivery_cb cb, void *arg)
{
    sqlite3_stmt *q = s->q[Q_OUTBOX_LOAD];
    int rc;

    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct delivery_row row = {
            .id = column_text(q, 0),
            .webhook = column_text(q, 1),
            .event = column_text(q, 2),
            .target = column_text(q, 3),
            .body = column_text(q, 4),
            .created_ms = sqlite3_column_int64(q, 5),
            .next_ms = sqlite3_column_int64(q, 6),
            .attempts = (unsigned)sqlite3_column_int(q, 7),
            .last_error = column_text_or_null(q, 8),
        };
        cb(&row, arg);
    }
    sqlite3_reset(q);
    if (rc != SQLITE_DONE) {
        store_report(s, "cannot read the outbox");
        return -1;
    }
    return 0;
}

void store_outbox_add(struct store *s, const struct delivery_row *row)
{
    struct pending *p = store_entry(&s->deliveries, row->id);

    store_pending_clear(p);
    p->op = OP_PUT;
    p->row = *row;
    p->row.id = NULL;
    p->row.webhook = dup_or_null(row->webhook);
    p->row.event = dup_or_null(row->event);
    p->row.target = dup_or_null(row->target);
    p->row.body = dup_or_null(row->body);
    p->row.last_error = dup_or_null(row->last_error);
    store_schedule(s, 0);
}

void store_outbox_update(struct store *s, const char *id, unsigned attempts, int64_t next_ms,
                         const char *last_error)
{
    struct pending *p = store_entry(&s->deliveries, id);

    if (p->op == OP_DELETE)
        return;
    if (p->op == OP_NONE)
        p->op = OP_UPDATE; /* the row is in the database: these columns only */
    p->row.attempts = attempts;
    p->row.next_ms = next_ms;
    free((char *)p->row.last_error);
    p->row.last_error = dup_or_null(last_error);
    store_schedule(s, 0);
}

void store_outbox_delete(struct store *s, const char *id)
{
    struct pending *p = store_entry(&s->deliveries, id);

    store_pending_clear(p);
    p->op = OP_DELETE;
    store_schedule(s, 0);
}

int store_silence_load(struct store *s, store_silence_cb cb, void *arg)
{
    sqlite3_stmt *q = s->q[Q_SILENCE_LOAD];
    int rc;

    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct silence_row row = {
            .id = (uint64_t)sqlite3_column_int64(q, 0),
            .target = column_text_or_null(q, 1),
            .labels = column_text_or_null(q, 2),
            .comment = column_text(q, 3),
            .start_ms = sqlite3_column_int64(q, 4),
            .end_ms = sqlite3_column_int64(q, 5),
            .expired = sqlite3_column_int(q, 6) != 0,
        };
        cb(&row, arg);
    }
    sqlite3_reset(q);
    if (rc != SQLITE_DONE) {
        store_report(s, "cannot read the silences");
        return -1;
    }
    return 0;
}

static char *silence_key(uint64_t id, char *out, size_t len)
{
    snprintf(out, len, "%llu", (unsigned long long)id);
    return out;
}

void store_silence_save(struct store *s, const struct silence_row *row)
{
    char key[24];
    struct pending *p = store_entry(&s->silences, silence_key(row->id, key, sizeof(key)));

    store_pending_clear(p);
    p->op = OP_PUT;
    p->srow = *row;
    p->srow.target = dup_or_null(row->target);
    p->srow.labels = dup_or_null(row->labels);
    p->srow.comment = dup_or_null(row->comment);
    store_schedule(s, 0);
}

void store_silence_delete(struct store *s, uint64_t id)
{
    char key[24];
    struct pending *p = store_entry(&s->silences, silence_key(id, key, sizeof(key)));

    store_pending_clear(p);
    p->op = OP_DELETE;
    store_schedule(s, 0);
}
