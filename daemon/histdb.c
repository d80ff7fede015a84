/* The history database (histdb.h): the queue the loop hands buckets and
 * incidents to, the thread that writes them in batches, folds minutes
 * into hours and hours into days and deletes what is past retention. The
 * reads are in histread.c. */
#include "histdb_impl.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "dbfile.h"
#include "log.h"
#include "state.h"

#define BATCH_MAX   5000   /* items per transaction */
#define QUEUE_MAX   50000  /* buckets kept while the disk fails: minutes of 10,000 targets */
#define FLUSH_MS    1000   /* how often the thread writes what came */
#define RETRY_MS    5000   /* after a failed write */
#define MAINTAIN_MS 300000 /* how often it looks for hours to fold and rows to delete */
/* An hour is folded this long after its end: its last minutes are closed
 * (by a probe or the loop's tick) by then. */
#define FOLD_GRACE_MS 120000

enum wstmt {
    W_BEGIN,
    W_COMMIT,
    W_ROLLBACK,
    W_TARGET,
    W_TARGET_ID,
    W_PUT_MINUTE, /* then W_PUT_HOUR, W_PUT_DAY */
    W_PUT_HOUR,
    W_PUT_DAY,
    W_FOLD_HOURS,
    W_FOLD_DAYS,
    W_INCIDENT,
    W_META,
    W_META_MAX,
    W_META_GET,
    W_COUNT
};

/* ---- the writer thread ---- */

static int step_reset(sqlite3_stmt *q)
{
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

static void forget_ids(struct histdb *db)
{
    for (size_t i = 0; i < db->ids.cap; i++)
        free((char *)db->ids.slots[i].key);
    strmap_free(&db->ids);
}

/* The id of a target's name, its row made when it is new. */
static int64_t target_id(struct histdb *db, const char *name)
{
    void *v = strmap_get(&db->ids, name);
    sqlite3_stmt *q = db->w[W_TARGET];
    int64_t id = -1;

    if (v)
        return (int64_t)(uintptr_t)v;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    if (step_reset(q) < 0)
        return -1;
    q = db->w[W_TARGET_ID];
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW)
        id = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    if (id > 0)
        strmap_put(&db->ids, xstrdup(name), (void *)(uintptr_t)id);
    return id;
}

static int put_bucket(struct histdb *db, enum wstmt w, int64_t start, int64_t id,
                      const struct hbucket *b)
{
    sqlite3_stmt *q = db->w[w];

    sqlite3_bind_int64(q, 1, start);
    sqlite3_bind_int64(q, 2, id);
    sqlite3_bind_int64(q, 3, b->probes);
    sqlite3_bind_int64(q, 4, b->failures);
    sqlite3_bind_int64(q, 5, (int64_t)b->latency_sum_us);
    sqlite3_bind_int64(q, 6, b->latency_max_us);
    for (int i = 0; i < HIST_LAT_BUCKETS; i++)
        sqlite3_bind_int64(q, 7 + i, b->lat[i]);
    sqlite3_bind_text(q, 7 + HIST_LAT_BUCKETS, state_name(b->worst), -1, SQLITE_STATIC);
    return step_reset(q);
}

static int64_t floor_to(int64_t t, int64_t unit)
{
    return (t / unit - (t % unit < 0)) * unit;
}

static int write_item(struct histdb *db, const struct qitem *it)
{
    int64_t id = target_id(db, it->target);

    if (id < 0)
        return -1;
    if (!it->is_incident) {
        const struct hbucket *b = &it->u.b;
        /* A minute of an hour already folded goes into it too. */
        return put_bucket(db, W_PUT_MINUTE, b->start_ms, id, b) < 0 ||
                       (b->start_ms < db->hours_through &&
                        put_bucket(db, W_PUT_HOUR, floor_to(b->start_ms, HOUR_MS), id, b) < 0) ||
                       (b->start_ms < db->days_through &&
                        put_bucket(db, W_PUT_DAY, floor_to(b->start_ms, DAY_MS), id, b) < 0)
                   ? -1
                   : 0;
    }
    const struct incident *inc = &it->u.inc;
    char codes[INCIDENT_CODES * 5 + 1] = "", errors[256] = "";
    size_t off = 0;
    for (unsigned i = 0; i < inc->ncodes; i++)
        off += (size_t)snprintf(codes + off, sizeof(codes) - off, "%s%u", i ? "," : "",
                                (unsigned)inc->codes[i]);
    off = 0;
    for (int e = 1; e < PERR_COUNT && off < sizeof(errors); e++)
        if (inc->errors & (1u << e))
            off += (size_t)snprintf(errors + off, sizeof(errors) - off, "%s%s", off ? "," : "",
                                    probe_error_name((enum probe_error)e));
    sqlite3_stmt *q = db->w[W_INCIDENT];
    sqlite3_bind_int64(q, 1, (int64_t)inc->id);
    sqlite3_bind_int64(q, 2, id);
    sqlite3_bind_int64(q, 3, inc->start_ms);
    sqlite3_bind_int64(q, 4, inc->end_ms);
    sqlite3_bind_text(q, 5, state_name(inc->worst), -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 6, codes, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 7, errors, -1, SQLITE_STATIC);
    return step_reset(q);
}

static int set_meta(struct histdb *db, const char *key, int64_t value)
{
    sqlite3_stmt *q = db->w[W_META];
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, value);
    return step_reset(q);
}

static int64_t get_meta(struct histdb *db, const char *key)
{
    sqlite3_stmt *q = db->w[W_META_GET];
    int64_t v = 0;

    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return v;
}

/* why: SQLite's message, taken before the rollback that would replace it. */
static void failed(struct histdb *db, const char *what, const char *why, int64_t now)
{
    if (db->healthy) {
        log_err("history database %s: %s: %s; keeping up to %d buckets in memory and trying "
                "again every %d s",
                db->path, what, why, QUEUE_MAX, RETRY_MS / 1000);
        db->healthy = false;
    }
    db->retry_at_ms = now + RETRY_MS;
    /* An id made in the transaction rolled back is no more. */
    forget_ids(db);
}

/* One transaction of what was queued, the oldest first; on failure it
 * all stays queued. */
static void write_batch(struct histdb *db, int64_t now)
{
    struct qitem **items;
    size_t n;
    uint64_t seq;

    pthread_mutex_lock(&db->mu);
    n = db->nq < BATCH_MAX ? db->nq : BATCH_MAX;
    seq = ++db->batch;
    items = xreallocarray(NULL, n ? n : 1, sizeof(*items));
    for (size_t i = 0; i < n; i++) {
        items[i] = db->q[i];
        items[i]->batch = seq;
    }
    pthread_mutex_unlock(&db->mu);

    bool ok = step_reset(db->w[W_BEGIN]) == 0;
    uint64_t next_id = 0;
    for (size_t i = 0; ok && i < n; i++) {
        ok = write_item(db, items[i]) == 0;
        if (items[i]->is_incident && items[i]->u.inc.id >= next_id)
            next_id = items[i]->u.inc.id + 1;
    }
    /* Once a batch: an update of meta is a temporary table's worth of
     * allocations. */
    if (ok && next_id) {
        sqlite3_stmt *q = db->w[W_META_MAX];
        sqlite3_bind_text(q, 1, "next_incident", -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 2, (int64_t)next_id);
        ok = step_reset(q) == 0;
    }
    ok = ok && set_meta(db, "batch", (int64_t)seq) == 0 && step_reset(db->w[W_COMMIT]) == 0;
    char why[256] = "";
    if (!ok) {
        snprintf(why, sizeof(why), "%s", sqlite3_errmsg(db->wdb));
        step_reset(db->w[W_ROLLBACK]);
    }

    size_t buckets = 0;
    pthread_mutex_lock(&db->mu);
    if (ok) {
        /* The loop only appends: what was taken is still first. */
        memmove(db->q, db->q + n, (db->nq - n) * sizeof(*db->q));
        db->nq -= n;
        for (size_t i = 0; i < n; i++)
            buckets += !items[i]->is_incident;
        db->nbuckets -= buckets;
    } else {
        for (size_t i = 0; i < n; i++)
            items[i]->batch = 0;
    }
    uint64_t dropped = db->dropped;
    db->dropped = 0;
    pthread_mutex_unlock(&db->mu);

    if (!ok) {
        failed(db, "cannot write", why, now);
        free(items);
        return;
    }
    for (size_t i = 0; i < n; i++)
        free(items[i]);
    free(items);
    if (!db->healthy) {
        log_notice("history database %s: writing again%s", db->path,
                   dropped ? "" : "; what waited is saved");
        sqlite3_wal_checkpoint_v2(db->wdb, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
        db->healthy = true;
    }
    if (dropped)
        log_err("history database %s: %llu minute buckets were lost while it could not be "
                "written",
                db->path, (unsigned long long)dropped);
}

static int fold(struct histdb *db, enum wstmt w, int64_t from, int64_t to)
{
    sqlite3_stmt *q = db->w[w];
    sqlite3_bind_int64(q, 1, from);
    sqlite3_bind_int64(q, 2, to);
    return step_reset(q);
}

static int exec(struct histdb *db, const char *sql, int64_t a)
{
    sqlite3_stmt *q;
    int rc;

    if (sqlite3_prepare_v2(db->wdb, sql, -1, &q, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(q, 1, a);
    rc = step_reset(q);
    sqlite3_finalize(q);
    return rc;
}

/* Folds the hours and days that are over, deletes the minutes past
 * compact_after and everything past retention. */
static void maintain(struct histdb *db, int64_t now)
{
    pthread_mutex_lock(&db->mu);
    int64_t retention = db->retention_ms, compact = db->compact_ms;
    pthread_mutex_unlock(&db->mu);
    int64_t ht = db->hours_through, dt = db->days_through;
    bool ok = step_reset(db->w[W_BEGIN]) == 0, days_moved = false;

    if (ht == 0) /* a new database: nothing before this hour */
        ht = floor_to(now, HOUR_MS);
    if (dt == 0)
        dt = floor_to(ht, DAY_MS);
    for (; ok && ht + HOUR_MS + FOLD_GRACE_MS <= now; ht += HOUR_MS)
        ok = fold(db, W_FOLD_HOURS, ht, ht + HOUR_MS) == 0;
    for (; ok && dt + DAY_MS <= ht; dt += DAY_MS) {
        ok = fold(db, W_FOLD_DAYS, dt, dt + DAY_MS) == 0;
        days_moved = true;
    }
    int64_t minutes_before = now - compact < ht ? now - compact : ht;
    int64_t hours_before = now - retention < dt ? now - retention : dt;
    ok = ok && set_meta(db, "hours_through", ht) == 0 && set_meta(db, "days_through", dt) == 0 &&
         exec(db, "DELETE FROM minutes WHERE start_ms < ?1", minutes_before) == 0 &&
         exec(db, "DELETE FROM hours WHERE start_ms < ?1", hours_before) == 0 &&
         exec(db, "DELETE FROM days WHERE start_ms < ?1", floor_to(now - retention, DAY_MS)) == 0 &&
         exec(db, "DELETE FROM incidents WHERE end_ms != 0 AND end_ms < ?1", now - retention) == 0;
    /* Names with nothing left (removed or renamed long ago): once a day,
     * when the days move, as it reads every day's row. */
    int forgotten = 0;
    if (ok && days_moved) {
        ok = exec(db,
                  "DELETE FROM targets WHERE id NOT IN (SELECT target FROM days UNION "
                  "SELECT target FROM hours WHERE start_ms >= ?1 UNION SELECT target FROM minutes "
                  "UNION SELECT target FROM incidents)",
                  dt) == 0;
        forgotten = sqlite3_changes(db->wdb);
    }
    if (ok && step_reset(db->w[W_COMMIT]) == 0) {
        db->hours_through = ht;
        db->days_through = dt;
        if (forgotten)
            forget_ids(db);
        return;
    }
    char why[256];
    snprintf(why, sizeof(why), "%s", sqlite3_errmsg(db->wdb));
    step_reset(db->w[W_ROLLBACK]);
    failed(db, "cannot fold or delete old buckets", why, now);
}

static void *writer(void *arg)
{
    struct histdb *db = arg;
    int64_t next_maintain = 0;
    bool last = false;

    while (!last) {
        int64_t now = clock_wall_ms();
        if (now >= next_maintain && (db->healthy || now >= db->retry_at_ms)) {
            maintain(db, now);
            next_maintain = now + MAINTAIN_MS;
        }

        pthread_mutex_lock(&db->mu);
        if (!db->stop) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_sec += FLUSH_MS / 1000;
            pthread_cond_timedwait(&db->cv, &db->mu, &ts);
        }
        last = db->stop;
        bool pending = db->nq > 0;
        pthread_mutex_unlock(&db->mu);

        now = clock_wall_ms();
        /* At the end, one more try whatever the last one gave. */
        while (pending && (db->healthy || last || now >= db->retry_at_ms)) {
            write_batch(db, now);
            pthread_mutex_lock(&db->mu);
            pending = db->nq > 0 && db->healthy;
            pthread_mutex_unlock(&db->mu);
        }
    }
    return NULL;
}

/* ---- the loop's side ---- */

static void append(struct histdb *db, struct qitem *it)
{
    xgrow((void **)&db->q, &db->capq, db->nq, sizeof(*db->q));
    db->q[db->nq++] = it;
}

static struct qitem *item_new(const char *target)
{
    size_t len = strlen(target);
    struct qitem *it = xmalloc(sizeof(*it) + len + 1);

    memset(it, 0, sizeof(*it));
    memcpy(it->target, target, len + 1);
    return it;
}

void histdb_put_bucket(struct histdb *db, const char *target, const struct hbucket *b)
{
    if (db == NULL || b->probes == 0)
        return;
    pthread_mutex_lock(&db->mu);
    if (db->nbuckets >= QUEUE_MAX) {
        db->dropped++;
    } else {
        struct qitem *it = item_new(target);
        it->u.b = *b;
        append(db, it);
        db->nbuckets++;
    }
    pthread_mutex_unlock(&db->mu);
}

void histdb_put_incident(struct histdb *db, const char *target, const struct incident *inc)
{
    if (db == NULL)
        return;
    pthread_mutex_lock(&db->mu);
    /* An incident changes with many probes: one row written per batch,
     * the latest. (One being written stays; this one follows it.) */
    for (size_t i = db->nq; i-- > 0;) {
        struct qitem *it = db->q[i];
        if (it->batch == 0 && it->is_incident && it->u.inc.id == inc->id) {
            it->u.inc = *inc;
            pthread_mutex_unlock(&db->mu);
            return;
        }
    }
    struct qitem *it = item_new(target);
    it->is_incident = true;
    it->u.inc = *inc;
    append(db, it);
    pthread_mutex_unlock(&db->mu);
}

void histdb_configure(struct histdb *db, const struct config *cfg)
{
    if (db == NULL)
        return;
    pthread_mutex_lock(&db->mu);
    db->retention_ms = (int64_t)cfg->history_retention_ms;
    db->compact_ms = (int64_t)cfg->history_compact_after_ms;
    pthread_mutex_unlock(&db->mu);
}

uint64_t histdb_next_incident_id(struct histdb *db)
{
    sqlite3_stmt *q;
    uint64_t next = 1;

    if (sqlite3_prepare_v2(db->rdb,
                           "SELECT max((SELECT value FROM meta WHERE key = 'next_incident'),"
                           " coalesce((SELECT max(id) FROM incidents), 0) + 1)",
                           -1, &q, NULL) != SQLITE_OK)
        return next;
    if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int64(q, 0) > 0)
        next = (uint64_t)sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    /* Ids handed over but not yet written. */
    pthread_mutex_lock(&db->mu);
    for (size_t i = 0; i < db->nq; i++)
        if (db->q[i]->is_incident && db->q[i]->u.inc.id >= next)
            next = db->q[i]->u.inc.id + 1;
    pthread_mutex_unlock(&db->mu);
    return next;
}

static int prepare_writes(struct histdb *db, char *err, size_t errlen)
{
    char *sql[W_COUNT] = {
        [W_BEGIN] = xstrdup("BEGIN IMMEDIATE"),
        [W_COMMIT] = xstrdup("COMMIT"),
        [W_ROLLBACK] = xstrdup("ROLLBACK"),
        /* Not RETURNING, which gathers its rows in a temporary table: an
         * allocation of 80 KB a name. */
        [W_TARGET] = xstrdup("INSERT OR IGNORE INTO targets (name) VALUES (?1)"),
        [W_TARGET_ID] = xstrdup("SELECT id FROM targets WHERE name = ?1"),
        [W_PUT_MINUTE] = histdb_put_sql("minutes"),
        [W_PUT_HOUR] = histdb_put_sql("hours"),
        [W_PUT_DAY] = histdb_put_sql("days"),
        [W_FOLD_HOURS] = histdb_fold_sql("minutes", "hours"),
        [W_FOLD_DAYS] = histdb_fold_sql("hours", "days"),
        /* Not INSERT OR REPLACE, which takes a statement journal (64 KB)
         * for the indexes each time. */
        [W_INCIDENT] = xstrdup("INSERT INTO incidents (id, target, start_ms, end_ms, worst, codes, "
                               "errors) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE "
                               "SET end_ms = excluded.end_ms, worst = excluded.worst, "
                               "codes = excluded.codes, errors = excluded.errors"),
        [W_META] = xstrdup("UPDATE meta SET value = ?2 WHERE key = ?1"),
        [W_META_MAX] = xstrdup("UPDATE meta SET value = max(value, ?2) WHERE key = ?1"),
        [W_META_GET] = xstrdup("SELECT value FROM meta WHERE key = ?1"),
    };
    int rc = 0;

    db->w = xcalloc(W_COUNT, sizeof(*db->w));
    for (int i = 0; i < W_COUNT; i++) {
        if (rc == 0 && sqlite3_prepare_v3(db->wdb, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &db->w[i],
                                          NULL) != SQLITE_OK) {
            errbuf_set(err, errlen, "cannot prepare a statement on %s: %s", db->path,
                       sqlite3_errmsg(db->wdb));
            rc = -1;
        }
        free(sql[i]);
    }
    return rc;
}

/* Small caches: the daemon's memory is counted per target, and the
 * operating system caches the file anyway. */
static const char pragmas[] = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                              " PRAGMA cache_size=-512; PRAGMA journal_size_limit=4194304;";

static int open_files(struct histdb *db, char *err, size_t errlen)
{
    char *schema = histdb_schema_sql();
    dev_t dev;
    ino_t ino;
    int rc = dbfile_open(db->path, "history database", pragmas, schema, HISTDB_SCHEMA_VERSION,
                         &db->wdb, &dev, &ino, err, errlen);

    free(schema);
    return rc;
}

struct histdb *histdb_open(struct event_base *base, const char *dir, const struct config *cfg,
                           char *err, size_t errlen)
{
    struct histdb *db = xcalloc(1, sizeof(*db));
    int rc;
    (void)base; /* the writer is a thread: nothing runs on the loop but reads */

    /* The writer's waits are timed on the monotonic clock: a step of the
     * wall clock neither stalls nor hurries it. */
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&db->mu, NULL);
    pthread_cond_init(&db->cv, &ca);
    pthread_condattr_destroy(&ca);
    db->healthy = true;
    db->path = xasprintf("%s/history.db", dir);
    rc = open_files(db, err, errlen);
    if (dbfile_damaged(rc)) {
        char why[256], stamp[32];
        snprintf(why, sizeof(why), "%s", sqlite3_errstr(rc));
        sqlite3_close(db->wdb);
        db->wdb = NULL;
        if (dbfile_move_aside(db->path, "history database", "corrupt", stamp, sizeof(stamp)) == 0) {
            log_err("history database %s is damaged (%s): moved aside as %s.corrupt-%s; starting "
                    "a new one, without the history it held",
                    db->path, why, db->path, stamp);
            rc = open_files(db, err, errlen);
        }
    }
    if (rc != SQLITE_OK)
        goto fail;
    histdb_add_functions(db->wdb);
    if (prepare_writes(db, err, errlen) < 0)
        goto fail;
    db->hours_through = get_meta(db, "hours_through");
    db->days_through = get_meta(db, "days_through");
    /* Batches go on from the last one written: numbered from 0 again, the
     * first would look written already to a read made while it is. */
    db->batch = (uint64_t)get_meta(db, "batch");
    if (sqlite3_open_v2(db->path, &db->rdb, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(db->rdb, "PRAGMA cache_size=-256", NULL, NULL, NULL) != SQLITE_OK) {
        errbuf_set(err, errlen, "cannot open %s: %s", db->path,
                   db->rdb ? sqlite3_errmsg(db->rdb) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(db->rdb, 100);
    if (histdb_prepare_reads(db, err, errlen) < 0)
        goto fail;
    histdb_configure(db, cfg);

    /* The thread takes no signal: the loop handles them. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rc = pthread_create(&db->thread, NULL, writer, db);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        errbuf_set(err, errlen, "cannot start the history writer: %s", strerror(rc));
        goto fail;
    }
    db->started = true;
    return db;
fail:
    histdb_close(db);
    return NULL;
}

void histdb_close(struct histdb *db)
{
    if (db == NULL)
        return;
    if (db->started) {
        pthread_mutex_lock(&db->mu);
        db->stop = true;
        pthread_cond_signal(&db->cv);
        pthread_mutex_unlock(&db->mu);
        pthread_join(db->thread, NULL);
        if (db->nq)
            log_err("history database %s: %zu minute buckets and incident changes could not be "
                    "saved; they are lost with this stop",
                    db->path, db->nq);
    }
    for (size_t i = 0; i < db->nq; i++)
        free(db->q[i]);
    free(db->q);
    for (int i = 0; db->w && i < W_COUNT; i++)
        sqlite3_finalize(db->w[i]);
    free(db->w);
    histdb_finalize_reads(db);
    sqlite3_close(db->rdb);
    sqlite3_close(db->wdb);
    forget_ids(db);
    pthread_mutex_destroy(&db->mu);
    pthread_cond_destroy(&db->cv);
    free(db->path);
    free(db);
}
