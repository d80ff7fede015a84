/* What the history database's writer (histdb.c) and readers
 * (histread.c) share: the handle, the queue of what the loop handed over,
 * and the table layout. Not for other modules.
 *
 * The bucket tables (minutes, hours, days) are keyed by time first, then
 * target: each minute's buckets of every target land side by side at the
 * end of the table, so a batch writes a few pages, not one per target,
 * and compaction and retention delete ranges. Reads of one target look
 * up each unit by key. Hours are folded from minutes once an hour is
 * over (meta hours_through: every hour before it is in hours), days from
 * hours once a day is over (days_through); a bucket that comes later for
 * an hour or day already folded is added there too. */
#ifndef UPMON_HISTDB_IMPL_H
#define UPMON_HISTDB_IMPL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "histdb.h"
#include "util.h"

#define MINUTE_MS ((int64_t)60 * 1000)
#define HOUR_MS   (60 * MINUTE_MS)
#define DAY_MS    (24 * HOUR_MS)

/* Something handed over by the loop, waiting to be written. */
struct qitem {
    uint64_t batch; /* 0: waiting; else the batch that writes it */
    bool is_incident;
    union {
        struct hbucket b; /* a minute */
        struct incident inc;
    } u;
    char target[];
};

/* The reads the loop makes, on its own connection. */
enum rstmt {
    R_BEGIN,
    R_END,
    R_META,
    R_TARGET_ID,
    R_TARGETS,
    R_MINUTE,
    R_HOUR,
    R_DAY,
    R_HOURS_FROM,
    R_MINUTES_FROM,
    R_DAYS_FROM,
    R_INCIDENTS,
    R_INCIDENTS_OF,
    R_INCIDENTS_ALL,
    R_COUNT
};

struct histdb {
    char *path;
    sqlite3 *rdb; /* the loop's */
    sqlite3_stmt *r[R_COUNT];

    pthread_t thread;
    bool started;
    sqlite3 *wdb; /* the writer thread's */
    sqlite3_stmt **w;
    struct strmap ids; /* target name (owned) -> id, the writer's cache */
    int64_t hours_through, days_through;
    bool healthy;
    int64_t retry_at_ms;

    pthread_mutex_t mu; /* guards what follows */
    pthread_cond_t cv;
    struct qitem **q;
    size_t nq, capq, nbuckets;
    uint64_t batch;   /* the last batch taken */
    uint64_t dropped; /* buckets refused while the queue was full */
    bool stop;
    int64_t retention_ms, compact_ms;
};

/* The columns of a bucket after start_ms and target, in order, and how
 * many there are. */
extern const char *const histdb_bucket_cols[];
#define HISTDB_NCOLS (4 + HIST_LAT_BUCKETS + 1)

/* A bucket's columns from a row, from column col on; false when the row
 * is not one (a worst state this upmond does not know). */
bool histdb_row_bucket(sqlite3_stmt *q, int col, struct hbucket *b);
/* An incident from a row of id, target, start_ms, end_ms, worst, codes,
 * errors (the target left out). */
void histdb_row_incident(sqlite3_stmt *q, struct incident *inc);

/* Adds b to *sum: counts added, maximum and worst kept. */
void histdb_bucket_add(struct hbucket *sum, const struct hbucket *b);

#define HISTDB_SCHEMA_VERSION 1

/* The SQL (to free) that makes the tables, that adds a bucket to a row of
 * table (made when missing), and that folds the rows of [?1, ?2) of one
 * table into a row at ?1 of another, per target. */
char *histdb_schema_sql(void);
char *histdb_put_sql(const char *table);
char *histdb_fold_sql(const char *from, const char *to);
/* worse(a, b) and the aggregate worst(s) over state names, which the
 * writes use. */
void histdb_add_functions(sqlite3 *db);

/* Prepares the loop's statements; -1 with err set. */
int histdb_prepare_reads(struct histdb *db, char *err, size_t errlen);
void histdb_finalize_reads(struct histdb *db);

#endif
