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

#include "log.h"
#include "util.h"

#define SCHEMA_VERSION 1

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
    Q_COUNT
};

static const char *const sql[Q_COUNT] = {
    [Q_BEGIN] = "BEGIN",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_STATE_SAVE] = "INSERT OR REPLACE INTO target_state (name, state, severity, location, "
                     "since_ms, notified_ms, cert_warned, slow, flapping) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [Q_STATE_DELETE] = "DELETE FROM target_state WHERE name = ?",
    [Q_STATE_LOAD] = "SELECT name, state, severity, location, since_ms, notified_ms, "
                     "cert_warned, slow, flapping FROM target_state",
    [Q_OUTBOX_ADD] = "INSERT OR REPLACE INTO outbox (id, webhook, event, target, body, "
                     "created_ms, next_ms, attempts, last_error) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [Q_OUTBOX_UPDATE] = "UPDATE outbox SET attempts = ?, next_ms = ?, last_error = ? "
                        "WHERE id = ?",
    [Q_OUTBOX_DELETE] = "DELETE FROM outbox WHERE id = ?",
    [Q_OUTBOX_LOAD] = "SELECT id, webhook, event, target, body, created_ms, next_ms, attempts, "
                      "last_error FROM outbox ORDER BY rowid",
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS target_state ("
    " name TEXT PRIMARY KEY, state TEXT NOT NULL, severity TEXT NOT NULL,"
    " location TEXT NOT NULL, since_ms INTEGER NOT NULL, notified_ms INTEGER NOT NULL,"
    " cert_warned INTEGER NOT NULL, slow INTEGER NOT NULL, flapping INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS outbox ("
    " id TEXT PRIMARY KEY, webhook TEXT NOT NULL, event TEXT NOT NULL, target TEXT NOT NULL,"
    " body TEXT NOT NULL, created_ms INTEGER NOT NULL, next_ms INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL, last_error TEXT);";

struct store {
    sqlite3 *db;
    sqlite3_stmt *q[Q_COUNT];
    int lockfd;
    char *path;
    struct event *commit_ev;
    bool in_txn;
    bool healthy;
    void (*on_commit)(void *);
    void *on_commit_arg;
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

static void commit_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    store_flush(arg);
}

/* Opens a transaction for this pass of the loop, if none is open. */
static void begin(struct store *s)
{
    struct timeval now = {0, 0};

    if (s->in_txn)
        return;
    /* The commit callback runs at the end of this pass either way: what
     * waits for it (webhook deliveries) goes ahead from memory when the
     * database fails. */
    evtimer_add(s->commit_ev, &now);
    if (exec(s, Q_BEGIN) < 0) {
        report(s, "cannot begin a transaction");
        return;
    }
    s->in_txn = true;
}

void store_flush(struct store *s)
{
    if (s->in_txn) {
        s->in_txn = false;
        if (exec(s, Q_COMMIT) < 0) {
            report(s, "cannot commit");
            exec(s, Q_ROLLBACK);
        } else if (!s->healthy) {
            log_notice("state database %s: writing again", s->path);
            s->healthy = true;
        }
    }
    evtimer_del(s->commit_ev);
    if (s->on_commit)
        s->on_commit(s->on_commit_arg);
}

void store_on_commit(struct store *s, void (*cb)(void *arg), void *arg)
{
    s->on_commit = cb;
    s->on_commit_arg = arg;
}

static int take_lock(const char *dir, char *err, size_t errlen)
{
    char *path = xasprintf("%s/upmon.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

    if (fd < 0) {
        errbuf_set(err, errlen, "cannot open %s: %s", path, strerror(errno));
        free(path);
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        errbuf_set(err, errlen, "%s is in use by another upmond (%s)", dir,
                   errno == EWOULDBLOCK ? "locked" : strerror(errno));
        close(fd);
        free(path);
        return -1;
    }
    free(path);
    return fd;
}

struct store *store_open(struct event_base *base, const char *dir, char *err, size_t errlen)
{
    struct store *s = xcalloc(1, sizeof(*s));
    char *msg = NULL;
    int version = 0;

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
    if (sqlite3_open_v2(s->path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        errbuf_set(err, errlen, "cannot open %s: %s", s->path,
                   s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(s->db, 1000);
    /* WAL with FULL sync: a committed row survives a crash of the daemon
     * or of the machine. Commits are batched per loop pass, so this costs
     * one fsync per burst of alerts. */
    if (sqlite3_exec(s->db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                     "PRAGMA foreign_keys=OFF;",
                     NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(s->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
        errbuf_set(err, errlen, "cannot set up %s: %s", s->path, msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        goto fail;
    }
    sqlite3_stmt *v;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &v, NULL) == SQLITE_OK) {
        if (sqlite3_step(v) == SQLITE_ROW)
            version = sqlite3_column_int(v, 0);
        sqlite3_finalize(v);
    }
    if (version > SCHEMA_VERSION) {
        errbuf_set(err, errlen, "%s was written by a newer upmond (schema %d, this one knows %d)",
                   s->path, version, SCHEMA_VERSION);
        goto fail;
    }
    if (version < SCHEMA_VERSION)
        sqlite3_exec(s->db, "PRAGMA user_version=1", NULL, NULL, NULL);
    for (int i = 0; i < Q_COUNT; i++) {
        if (sqlite3_prepare_v3(s->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->q[i], NULL) !=
            SQLITE_OK) {
            errbuf_set(err, errlen, "cannot prepare a statement on %s: %s", s->path,
                       sqlite3_errmsg(s->db));
            goto fail;
        }
    }
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
    if (s->in_txn) {
        s->on_commit = NULL;
        store_flush(s);
    }
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(s->q[i]);
    if (s->db)
        sqlite3_close(s->db);
    if (s->commit_ev)
        event_free(s->commit_ev);
    if (s->lockfd >= 0)
        close(s->lockfd);
    free(s->path);
    free(s);
}

static void bind_text(sqlite3_stmt *q, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, i);
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
        cb(column_text(q, 0), &saved, arg);
    }
    sqlite3_reset(q);
    if (rc != SQLITE_DONE) {
        report(s, "cannot read target states");
        return -1;
    }
    return 0;
}

void store_state_save(struct store *s, const char *name, const struct tstate_saved *v)
{
    sqlite3_stmt *q = s->q[Q_STATE_SAVE];

    begin(s);
    bind_text(q, 1, name);
    bind_text(q, 2, state_name(v->state));
    bind_text(q, 3, codes_severity_name(v->severity));
    bind_text(q, 4, v->location ? v->location : "");
    sqlite3_bind_int64(q, 5, v->since_ms);
    sqlite3_bind_int64(q, 6, v->notified_ms);
    sqlite3_bind_int64(q, 7, v->cert_warned);
    sqlite3_bind_int(q, 8, v->slow);
    sqlite3_bind_int(q, 9, v->flapping);
    if (exec(s, Q_STATE_SAVE) < 0)
        report(s, "cannot save a target state");
}

/* Deletes the row of one key (the statement's only parameter). */
static void delete_row(struct store *s, enum stmt q, const char *key, const char *what)
{
    begin(s);
    bind_text(s->q[q], 1, key);
    if (exec(s, q) < 0)
        report(s, what);
}

void store_state_delete(struct store *s, const char *name)
{
    delete_row(s, Q_STATE_DELETE, name, "cannot delete a target state");
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
    sqlite3_stmt *q = s->q[Q_OUTBOX_ADD];

    begin(s);
    bind_text(q, 1, row->id);
    bind_text(q, 2, row->webhook);
    bind_text(q, 3, row->event);
    bind_text(q, 4, row->target);
    bind_text(q, 5, row->body);
    sqlite3_bind_int64(q, 6, row->created_ms);
    sqlite3_bind_int64(q, 7, row->next_ms);
    sqlite3_bind_int(q, 8, (int)row->attempts);
    bind_text(q, 9, row->last_error);
    if (exec(s, Q_OUTBOX_ADD) < 0)
        report(s, "cannot add a delivery to the outbox");
}

void store_outbox_update(struct store *s, const char *id, unsigned attempts, int64_t next_ms,
                         const char *last_error)
{
    sqlite3_stmt *q = s->q[Q_OUTBOX_UPDATE];

    begin(s);
    sqlite3_bind_int(q, 1, (int)attempts);
    sqlite3_bind_int64(q, 2, next_ms);
    bind_text(q, 3, last_error);
    bind_text(q, 4, id);
    if (exec(s, Q_OUTBOX_UPDATE) < 0)
        report(s, "cannot update a delivery");
}

void store_outbox_delete(struct store *s, const char *id)
{
    delete_row(s, Q_OUTBOX_DELETE, id, "cannot remove a delivery");
}
