/* What the state database's commit machinery (store.c) and its table
 * reads and writes (store_rows.c) share: the handle, the statements, and
 * the writes waiting for a commit. Not for other modules. */
#ifndef UPMON_STORE_IMPL_H
#define UPMON_STORE_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <sqlite3.h>

#include "store.h"
#include "util.h"

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

void store_report(struct store *s, const char *what);
int store_exec(struct store *s, enum stmt q);
/* Commits at the end of this pass of the loop (delay 0), or when a failed
 * commit is due to be tried again. */
void store_schedule(struct store *s, int64_t delay_us);
void store_pending_clear(struct pending *p);
/* The entry of key, a new one (OP_NONE) if there is none. */
struct pending *store_entry(struct pending_set *set, const char *key);
/* Applies one pending write; -1 when the database refused it. */
int store_apply(struct store *s, const struct pending *p, bool delivery);
int store_apply_silence(struct store *s, const struct pending *p);

#endif
