/* The history database's layout (histdb_impl.h): the SQL of its tables,
 * of a bucket written or folded, the SQL functions that take the worse of
 * two states, and the reading of a row. */
#include "histdb_impl.h"

#include <stdlib.h>
#include <string.h>

#include "state.h"

const char *const histdb_bucket_cols[] = {
    "probes",     "failures",  "latency_sum_us", "latency_max_us", "lat_25ms",
    "lat_50ms",   "lat_100ms", "lat_250ms",      "lat_500ms",      "lat_1s",
    "lat_2500ms", "lat_5s",    "lat_10s",        "lat_inf",        "worst",
};
_Static_assert(ARRAY_SIZE(histdb_bucket_cols) == HISTDB_NCOLS, "one column per field");
_Static_assert(HIST_LAT_BUCKETS == 10, "the lat_ columns follow hist_lat_bounds_us");

static void bucket_cols_sql(struct buf *b, const char *fmt)
{
    for (size_t i = 0; i < HISTDB_NCOLS; i++) {
        char *s =
            xasprintf(fmt, histdb_bucket_cols[i], histdb_bucket_cols[i], histdb_bucket_cols[i]);
        if (i)
            buf_append(b, ", ", 2);
        buf_append(b, s, strlen(s));
        free(s);
    }
}

/* How a bucket written again (a minute resumed after a restart, a late
 * one into a folded hour) adds to the row there. */
static void upsert_tail(struct buf *b)
{
    static const char head[] = " ON CONFLICT (start_ms, target) DO UPDATE SET ";
    buf_append(b, head, sizeof(head) - 1);
    for (size_t i = 0; i < HISTDB_NCOLS; i++) {
        const char *c = histdb_bucket_cols[i];
        char *s = strcmp(c, "worst") == 0 ? xasprintf("worst = worse(worst, excluded.worst)")
                  : strcmp(c, "latency_max_us") == 0
                      ? xasprintf("%s = max(%s, excluded.%s)", c, c, c)
                      : xasprintf("%s = %s + excluded.%s", c, c, c);
        if (i)
            buf_append(b, ", ", 2);
        buf_append(b, s, strlen(s));
        free(s);
    }
}

static const char *const tables[] = {"minutes", "hours", "days"};

char *histdb_schema_sql(void)
{
    struct buf b = {0};
    static const char head[] =
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)"
        " WITHOUT ROWID;"
        "INSERT OR IGNORE INTO meta VALUES ('batch', 0), ('hours_through', 0),"
        " ('days_through', 0), ('next_incident', 1);"
        "CREATE TABLE IF NOT EXISTS targets (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
        "CREATE TABLE IF NOT EXISTS incidents (id INTEGER PRIMARY KEY, target INTEGER NOT NULL,"
        " start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, worst TEXT NOT NULL,"
        " codes TEXT NOT NULL, errors TEXT NOT NULL);"
        "CREATE INDEX IF NOT EXISTS incidents_by_target ON incidents (target, start_ms);"
        "CREATE INDEX IF NOT EXISTS incidents_by_start ON incidents (start_ms);";

    buf_append(&b, head, sizeof(head) - 1);
    for (size_t t = 0; t < ARRAY_SIZE(tables); t++) {
        char *s = xasprintf("CREATE TABLE IF NOT EXISTS %s (start_ms INTEGER NOT NULL,"
                            " target INTEGER NOT NULL, ",
                            tables[t]);
        buf_append(&b, s, strlen(s));
        free(s);
        for (size_t i = 0; i < HISTDB_NCOLS; i++) {
            s = xasprintf("%s%s %s NOT NULL", i ? ", " : "", histdb_bucket_cols[i],
                          strcmp(histdb_bucket_cols[i], "worst") == 0 ? "TEXT" : "INTEGER");
            buf_append(&b, s, strlen(s));
            free(s);
        }
        static const char tail[] = ", PRIMARY KEY (start_ms, target)) WITHOUT ROWID;";
        buf_append(&b, tail, sizeof(tail) - 1);
    }
    return b.data;
}

char *histdb_put_sql(const char *table)
{
    struct buf b = {0};
    char *s = xasprintf("INSERT INTO %s (start_ms, target, ", table);

    buf_append(&b, s, strlen(s));
    free(s);
    bucket_cols_sql(&b, "%s");
    static const char mid[] = ") VALUES (?, ?";
    buf_append(&b, mid, sizeof(mid) - 1);
    for (size_t i = 0; i < HISTDB_NCOLS; i++)
        buf_append(&b, ", ?", 3);
    buf_append(&b, ")", 1);
    upsert_tail(&b);
    return b.data;
}

/* Sums the rows of one unit of from into one row of to, per target. */
char *histdb_fold_sql(const char *from, const char *to)
{
    struct buf b = {0};
    char *s = xasprintf("INSERT INTO %s (start_ms, target, ", to);

    buf_append(&b, s, strlen(s));
    free(s);
    bucket_cols_sql(&b, "%s");
    static const char mid[] = ") SELECT ?1, target, ";
    buf_append(&b, mid, sizeof(mid) - 1);
    for (size_t i = 0; i < HISTDB_NCOLS; i++) {
        const char *c = histdb_bucket_cols[i];
        s = xasprintf("%s%s(%s)", i ? ", " : "",
                      strcmp(c, "worst") == 0            ? "worst"
                      : strcmp(c, "latency_max_us") == 0 ? "max"
                                                         : "sum",
                      c);
        buf_append(&b, s, strlen(s));
        free(s);
    }
    s = xasprintf(" FROM %s WHERE start_ms >= ?1 AND start_ms < ?2 GROUP BY target", from);
    buf_append(&b, s, strlen(s));
    free(s);
    upsert_tail(&b);
    return b.data;
}

static enum target_state state_of(sqlite3_value *v)
{
    enum target_state s;
    const unsigned char *t = sqlite3_value_text(v);
    return t && state_parse((const char *)t, &s) == 0 ? s : ST_UNKNOWN;
}

/* worse(a, b): the worse of two states by name. */
static void worse_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    enum target_state a = state_of(argv[0]), b = state_of(argv[1]);
    (void)argc;
    sqlite3_result_text(ctx, state_name(hist_state_rank(b) > hist_state_rank(a) ? b : a), -1,
                        SQLITE_STATIC);
}

/* worst(s): the worst state of a group. */
static void worst_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    enum target_state *acc = sqlite3_aggregate_context(ctx, sizeof(*acc));
    enum target_state s = state_of(argv[0]);
    (void)argc;
    if (acc && hist_state_rank(s) > hist_state_rank(*acc))
        *acc = s;
}

static void worst_final(sqlite3_context *ctx)
{
    enum target_state *acc = sqlite3_aggregate_context(ctx, 0);
    sqlite3_result_text(ctx, state_name(acc ? *acc : ST_UNKNOWN), -1, SQLITE_STATIC);
}

bool histdb_row_bucket(sqlite3_stmt *q, int col, struct hbucket *b)
{
    enum target_state s;
    const unsigned char *w = sqlite3_column_text(q, col + HISTDB_NCOLS - 1);

    memset(b, 0, sizeof(*b));
    if (w == NULL || state_parse((const char *)w, &s) < 0)
        return false;
    b->probes = (uint32_t)sqlite3_column_int64(q, col);
    b->failures = (uint32_t)sqlite3_column_int64(q, col + 1);
    b->latency_sum_us = (uint64_t)sqlite3_column_int64(q, col + 2);
    b->latency_max_us = (uint32_t)sqlite3_column_int64(q, col + 3);
    for (int i = 0; i < HIST_LAT_BUCKETS; i++)
        b->lat[i] = (uint32_t)sqlite3_column_int64(q, col + 4 + i);
    b->worst = (uint8_t)s;
    return true;
}

void histdb_bucket_add(struct hbucket *sum, const struct hbucket *b)
{
    sum->probes += b->probes;
    sum->failures += b->failures;
    sum->latency_sum_us += b->latency_sum_us;
    if (b->latency_max_us > sum->latency_max_us)
        sum->latency_max_us = b->latency_max_us;
    for (int i = 0; i < HIST_LAT_BUCKETS; i++)
        sum->lat[i] += b->lat[i];
    if (hist_state_rank(b->worst) > hist_state_rank(sum->worst))
        sum->worst = b->worst;
}

void histdb_row_incident(sqlite3_stmt *q, struct incident *inc)
{
    enum target_state s = ST_UNKNOWN;
    const char *w = (const char *)sqlite3_column_text(q, 4);
    const char *codes = (const char *)sqlite3_column_text(q, 5);
    const char *errors = (const char *)sqlite3_column_text(q, 6);

    memset(inc, 0, sizeof(*inc));
    inc->id = (uint64_t)sqlite3_column_int64(q, 0);
    inc->start_ms = sqlite3_column_int64(q, 2);
    inc->end_ms = sqlite3_column_int64(q, 3);
    if (w)
        state_parse(w, &s);
    inc->worst = (uint8_t)s;
    for (const char *p = codes; p && *p && inc->ncodes < INCIDENT_CODES;) {
        char *end;
        long c = strtol(p, &end, 10);
        if (end == p)
            break;
        if (c > 0 && c < 1000)
            inc->codes[inc->ncodes++] = (uint16_t)c;
        p = *end == ',' ? end + 1 : end;
    }
    for (const char *p = errors; p && *p;) {
        size_t n = strcspn(p, ",");
        for (int e = 1; e < PERR_COUNT; e++) {
            const char *name = probe_error_name((enum probe_error)e);
            if (strlen(name) == n && strncmp(p, name, n) == 0)
                inc->errors |= 1u << e;
        }
        p += n + (p[n] == ',');
    }
}

void histdb_add_functions(sqlite3 *db)
{
    sqlite3_create_function(db, "worse", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, worse_fn,
                            NULL, NULL);
    sqlite3_create_function(db, "worst", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, NULL,
                            worst_step, worst_final);
}
