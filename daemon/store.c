/* The SQLite store. */
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

#define SCHEMA_VERSION 2 /* 2: what of a hold a restart needs, silences */

enum stmt {
    Q_BEGIN,
    Q_COMMIT,
    Q_ROLLBACK,
    Q_STATE_SAVE,
    Q_STATE_DELETE,
    Q_STATE_LOAD,
    Q_OUTBOX_ADD,
    Q_OUTBOX_UPDATE,
    Q_OUTBOX_DELETE,
    Q_OUTBOX_LOAD,
    Q_SILENCE_SAVE,
    Q_SILENCE_DELETE,
    Q_SILENCE_LOAD,
    Q_COUNT
};

static const char *const sql[Q_COUNT] = {
    [Q_BEGIN] = "BEGIN",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_STATE_SAVE] = "INSERT OR REPLACE INTO target_state (name, state, severity, location, "
                     "since_ms, notified_ms, cert_warned, slow, flapping, told_state, "
                     "told_location, told_flapping, told_slow, held_state, held_slow, held_by, "
                     "held_from) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [Q_STATE_DELETE] = "DELETE FROM target_state WHERE name = ?",
    [Q_STATE_LOAD] = "SELECT name, state, severity, location, since_ms, notified_ms, "
                     "cert_warned, slow, flapping, told_state, told_location, told_flapping, "
                     "told_slow, held_state, held_slow, held_by, held_from FROM target_state",
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
    " held_state INTEGER, held_slow INTEGER, held_by INTEGER, held_from TEXT);"
    "CREATE TABLE IF NOT EXISTS silences ("
    " id INTEGER PRIMARY KEY, target TEXT, labels TEXT, comment TEXT NOT NULL,"
    " start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, expired INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS outbox ("
    " id TEXT PRIMARY KEY, webhook TEXT NOT NULL, event TEXT NOT NULL, target TEXT NOT NULL,"
    " body TEXT NOT NULL, created_ms INTEGER NOT NULL, next_ms INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL, last_error TEXT);";

/* The columns schema 2 added to a database of schema 1, empty there: a
 * row without them keeps nothing of its target's hold. */
static const char migrate_2[] = "ALTER TABLE target_state ADD COLUMN told_state TEXT;"
                                "ALTER TABLE target_state ADD COLUMN told_location INTEGER;"
                                "ALTER TABLE target_state ADD COLUMN told_flapping INTEGER;"
                                "ALTER TABLE target_state ADD COLUMN told_slow INTEGER;"
                                "ALTER TABLE target_state ADD COLUMN held_state INTEGER;"
                                "ALTER TABLE target_state ADD COLUMN held_slow INTEGER;"
                                "ALTER TABLE target_state ADD COLUMN held_by INTEGER;"
                                "ALTER TABLE target_state ADD COLUMN held_from TEXT;";

/* A write not yet committed. Writes are kept here, one entry per key with
 * the latest winning, and applied in one transaction per pass of the loop;
 * they stay here until a commit succeeds, so a full or read-only disk
 * loses nothing that it takes later. */
enum op {
    OP_NONE,   /* nothing to write */
    OP_PUT,    /* the whole row (a state, a new delivery) */
    OP_UPDATE, /* a delivery's attempts, next_ms and last_error */
    OP_DELETE,
};

struct pending {
    enum op op;
    char *key; /* target name, delivery id or silence id */
    struct tstate_saved state;
    struct hold_saved hold;  /* unknown: none kept */
    struct delivery_row row; /* strings owned; id unused (the key) */
    struct silence_row srow; /* strings owned */
};

struct pending_set {
    struct pending **items; /* in the order first written: deliveries load by rowid */
    size_t n, cap;
    struct strmap index; /* key -> item */
};

#define RETRY_US 5000000 /* a failed commit is tried again after this */

struct store {
    sqlite3 *db;
    sqlite3_stmt *q[Q_COUNT];
    int lockfd; /* on the state directory */
    char *path;
    dev_t dev; /* of the database file, to notice it deleted or replaced */
    ino_t ino;
    struct event *commit_ev;
    bool scheduled;       /* commit_ev armed */
    bool healthy;         /* the last commit reached the disk */
    int64_t failed_at_us; /* when the last commit failed */
    struct pending_set states, deliveries, silences;
    bool wipe; /* empty the tables first: they are rewritten from memory */
    void (*on_commit)(void *);
    void *on_commit_arg;
    struct {
        void (*cb)(void *arg);
        void *arg;
    } on_reset[4];
};

static void report(struct store *s, const char *what)
{
    if (s->healthy)
        log_err("state database %s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
    s->healthy = false;
}

static int exec(struct store *s, enum stmt q)
{
    int rc = sqlite3_step(s->q[q]);
    sqlite3_reset(s->q[q]);
    sqlite3_clear_bindings(s->q[q]);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

static void bind_text(sqlite3_stmt *q, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, i);
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
static void schedule(struct store *s, int64_t delay_us)
{
    struct timeval tv = {(time_t)(delay_us / 1000000), (suseconds_t)(delay_us % 1000000)};

    if (s->scheduled && delay_us > 0)
        return;
    evtimer_add(s->commit_ev, &tv);
    s->scheduled = true;
}

static void pending_clear(struct pending *p)
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
        pending_clear(set->items[i]);
        free(set->items[i]->key);
        free(set->items[i]);
    }
    free(set->items);
    strmap_free(&set->index);
    memset(set, 0, sizeof(*set));
}

/* The entry of key, a new one (OP_NONE) if there is none. */
static struct pending *entry(struct pending_set *set, const char *key)
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

static char *dup_or_null(const char *v)
{
    return v ? xstrdup(v) : NULL;
}

/* Applies one pending write; -1 when the database refused it. */
static int apply(struct store *s, const struct pending *p, bool delivery)
{
    enum stmt q;

    switch (p->op) {
    case OP_NONE:
        return 0;
    case OP_DELETE:
        q = delivery ? Q_OUTBOX_DELETE : Q_STATE_DELETE;
        bind_text(s->q[q], 1, p->key);
        return exec(s, q);
    case OP_UPDATE:
        sqlite3_bind_int(s->q[Q_OUTBOX_UPDATE], 1, (int)p->row.attempts);
        sqlite3_bind_int64(s->q[Q_OUTBOX_UPDATE], 2, p->row.next_ms);
        bind_text(s->q[Q_OUTBOX_UPDATE], 3, p->row.last_error);
        bind_text(s->q[Q_OUTBOX_UPDATE], 4, p->key);
        return exec(s, Q_OUTBOX_UPDATE);
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
        return exec(s, Q_OUTBOX_ADD);
    }
    sqlite3_stmt *v = s->q[Q_STATE_SAVE];
    bind_text(v, 1, p->key);
    bind_text(v, 2, state_name(p->state.state));
    bind_text(v, 3, codes_severity_name(p->state.severity));
    bind_text(v, 4, p->state.location ? p->state.location : "");
    sqlite3_bind_int64(v, 5, p->state.since_ms);
    sqlite3_bind_int64(v, 6, p->state.notified_ms);
    sqlite3_bind_int64(v, 7, p->state.cert_warned);
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
    }
    return exec(s, Q_STATE_SAVE);
}

static int apply_silence(struct store *s, const struct pending *p)
{
    sqlite3_stmt *q = s->q[p->op == OP_DELETE ? Q_SILENCE_DELETE : Q_SILENCE_SAVE];

    if (p->op == OP_NONE)
        return 0;
    sqlite3_bind_int64(q, 1, (int64_t)strtoull(p->key, NULL, 10));
    if (p->op == OP_DELETE)
        return exec(s, Q_SILENCE_DELETE);
    bind_text(q, 2, p->srow.target);
    bind_text(q, 3, p->srow.labels);
    bind_text(q, 4, p->srow.comment);
    sqlite3_bind_int64(q, 5, p->srow.start_ms);
    sqlite3_bind_int64(q, 6, p->srow.end_ms);
    sqlite3_bind_int(q, 7, p->srow.expired);
    return exec(s, Q_SILENCE_SAVE);
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

    if (exec(s, Q_BEGIN) < 0) {
        report(s, what);
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
        if (apply(s, s->states.items[i], false) < 0)
            goto rollback;
    what = "cannot save a silence";
    for (size_t i = 0; i < s->silences.n; i++)
        if (apply_silence(s, s->silences.items[i]) < 0)
            goto rollback;
    what = "cannot write the outbox";
    for (size_t i = 0; i < s->deliveries.n; i++)
        if (apply(s, s->deliveries.items[i], true) < 0)
            goto rollback;
    what = "cannot commit";
    if (exec(s, Q_COMMIT) < 0)
        goto rollback;
    set_free(&s->states);
    set_free(&s->deliveries);
    set_free(&s->silences);
    s->wipe = false;
    return 0;
rollback:
    report(s, what);
    exec(s, Q_ROLLBACK);
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
        schedule(s, RETRY_US - (now - s->failed_at_us));
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
    sqlite3_stmt *probe;
    if (sqlite3_prepare_v2(s->db, "SELECT told_state FROM target_state", -1, &probe, NULL) ==
        SQLITE_OK)
        sqlite3_finalize(probe);
    else if ((rc = sqlite3_exec(s->db, migrate_2, NULL, NULL, NULL)) != SQLITE_OK) {
        errbuf_set(err, errlen, "cannot add the columns of schema 2 to %s: %s", s->path,
                   sqlite3_errmsg(s->db));
        return rc;
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

static const char *column_text(sqlite3_stmt *q, int i)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    return t ? (const char *)t : "";
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
        cb(column_text(q, 0), &saved, &hold, arg);
    }
    sqlite3_reset(q);
    if (rc != SQLITE_DONE) {
        report(s, "cannot read target states");
        return -1;
    }
    return 0;
}

void store_state_save(struct store *s, const char *name, const struct tstate_saved *v,
                      const struct hold_saved *hold)
{
    struct pending *p = entry(&s->states, name);

    pending_clear(p);
    p->state = *v;
    if (hold)
        p->hold = *hold;
    p->state.location = dup_or_null(v->location);
    p->op = OP_PUT;
    schedule(s, 0);
}

void store_state_delete(struct store *s, const char *name)
{
    struct pending *p = entry(&s->states, name);

    pending_clear(p);
    p->op = OP_DELETE;
    schedule(s, 0);
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
            .last_error = sqlite3_column_type(q, 8) == SQLITE_NULL ? NULL : column_text(q, 8),
        };
        cb(&row, arg);
    }
    sqlite3_reset(q);
    if (rc != SQLITE_DONE) {
        report(s, "cannot read the outbox");
        return -1;
    }
    return 0;
}

void store_outbox_add(struct store *s, const struct delivery_row *row)
{
    struct pending *p = entry(&s->deliveries, row->id);

    pending_clear(p);
    p->op = OP_PUT;
    p->row = *row;
    p->row.id = NULL;
    p->row.webhook = dup_or_null(row->webhook);
    p->row.event = dup_or_null(row->event);
    p->row.target = dup_or_null(row->target);
    p->row.body = dup_or_null(row->body);
    p->row.last_error = dup_or_null(row->last_error);
    schedule(s, 0);
}

void store_outbox_update(struct store *s, const char *id, unsigned attempts, int64_t next_ms,
                         const char *last_error)
{
    struct pending *p = entry(&s->deliveries, id);

    if (p->op == OP_DELETE)
        return;
    if (p->op == OP_NONE)
        p->op = OP_UPDATE; /* the row is in the database: these columns only */
    p->row.attempts = attempts;
    p->row.next_ms = next_ms;
    free((char *)p->row.last_error);
    p->row.last_error = dup_or_null(last_error);
    schedule(s, 0);
}

void store_outbox_delete(struct store *s, const char *id)
{
    struct pending *p = entry(&s->deliveries, id);

    pending_clear(p);
    p->op = OP_DELETE;
    schedule(s, 0);
}

int store_silence_load(struct store *s, store_silence_cb cb, void *arg)
{
    sqlite3_stmt *q = s->q[Q_SILENCE_LOAD];
    int rc;

    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct silence_row row = {
            .id = (uint64_t)sqlite3_column_int64(q, 0),
            .target = sqlite3_column_type(q, 1) == SQLITE_NULL ? NULL : column_text(q, 1),
            .labels = sqlite3_column_type(q, 2) == SQLITE_NULL ? NULL : column_text(q, 2),
            .comment = column_text(q, 3),
            .start_ms = sqlite3_column_int64(q, 4),
            .end_ms = sqlite3_column_int64(q, 5),
            .expired = sqlite3_column_int(q, 6) != 0,
        };
        cb(&row, arg);
    }
    sqlite3_reset(q);
    if (rc != SQLITE_DONE) {
        report(s, "cannot read the silences");
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
    struct pending *p = entry(&s->silences, silence_key(row->id, key, sizeof(key)));

    pending_clear(p);
    p->op = OP_PUT;
    p->srow = *row;
    p->srow.target = dup_or_null(row->target);
    p->srow.labels = dup_or_null(row->labels);
    p->srow.comment = dup_or_null(row->comment);
    schedule(s, 0);
}

void store_silence_delete(struct store *s, uint64_t id)
{
    char key[24];
    struct pending *p = entry(&s->silences, silence_key(id, key, sizeof(key)));

    pending_clear(p);
    p->op = OP_DELETE;
    schedule(s, 0);
}
