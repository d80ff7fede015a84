/* The state database: its file (opened, locked, moved aside when damaged,
 * written anew when deleted), and the writes that wait for a commit, one
 * transaction per pass of the loop. The rows of its tables are read and
 * written by store_rows.c. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "clock.h"
#include "dbfile.h"
#include "log.h"
#include "util.h"

/* 2: what of a hold a restart needs, silences; 3: the severity and start
 * receivers were told of */
#define SCHEMA_VERSION 3

#include "store_impl.h"

static const char *const sql[Q_COUNT] = {
    [Q_BEGIN] = "BEGIN",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_STATE_SAVE] = "INSERT OR REPLACE INTO target_state (name, state, severity, location, "
                     "since_ms, notified_ms, cert_warned, slow, flapping, told_state, "
                     "told_location, told_flapping, told_slow, held_state, held_slow, held_by, "
                     "held_from, told_severity, told_since_ms) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [Q_STATE_DELETE] = "DELETE FROM target_state WHERE name = ?",
    [Q_STATE_LOAD] = "SELECT name, state, severity, location, since_ms, notified_ms, "
                     "cert_warned, slow, flapping, told_state, told_location, told_flapping, "
                     "told_slow, held_state, held_slow, held_by, held_from, told_severity, "
                     "told_since_ms FROM target_state",
    [Q_OUTBOX_ADD] = "INSERT OR REPLACE INTO outbox (id, webhook, event, target, body, "
                     "created_ms, next_ms, attempts, last_error) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [Q_OUTBOX_UPDATE] = "UPDATE outbox SET attempts = ?, next_ms = ?, last_error = ? "
                        "WHERE id = ?",
    [Q_OUTBOX_DELETE] = "DELETE FROM outbox WHERE id = ?",
    [Q_OUTBOX_LOAD] = "SELECT id, webhook, event, target, body, created_ms, next_ms, attempts, "
                      "last_error FROM outbox ORDER BY rowid",
    [Q_SILENCE_SAVE] = "INSERT OR REPLACE INTO silences (id, target, labels, comment, start_ms, "
                       "end_ms, expired) VALUES (?, ?, ?, ?, ?, ?, ?)",
    [Q_SILENCE_DELETE] = "DELETE FROM silences WHERE id = ?",
    [Q_SILENCE_LOAD] = "SELECT id, target, labels, comment, start_ms, end_ms, expired FROM "
                       "silences ORDER BY id",
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS target_state ("
    " name TEXT PRIMARY KEY, state TEXT NOT NULL, severity TEXT NOT NULL,"
    " location TEXT NOT NULL, since_ms INTEGER NOT NULL, notified_ms INTEGER NOT NULL,"
    " cert_warned INTEGER NOT NULL, slow INTEGER NOT NULL, flapping INTEGER NOT NULL,"
    " told_state TEXT, told_location INTEGER, told_flapping INTEGER, told_slow INTEGER,"
    " held_state INTEGER, held_slow INTEGER, held_by INTEGER, held_from TEXT,"
    " told_severity TEXT, told_since_ms INTEGER);"
    "CREATE TABLE IF NOT EXISTS silences ("
    " id INTEGER PRIMARY KEY, target TEXT, labels TEXT, comment TEXT NOT NULL,"
    " start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, expired INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS outbox ("
    " id TEXT PRIMARY KEY, webhook TEXT NOT NULL, event TEXT NOT NULL, target TEXT NOT NULL,"
    " body TEXT NOT NULL, created_ms INTEGER NOT NULL, next_ms INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL, last_error TEXT);";

/* The columns each schema added to the one before, empty in the rows of
 * an older database: a row without them keeps nothing of its target's
 * hold (2), or of the severity and start receivers were told (3). Each
 * step is one transaction, found needed by its first column missing. */
static const struct {
    const char *column, *sql;
} migrations[] = {
    {"told_state", "ALTER TABLE target_state ADD COLUMN told_state TEXT;"
                   "ALTER TABLE target_state ADD COLUMN told_location INTEGER;"
                   "ALTER TABLE target_state ADD COLUMN told_flapping INTEGER;"
                   "ALTER TABLE target_state ADD COLUMN told_slow INTEGER;"
                   "ALTER TABLE target_state ADD COLUMN held_state INTEGER;"
                   "ALTER TABLE target_state ADD COLUMN held_slow INTEGER;"
                   "ALTER TABLE target_state ADD COLUMN held_by INTEGER;"
                   "ALTER TABLE target_state ADD COLUMN held_from TEXT;"},
    {"told_since_ms", "ALTER TABLE target_state ADD COLUMN told_since_ms INTEGER;"
                      "ALTER TABLE target_state ADD COLUMN told_severity TEXT;"},
};

#define RETRY_US 5000000 /* a failed commit is tried again after this */

void store_report(struct store *s, const char *what)
{
    if (s->healthy)
        log_err("state database %s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
    s->healthy = false;
}

int store_exec(struct store *s, enum stmt q)
{
    int rc = sqlite3_step(s->q[q]);
    sqlite3_reset(s->q[q]);
    sqlite3_clear_bindings(s->q[q]);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

static void commit_cb(evutil_socket_t fd, short what, void *arg)
{
    struct store *s = arg;
    (void)fd;
    (void)what;

    s->scheduled = false;
    store_flush(s);
}

/* Commits at the end of this pass of the loop (delay 0), or when a failed
 * commit is due to be tried again. */
void store_schedule(struct store *s, int64_t delay_us)
{
    struct timeval tv = {(time_t)(delay_us / 1000000), (suseconds_t)(delay_us % 1000000)};

    if (s->scheduled && delay_us > 0)
        return;
    evtimer_add(s->commit_ev, &tv);
    s->scheduled = true;
}

void store_pending_clear(struct pending *p)
{
    free(p->state.location);
    free((char *)p->row.webhook);
    free((char *)p->row.event);
    free((char *)p->row.target);
    free((char *)p->row.body);
    free((char *)p->row.last_error);
    free((char *)p->srow.target);
    free((char *)p->srow.labels);
    free((char *)p->srow.comment);
    memset(&p->state, 0, sizeof(p->state));
    memset(&p->hold, 0, sizeof(p->hold));
    memset(&p->row, 0, sizeof(p->row));
    memset(&p->srow, 0, sizeof(p->srow));
    p->op = OP_NONE;
}

static void set_free(struct pending_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        store_pending_clear(set->items[i]);
        free(set->items[i]->key);
        free(set->items[i]);
    }
    free(set->items);
    strmap_free(&set->index);
    memset(set, 0, sizeof(*set));
}

/* The entry of key, a new one (OP_NONE) if there is none. */
struct pending *store_entry(struct pending_set *set, const char *key)
{
    struct pending *p = strmap_get(&set->index, key);

    if (p)
        return p;
    p = xcalloc(1, sizeof(*p));
    p->key = xstrdup(key);
    xgrow((void **)&set->items, &set->cap, set->n, sizeof(*set->items));
    set->items[set->n++] = p;
    strmap_put(&set->index, p->key, p);
    return p;
}

static size_t set_count(const struct pending_set *set)
{
    size_t n = 0;

    for (size_t i = 0; i < set->n; i++)
        n += set->items[i]->op != OP_NONE;
    return n;
}

static int open_db(struct store *s, char *err, size_t errlen);
static void close_db(struct store *s);
static void rewrite_from_memory(struct store *s);
static int move_aside(struct store *s, const char *kind, char *stamp_out, size_t stamplen);

/* Everything pending in one transaction; on any failure none of it, and
 * all of it is kept for the next try. */
static int commit(struct store *s)
{
    const char *what = "cannot begin a transaction";

    if (s->db == NULL) {
        char err[512];
        if (open_db(s, err, sizeof(err)) != SQLITE_OK) { /* after a failed reopen */
            close_db(s);
            return -1;
        }
        rewrite_from_memory(s);
    }

    if (store_exec(s, Q_BEGIN) < 0) {
        store_report(s, what);
        return -1;
    }
    what = "cannot empty the database";
    if (s->wipe && sqlite3_exec(s->db,
                                "DELETE FROM target_state; DELETE FROM outbox; "
                                "DELETE FROM silences",
                                NULL, NULL, NULL) != SQLITE_OK)
        goto rollback;
    what = "cannot save a target state";
    for (size_t i = 0; i < s->states.n; i++)
        if (store_apply(s, s->states.items[i], false) < 0)
            goto rollback;
    what = "cannot save a silence";
    for (size_t i = 0; i < s->silences.n; i++)
        if (store_apply_silence(s, s->silences.items[i]) < 0)
            goto rollback;
    what = "cannot write the outbox";
    for (size_t i = 0; i < s->deliveries.n; i++)
        if (store_apply(s, s->deliveries.items[i], true) < 0)
            goto rollback;
    what = "cannot commit";
    if (store_exec(s, Q_COMMIT) < 0)
        goto rollback;
    set_free(&s->states);
    set_free(&s->deliveries);
    set_free(&s->silences);
    s->wipe = false;
    return 0;
rollback:
    store_report(s, what);
    store_exec(s, Q_ROLLBACK);
    return -1;
}

/* After the file was found deleted or replaced: what the subscribers
 * hold in memory is the truth, in their order; whatever the file holds
 * (an old copy put back, say) and whatever was pending go. */
static void rewrite_from_memory(struct store *s)
{
    bool subscribers = false;

    for (size_t i = 0; i < ARRAY_SIZE(s->on_reset); i++)
        subscribers |= s->on_reset[i].cb != NULL;
    if (!subscribers)
        return; /* stopping: what is pending is all there is to write */
    set_free(&s->states);
    set_free(&s->deliveries);
    set_free(&s->silences);
    s->wipe = true;
    for (size_t i = 0; i < ARRAY_SIZE(s->on_reset); i++)
        if (s->on_reset[i].cb)
            s->on_reset[i].cb(s->on_reset[i].arg);
}

/* A database file deleted or replaced while the daemon runs (by hand, by
 * a cleanup job) would take every later write with it, unseen. It is
 * noticed before each commit and written anew from what is in memory. */
static void check_file(struct store *s)
{
    struct stat st;
    char err[512];

    if (s->db == NULL || (stat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino))
        return;
    close_db(s);
    /* A file put in its place (an old copy, say) is kept for whoever put
     * it there, but not used: it would bring back rows long gone. */
    char stamp[32];
    if (stat(s->path, &st) == 0 && move_aside(s, "replaced", stamp, sizeof(stamp)) == 0)
        log_err("state database %s was replaced; moved aside as %s.replaced-%s, writing a new "
                "one from memory",
                s->path, s->path, stamp);
    else {
        /* What is left of the deleted one must not be read as the new
         * one's write-ahead log. */
        for (size_t i = 0; i < 2; i++) {
            char *f = xasprintf("%s%s", s->path, i ? "-shm" : "-wal");
            unlink(f);
            free(f);
        }
        log_err("state database %s was deleted; writing a new one from memory", s->path);
    }
    if (open_db(s, err, sizeof(err)) != SQLITE_OK) {
        log_err("state database: %s", err);
        close_db(s);
        s->healthy = false;
        return;
    }
    rewrite_from_memory(s);
}

static void flush(struct store *s, bool force)
{
    int64_t now = clock_mono_us();

    check_file(s);
    bool pending = s->states.n || s->deliveries.n || s->silences.n || s->wipe;

    if (pending && (s->healthy || force || now - s->failed_at_us >= RETRY_US)) {
        if (commit(s) == 0) {
            if (!s->healthy) {
                log_notice("state database %s: writing again; what waited is saved", s->path);
                /* The WAL may have grown while nothing could be written. */
                sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
                s->healthy = true;
            }
        } else {
            s->failed_at_us = now;
        }
    }
    if (!s->healthy && pending)
        store_schedule(s, RETRY_US - (now - s->failed_at_us));
    /* What waits for a commit (a delivery's first attempt) goes ahead
     * either way: from memory when the disk failed. */
    if (s->on_commit)
        s->on_commit(s->on_commit_arg);
}

void store_flush(struct store *s)
{
    flush(s, false);
}

void store_sync(struct store *s)
{
    flush(s, true);
}

void store_on_reset(struct store *s, void (*cb)(void *arg), void *arg)
{
    size_t i, free_slot = ARRAY_SIZE(s->on_reset);

    for (i = 0; i < ARRAY_SIZE(s->on_reset); i++) {
        if (s->on_reset[i].cb && s->on_reset[i].arg == arg)
            break;
        if (s->on_reset[i].cb == NULL && free_slot == ARRAY_SIZE(s->on_reset))
            free_slot = i;
    }
    if (i == ARRAY_SIZE(s->on_reset))
        i = free_slot;
    if (i == ARRAY_SIZE(s->on_reset))
        abort(); /* more subscribers than the array holds: a programming error */
    s->on_reset[i].cb = cb;
    s->on_reset[i].arg = cb ? arg : NULL;
}

void store_on_commit(struct store *s, void (*cb)(void *arg), void *arg)
{
    s->on_commit = cb;
    s->on_commit_arg = arg;
}

/* Holds the state directory itself: a file in it could be deleted from
 * under the lock, the directory cannot while the daemon runs in it. */
static int take_lock(const char *dir, char *err, size_t errlen)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0) {
        errbuf_set(err, errlen, "cannot open state directory %s: %s", dir, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        errbuf_set(err, errlen, "%s is in use by another upmond (%s)", dir,
                   errno == EWOULDBLOCK ? "locked" : strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static void close_db(struct store *s)
{
    for (int i = 0; i < Q_COUNT; i++) {
        sqlite3_finalize(s->q[i]);
        s->q[i] = NULL;
    }
    if (s->db)
        sqlite3_close(s->db);
    s->db = NULL;
}

/* Opens and sets up the database; the SQLite error code on failure. WAL
 * with FULL sync: a committed row survives a crash of the daemon or of
 * the machine. Commits are batched per loop pass, so this costs one fsync
 * per burst of alerts. */
static int open_db(struct store *s, char *err, size_t errlen)
{
    int rc = dbfile_open(s->path, "state database",
                         "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                         "PRAGMA foreign_keys=OFF;",
                         schema, SCHEMA_VERSION, &s->db, &s->dev, &s->ino, err, errlen);

    if (rc != SQLITE_OK)
        return rc;
    for (size_t m = 0; m < ARRAY_SIZE(migrations); m++) {
        sqlite3_stmt *probe;
        char *q = xasprintf("SELECT %s FROM target_state", migrations[m].column);
        rc = sqlite3_prepare_v2(s->db, q, -1, &probe, NULL);
        free(q);
        if (rc == SQLITE_OK) {
            sqlite3_finalize(probe);
            continue;
        }
        char *step = xasprintf("BEGIN; %s COMMIT;", migrations[m].sql);
        rc = sqlite3_exec(s->db, step, NULL, NULL, NULL);
        free(step);
        if (rc != SQLITE_OK) {
            errbuf_set(err, errlen, "cannot add the columns of schema %zu to %s: %s", m + 2,
                       s->path, sqlite3_errmsg(s->db));
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return rc;
        }
    }
    for (int i = 0; i < Q_COUNT; i++) {
        if ((rc = sqlite3_prepare_v3(s->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->q[i],
                                     NULL)) != SQLITE_OK) {
            errbuf_set(err, errlen, "cannot prepare a statement on %s: %s", s->path,
                       sqlite3_errmsg(s->db));
            return rc;
        }
    }
    return SQLITE_OK;
}

/* A database that is not one, or is damaged, is kept for a post-mortem
 * under a name with the time, and a fresh one is started: monitoring
 * matters more than the alert state it held. */
static int move_aside(struct store *s, const char *kind, char *stamp_out, size_t stamplen)
{
    return dbfile_move_aside(s->path, "state database", kind, stamp_out, stamplen);
}

struct store *store_open(struct event_base *base, const char *dir, char *err, size_t errlen)
{
    struct store *s = xcalloc(1, sizeof(*s));
    int rc;

    s->lockfd = -1;
    s->healthy = true;
    if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
        errbuf_set(err, errlen, "cannot create state directory %s: %s", dir, strerror(errno));
        goto fail;
    }
    s->lockfd = take_lock(dir, err, errlen);
    if (s->lockfd < 0)
        goto fail;
    s->path = xasprintf("%s/upmon.db", dir);
    rc = open_db(s, err, errlen);
    if (dbfile_damaged(rc)) {
        char why[256];
        snprintf(why, sizeof(why), "%s", sqlite3_errstr(rc));
        char stamp[32];
        close_db(s);
        if (move_aside(s, "corrupt", stamp, sizeof(stamp)) == 0) {
            log_err("state database %s is damaged (%s): moved aside as %s.corrupt-%s; starting "
                    "a new one, without the alert state and pending deliveries it held",
                    s->path, why, s->path, stamp);
            rc = open_db(s, err, errlen);
        }
    }
    if (rc != SQLITE_OK)
        goto fail;
    s->commit_ev = evtimer_new(base, commit_cb, s);
    if (s->commit_ev == NULL) {
        errbuf_set(err, errlen, "out of memory");

        goto fail;
    }
    return s;
fail:
    store_close(s);
    return NULL;
}

void store_close(struct store *s)
{
    if (s == NULL)
        return;
    s->on_commit = NULL;
    if (s->commit_ev) { /* commit() reopens a database it lost */
        flush(s, true);
        size_t states = set_count(&s->states), deliveries = set_count(&s->deliveries);
        if (states || deliveries)
            log_err("state database %s: %zu webhook deliver%s and %zu target state%s could not "
                    "be saved; they are lost with this stop",
                    s->path, deliveries, deliveries == 1 ? "y" : "ies", states,
                    states == 1 ? "" : "s");
        if (set_count(&s->silences))
            log_err("state database %s: changes to %zu silence%s could not be saved", s->path,
                    set_count(&s->silences), set_count(&s->silences) == 1 ? "" : "s");
    }
    set_free(&s->states);
    set_free(&s->deliveries);
    set_free(&s->silences);
    close_db(s);
    if (s->commit_ev)
        event_free(s->commit_ev);
    if (s->lockfd >= 0)
        close(s->lockfd);
    free(s->path);
    free(s);
}
