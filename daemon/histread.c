/* The history database's reads, on the loop with a connection of their
 * own (histdb.h): what memory holds of a target at start, a target's
 * series and the incidents for the API.
 *
 * Every read sees one snapshot of the file plus what the loop handed over
 * that the snapshot lacks: the writer numbers its batches and stores the
 * number with each; the snapshot is taken with the queue locked, and the
 * items of later batches (or of none yet) are merged in. A batch leaves
 * the queue only once committed, so nothing is missed or counted twice. */
#include "histdb_impl.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "state.h"

#define INCIDENTS_MAX 10000 /* rows one call returns at most */

static char *bucket_select(const char *what, const char *table, const char *where)
{
    struct buf b = {0};

    buf_append(&b, what, strlen(what));
    for (size_t i = 0; i < HISTDB_NCOLS; i++) {
        buf_append(&b, ", ", 2);
        buf_append(&b, histdb_bucket_cols[i], strlen(histdb_bucket_cols[i]));
    }
    char *s = xasprintf(" FROM %s WHERE %s", table, where);
    buf_append(&b, s, strlen(s));
    free(s);
    return b.data;
}

#define INCIDENT_COLS "i.id, i.target, i.start_ms, i.end_ms, i.worst, i.codes, i.errors"
/* What a restore of many targets reads of each row: no latency. */
#define SPAN_COLS "SELECT target, start_ms, probes, failures, worst FROM "

int histdb_prepare_reads(struct histdb *db, char *err, size_t errlen)
{
    static const char point[] = "start_ms = ?1 AND target = ?2";
    char *sql[R_COUNT] = {
        [R_BEGIN] = xstrdup("BEGIN"),
        [R_END] = xstrdup("COMMIT"),
        [R_META] = xstrdup("SELECT (SELECT value FROM meta WHERE key = 'batch'),"
                           " (SELECT value FROM meta WHERE key = 'hours_through'),"
                           " (SELECT value FROM meta WHERE key = 'days_through')"),
        [R_TARGET_ID] = xstrdup("SELECT id FROM targets WHERE name = ?1"),
        [R_TARGETS] = xstrdup("SELECT id, name FROM targets"),
        [R_MINUTE] = bucket_select("SELECT 0", "minutes", point),
        [R_HOUR] = bucket_select("SELECT 0", "hours", point),
        [R_DAY] = bucket_select("SELECT 0", "days", point),
        [R_MINUTES_FROM] = xstrdup(SPAN_COLS "minutes WHERE start_ms >= ?1 AND start_ms < ?2"),
        [R_HOURS_FROM] = xstrdup(SPAN_COLS "hours WHERE start_ms >= ?1 AND start_ms < ?2"),
        [R_DAYS_FROM] = xstrdup(SPAN_COLS "days WHERE start_ms >= ?1 AND start_ms < ?2"),
        [R_INCIDENTS] = xstrdup("SELECT " INCIDENT_COLS " FROM incidents i ORDER BY i.start_ms"),
        [R_INCIDENTS_OF] = xstrdup("SELECT " INCIDENT_COLS " FROM incidents i WHERE i.target = ?1"
                                   " AND i.start_ms < ?2 ORDER BY i.start_ms DESC, i.id DESC"
                                   " LIMIT ?3"),
        [R_INCIDENTS_ALL] = xstrdup("SELECT " INCIDENT_COLS ", t.name FROM incidents i JOIN "
                                    "targets t ON t.id = i.target WHERE i.start_ms < ?2 ORDER BY "
                                    "i.start_ms DESC, i.id DESC LIMIT ?3"),
    };
    int rc = 0;

    for (int i = 0; i < R_COUNT; i++) {
        if (rc == 0 && sqlite3_prepare_v3(db->rdb, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &db->r[i],
                                          NULL) != SQLITE_OK) {
            errbuf_set(err, errlen, "cannot prepare a statement on %s: %s", db->path,
                       sqlite3_errmsg(db->rdb));
            rc = -1;
        }
        free(sql[i]);
    }
    return rc;
}

void histdb_finalize_reads(struct histdb *db)
{
    for (int i = 0; i < R_COUNT; i++) {
        sqlite3_finalize(db->r[i]);
        db->r[i] = NULL;
    }
}

/* One snapshot, and copies of the queued items it lacks. */
struct snap {
    int64_t ht, dt; /* hours_through, days_through */
    struct qitem **items;
    size_t n, cap;
};

static void done(sqlite3_stmt *q)
{
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
}

/* Of one target (NULL: all), buckets and/or incidents. */
static int snap_begin(struct histdb *db, const char *target, bool buckets, bool incidents,
                      struct snap *s)
{
    sqlite3_stmt *m = db->r[R_META];
    int rc = -1;

    memset(s, 0, sizeof(*s));
    pthread_mutex_lock(&db->mu);
    if (sqlite3_step(db->r[R_BEGIN]) == SQLITE_DONE && sqlite3_step(m) == SQLITE_ROW) {
        uint64_t seq = (uint64_t)sqlite3_column_int64(m, 0);
        s->ht = sqlite3_column_int64(m, 1);
        s->dt = sqlite3_column_int64(m, 2);
        for (size_t i = 0; i < db->nq; i++) {
            struct qitem *it = db->q[i];
            if ((it->batch && it->batch <= seq) || (it->is_incident ? !incidents : !buckets) ||
                (target && strcmp(it->target, target) != 0))
                continue;
            size_t len = sizeof(*it) + strlen(it->target) + 1;
            xgrow((void **)&s->items, &s->cap, s->n, sizeof(*s->items));
            s->items[s->n] = xmalloc(len);
            memcpy(s->items[s->n++], it, len);
        }
        rc = 0;
    }
    pthread_mutex_unlock(&db->mu);
    done(db->r[R_BEGIN]);
    done(m);
    if (rc < 0) {
        log_warn("history database %s: cannot read: %s", db->path, sqlite3_errmsg(db->rdb));
        sqlite3_step(db->r[R_END]);
        done(db->r[R_END]);
    }
    return rc;
}

static void snap_end(struct histdb *db, struct snap *s)
{
    sqlite3_step(db->r[R_END]);
    done(db->r[R_END]);
    for (size_t i = 0; i < s->n; i++)
        free(s->items[i]);
    free(s->items);
}

static int64_t target_id(struct histdb *db, const char *name)
{
    sqlite3_stmt *q = db->r[R_TARGET_ID];
    int64_t id = 0;

    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW)
        id = sqlite3_column_int64(q, 0);
    done(q);
    return id;
}

static void point(struct histdb *db, enum rstmt r, int64_t start, int64_t tid, struct hbucket *sum)
{
    sqlite3_stmt *q = db->r[r];
    struct hbucket b;

    sqlite3_bind_int64(q, 1, start);
    sqlite3_bind_int64(q, 2, tid);
    if (sqlite3_step(q) == SQLITE_ROW && histdb_row_bucket(q, 1, &b))
        histdb_bucket_add(sum, &b);
    done(q);
}

/* Sums a target's rows of [a, b) (whole minutes): whole days from the
 * days as far as they are folded, whole hours from the hours, minutes
 * for the rest. Returns the rows looked up (tid 0: only counts them),
 * stopping once past limit: a span of years in minutes is refused
 * before it is walked. */
static size_t span_sum(struct histdb *db, const struct snap *s, int64_t tid, int64_t a, int64_t b,
                       struct hbucket *sum, size_t limit)
{
    size_t n = 0;

    while (a < b && n <= limit) {
        enum rstmt r = R_MINUTE;
        int64_t w = MINUTE_MS;
        if (a % DAY_MS == 0 && a + DAY_MS <= b && a + DAY_MS <= s->dt)
            r = R_DAY, w = DAY_MS;
        else if (a % HOUR_MS == 0 && a + HOUR_MS <= b && a + HOUR_MS <= s->ht)
            r = R_HOUR, w = HOUR_MS;
        if (tid)
            point(db, r, a, tid, sum);
        a += w;
        n++;
    }
    return n;
}

static struct hspan span_of(const struct hbucket *b)
{
    return (struct hspan){b->probes, b->failures, b->worst};
}

static int64_t floor_to(int64_t t, int64_t unit)
{
    return (t / unit - (t % unit < 0)) * unit;
}

static void add_queued(const struct qitem *it, struct htarget *h)
{
    if (it->is_incident) {
        htarget_add_incident(h, &it->u.inc);
    } else {
        struct hspan sp = span_of(&it->u.b);
        htarget_add_hour(h, it->u.b.start_ms, &sp);
        htarget_add_day(h, it->u.b.start_ms, &sp);
    }
}

/* The totals of target tid by unit (a day or an hour), count of them
 * ending with the one holding now_ms, each given to add. */
static void restore_units(struct histdb *db, const struct snap *s, int64_t tid, struct htarget *h,
                          int64_t now_ms, int64_t unit, int count,
                          void (*add)(struct htarget *h, int64_t start, const struct hspan *sp))
{
    int64_t last = floor_to(now_ms, unit);

    for (int64_t t = last - (count - 1) * unit; t <= last; t += unit) {
        struct hbucket sum = {0};
        span_sum(db, s, tid, t, t + unit, &sum, SIZE_MAX);
        struct hspan sp = span_of(&sum);
        if (sum.probes)
            add(h, t, &sp);
    }
}

/* What the database holds of target tid (its days, hours and last
 * incidents), read in snapshot s. */
static void restore_rows(struct histdb *db, const struct snap *s, int64_t tid, struct htarget *h,
                         int64_t now_ms)
{
    restore_units(db, s, tid, h, now_ms, DAY_MS, HIST_DAYS, htarget_add_day);
    restore_units(db, s, tid, h, now_ms, HOUR_MS, HIST_HOURS, htarget_add_hour);
    sqlite3_stmt *q = db->r[R_INCIDENTS_OF];
    sqlite3_bind_int64(q, 1, tid);
    sqlite3_bind_int64(q, 2, INT64_MAX);
    sqlite3_bind_int64(q, 3, HIST_INCIDENTS + 1); /* the open one is the newest */
    while (sqlite3_step(q) == SQLITE_ROW) {
        struct incident inc;
        histdb_row_incident(q, &inc);
        htarget_add_incident(h, &inc);
    }
    done(q);
}

void histdb_restore(struct histdb *db, const char *target, struct htarget *h, int64_t now_ms)
{
    struct snap s;
    int64_t tid;

    if (db == NULL || snap_begin(db, target, true, true, &s) < 0)
        return;
    if ((tid = target_id(db, target)) > 0)
        restore_rows(db, &s, tid, h, now_ms);
    for (size_t i = 0; i < s.n; i++)
        add_queued(s.items[i], h);
    snap_end(db, &s);
}

/* The rows of one range query, each given to fn with the htarget of its
 * target id (map, n ids). */
static void each_row(struct histdb *db, enum rstmt r, int64_t from, int64_t to,
                     struct htarget **map, size_t n,
                     void (*fn)(struct htarget *h, int64_t start, const struct hspan *sp))
{
    sqlite3_stmt *q = db->r[r];
    enum target_state worst;

    sqlite3_bind_int64(q, 1, from);
    sqlite3_bind_int64(q, 2, to);
    while (sqlite3_step(q) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(q, 0);
        const char *w = (const char *)sqlite3_column_text(q, 4);
        if (id > 0 && (size_t)id < n && map[id] && w && state_parse(w, &worst) == 0) {
            struct hspan sp = {(uint32_t)sqlite3_column_int64(q, 2),
                               (uint32_t)sqlite3_column_int64(q, 3), (uint8_t)worst};
            fn(map[id], sqlite3_column_int64(q, 1), &sp);
        }
    }
    done(q);
}

static void add_both(struct htarget *h, int64_t start, const struct hspan *sp)
{
    htarget_add_day(h, start, sp);
    htarget_add_hour(h, start, sp);
}

void histdb_restore_all(struct histdb *db, int64_t now_ms,
                        struct htarget *(*find)(const char *target, void *arg), void *arg)
{
    struct htarget **map = NULL;
    size_t cap = 0, rows = 0, nknown = 0;
    int32_t *known = NULL; /* the ids map holds, in the order found */
    size_t capknown = 0;
    struct snap s;

    if (db == NULL || snap_begin(db, NULL, true, true, &s) < 0)
        return;
    sqlite3_stmt *q = db->r[R_TARGETS];
    while (sqlite3_step(q) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(q, 0);
        struct htarget *h;
        rows++;
        if (id <= 0 || id > INT32_MAX ||
            (h = find((const char *)sqlite3_column_text(q, 1), arg)) == NULL)
            continue;
        if ((size_t)id >= cap) {
            size_t old = cap;
            xgrow((void **)&map, &cap, (size_t)id, sizeof(*map));
            memset(map + old, 0, (cap - old) * sizeof(*map));
        }
        if (map[id] == NULL) {
            xgrow((void **)&known, &capknown, nknown, sizeof(*known));
            known[nknown++] = (int32_t)id;
        }
        map[id] = h;
    }
    done(q);

    if (nknown * HISTDB_RESTORE_RATIO <= rows) {
        /* Few of them have rows (a reload that adds targets, most of them
         * new, or re-enables a few): those are read one by one, not
         * every recent row of every target. */
        for (size_t i = 0; i < nknown; i++)
            restore_rows(db, &s, known[i], map[known[i]], now_ms);
        goto queued;
    }

    /* Days first, then what is not yet folded into them, so each
     * target's days grow forward. */
    int64_t hour = floor_to(now_ms, HOUR_MS), first_hour = hour - (HIST_HOURS - 1) * HOUR_MS;
    int64_t first_day = floor_to(now_ms, DAY_MS) - (HIST_DAYS - 1) * DAY_MS;
    int64_t from = s.dt > first_day ? s.dt : first_day;
    each_row(db, R_DAYS_FROM, first_day, s.dt, map, cap, htarget_add_day);
    each_row(db, R_HOURS_FROM, from, s.ht, map, cap, htarget_add_day);
    each_row(db, R_HOURS_FROM, first_hour, s.ht, map, cap, htarget_add_hour);
    each_row(db, R_MINUTES_FROM, s.ht, INT64_MAX, map, cap, add_both);

    q = db->r[R_INCIDENTS];
    while (sqlite3_step(q) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(q, 1);
        if (id > 0 && (size_t)id < cap && map[id]) {
            struct incident inc;
            histdb_row_incident(q, &inc);
            htarget_add_incident(map[id], &inc);
        }
    }
    done(q);
queued:
    for (size_t i = 0; i < s.n; i++) {
        struct htarget *h = find(s.items[i]->target, arg);
        if (h)
            add_queued(s.items[i], h);
    }
    snap_end(db, &s);
    free(known);
    free(map);
}

int histdb_series(struct histdb *db, const char *target, int64_t from_ms, int64_t to_ms,
                  int64_t step_ms, struct hbucket **out, size_t *n)
{
    struct snap s;

    *out = NULL;
    *n = 0;
    if (db == NULL || step_ms <= 0 || step_ms % MINUTE_MS != 0)
        return -1;
    from_ms = floor_to(from_ms, MINUTE_MS);
    if (to_ms <= from_ms || (to_ms - from_ms - 1) / step_ms + 1 > HISTDB_MAX_POINTS)
        return -1;
    size_t points = (size_t)((to_ms - from_ms - 1) / step_ms + 1);
    if (snap_begin(db, target, true, false, &s) < 0)
        return -1;
    int64_t tid = target_id(db, target);
    size_t lookups = 0;
    for (size_t i = 0; i < points && lookups <= HISTDB_MAX_LOOKUPS; i++) {
        int64_t a = from_ms + (int64_t)i * step_ms, b = a + step_ms < to_ms ? a + step_ms : to_ms;
        lookups += span_sum(db, &s, 0, a, b, NULL, HISTDB_MAX_LOOKUPS - lookups);
    }
    if (lookups > HISTDB_MAX_LOOKUPS) {
        snap_end(db, &s);
        return -1;
    }
    struct hbucket *v = xcalloc(points, sizeof(*v));
    for (size_t i = 0; i < points; i++) {
        int64_t a = from_ms + (int64_t)i * step_ms, b = a + step_ms < to_ms ? a + step_ms : to_ms;
        v[i].start_ms = a;
        if (tid)
            span_sum(db, &s, tid, a, b, &v[i], SIZE_MAX);
    }
    for (size_t i = 0; i < s.n; i++) {
        const struct hbucket *b = &s.items[i]->u.b;
        if (b->start_ms >= from_ms && b->start_ms < to_ms)
            histdb_bucket_add(&v[(b->start_ms - from_ms) / step_ms], b);
    }
    snap_end(db, &s);
    *out = v;
    *n = points;
    return 0;
}

static int newest_first(const void *a, const void *b)
{
    const struct incident *x = &((const struct incident_row *)a)->inc;
    const struct incident *y = &((const struct incident_row *)b)->inc;

    if (x->start_ms != y->start_ms)
        return x->start_ms > y->start_ms ? -1 : 1;
    return x->id > y->id ? -1 : x->id < y->id;
}

int histdb_incidents(struct histdb *db, const char *target, int64_t before_ms, size_t limit,
                     struct incident_row **out, size_t *n)
{
    struct incident_row *rows = NULL;
    size_t nrows = 0, cap = 0;
    struct snap s;

    *out = NULL;
    *n = 0;
    if (db == NULL || snap_begin(db, target, false, true, &s) < 0)
        return -1;
    if (limit > INCIDENTS_MAX)
        limit = INCIDENTS_MAX;
    int64_t tid = target ? target_id(db, target) : 0;
    sqlite3_stmt *q = db->r[target ? R_INCIDENTS_OF : R_INCIDENTS_ALL];
    if (!target || tid) {
        if (target)
            sqlite3_bind_int64(q, 1, tid);
        sqlite3_bind_int64(q, 2, before_ms > 0 ? before_ms : INT64_MAX);
        sqlite3_bind_int64(q, 3, (int64_t)limit);
        while (sqlite3_step(q) == SQLITE_ROW) {
            xgrow((void **)&rows, &cap, nrows, sizeof(*rows));
            histdb_row_incident(q, &rows[nrows].inc);
            rows[nrows++].target =
                xstrdup(target ? target : (const char *)sqlite3_column_text(q, 7));
        }
        done(q);
    }
    /* What is queued is newer than what it replaces. */
    for (size_t i = 0; i < s.n; i++) {
        const struct incident *inc = &s.items[i]->u.inc;
        size_t j = 0;
        if (before_ms > 0 && inc->start_ms >= before_ms)
            continue;
        while (j < nrows && rows[j].inc.id != inc->id)
            j++;
        if (j == nrows) {
            xgrow((void **)&rows, &cap, nrows, sizeof(*rows));
            rows[nrows++].target = xstrdup(s.items[i]->target);
        }
        rows[j].inc = *inc;
    }
    snap_end(db, &s);
    if (nrows > 1)
        qsort(rows, nrows, sizeof(*rows), newest_first);
    while (nrows > limit)
        free(rows[--nrows].target);
    *out = rows;
    *n = nrows;
    return 0;
}

void histdb_rows_free(struct incident_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(rows[i].target);
    free(rows);
}
