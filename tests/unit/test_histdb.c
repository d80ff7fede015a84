/* The history database (a shell module, so this test links the shell):
 * what the API reads (a series by day, hour and minute; incidents) is the
 * same whether the buckets are still queued or written, late minutes go
 * into the hours and days already folded, a target's history read alone
 * is the one read with all the others, and incident ids go on after a
 * reopen. Buckets are placed relative to the real clock, which the
 * writer reads. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "histdb.h"
#include "histdb_impl.h"

#define MIN  60000LL
#define HOUR (60 * MIN)
#define DAY  (24 * HOUR)

struct tmp {
    char dir[64];
};

static int make_tmp(void **state)
{
    struct tmp *t = calloc(1, sizeof(*t));

    snprintf(t->dir, sizeof(t->dir), "/tmp/upmon-histdb.XXXXXX");
    if (mkdtemp(t->dir) == NULL)
        return -1;
    *state = t;
    return 0;
}

static int unlink_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int remove_tmp(void **state)
{
    struct tmp *t = *state;

    nftw(t->dir, unlink_cb, 8, FTW_DEPTH | FTW_PHYS);
    free(t);
    return 0;
}

static struct config cfg = {
    .history = true,
    .history_retention_ms = 90 * DAY,
    .history_compact_after_ms = 2 * DAY,
};

static int64_t now_ms, this_hour, today;

static struct histdb *open_db(const char *dir)
{
    char err[256] = "";
    struct histdb *db = histdb_open(NULL, dir, &cfg, err, sizeof(err));

    if (db == NULL)
        fail_msg("histdb_open: %s", err);
    return db;
}

static struct hbucket minute(int64_t start, uint32_t probes, uint32_t failures,
                             enum target_state worst)
{
    struct hbucket b = {.start_ms = start,
                        .probes = probes,
                        .failures = failures,
                        .latency_sum_us = probes * 1000ULL,
                        .latency_max_us = 2000,
                        .worst = worst};
    b.lat[0] = probes;
    return b;
}

/* Three minutes of "shop": one yesterday, one three hours ago, one in
 * this hour; one of "blog". */
static const int64_t *starts(void)
{
    static int64_t s[3];
    s[0] = today - DAY + HOUR + 5 * MIN;
    s[1] = this_hour - 3 * HOUR + 7 * MIN;
    s[2] = this_hour;
    return s;
}

static void put_all(struct histdb *db)
{
    const int64_t *s = starts();
    struct hbucket b;

    b = minute(s[0], 6, 6, ST_UNREACHABLE);
    histdb_put_bucket(db, "shop", &b);
    b = minute(s[1], 6, 1, ST_SERVER_ERROR);
    histdb_put_bucket(db, "shop", &b);
    b = minute(s[2], 6, 0, ST_UP);
    histdb_put_bucket(db, "shop", &b);
    b = minute(s[2], 3, 0, ST_UP);
    histdb_put_bucket(db, "blog", &b);
}

/* The series by day, hour and minute, as put_all put them. */
static void check_series(struct histdb *db)
{
    const int64_t *s = starts();
    struct hbucket *v;
    size_t n;

    assert_int_equal(histdb_series(db, "shop", today - DAY, today + DAY, DAY, &v, &n), 0);
    assert_int_equal(n, 2);
    uint32_t want[2] = {0, 0}, fails[2] = {0, 0};
    for (int i = 0; i < 3; i++) {
        int d = s[i] >= today;
        want[d] += 6;
        fails[d] += i == 0 ? 6 : i == 1 ? 1 : 0;
    }
    for (int d = 0; d < 2; d++) {
        assert_int_equal(v[d].start_ms, today - DAY + d * DAY);
        assert_int_equal(v[d].probes, want[d]);
        assert_int_equal(v[d].failures, fails[d]);
    }
    assert_int_equal(v[0].worst, ST_UNREACHABLE);
    assert_int_equal(v[0].lat[0], want[0]);
    free(v);

    assert_int_equal(
        histdb_series(db, "shop", this_hour - 5 * HOUR, this_hour + HOUR, HOUR, &v, &n), 0);
    assert_int_equal(n, 6);
    for (size_t i = 0; i < n; i++) {
        uint32_t p = (i == 2 || i == 5) ? 6 : 0;
        assert_int_equal(v[i].probes, p);
    }
    assert_int_equal(v[2].worst, ST_SERVER_ERROR);
    assert_int_equal(v[2].latency_max_us, 2000);
    free(v);

    assert_int_equal(histdb_series(db, "shop", this_hour, this_hour + 10 * MIN, MIN, &v, &n), 0);
    assert_int_equal(n, 10);
    assert_int_equal(v[0].probes, 6);
    assert_int_equal(v[1].probes, 0);
    free(v);

    assert_int_equal(histdb_series(db, "blog", this_hour, this_hour + HOUR, HOUR, &v, &n), 0);
    assert_int_equal(v[0].probes, 3);
    free(v);
    assert_int_equal(histdb_series(db, "nobody", this_hour, this_hour + HOUR, HOUR, &v, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].probes, 0);
    free(v);

    /* Bounded: too many steps, or a step that is no whole minute. */
    assert_int_equal(histdb_series(db, "shop", 0, now_ms, MIN, &v, &n), -1);
    assert_int_equal(histdb_series(db, "shop", today, today + HOUR, 90000, &v, &n), -1);
}

static void series_queued_or_written(void **state)
{
    struct tmp *t = *state;
    struct histdb *db = open_db(t->dir);

    put_all(db);
    check_series(db); /* queued, or written meanwhile: the same */
    histdb_close(db);
    db = open_db(t->dir);
    check_series(db); /* written */
    histdb_close(db);
}

static void incidents_merged_and_numbered(void **state)
{
    struct tmp *t = *state;
    struct histdb *db = open_db(t->dir);
    uint64_t id = histdb_next_incident_id(db);
    struct incident a = {.id = id,
                         .start_ms = now_ms - 2 * HOUR,
                         .end_ms = now_ms - HOUR,
                         .worst = ST_SERVER_ERROR,
                         .ncodes = 2,
                         .codes = {503, 502},
                         .errors = 1u << PERR_TIMEOUT};
    struct incident b = {.id = id + 1,
                         .start_ms = now_ms - MIN,
                         .worst = ST_UNREACHABLE,
                         .errors = (1u << PERR_CONNECT) | (1u << PERR_TLS)};
    struct incident_row *rows;
    size_t n;

    histdb_put_incident(db, "shop", &a);
    histdb_put_incident(db, "blog", &b);
    assert_int_equal(histdb_incidents(db, NULL, 0, 10, &rows, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].target, "blog"); /* newest first */
    assert_int_equal(rows[0].inc.end_ms, 0);
    assert_string_equal(rows[1].target, "shop");
    histdb_rows_free(rows, n);
    histdb_close(db);

    db = open_db(t->dir);
    assert_int_equal(histdb_next_incident_id(db), id + 2);
    b.end_ms = now_ms; /* it closes: the queued change replaces the row */
    histdb_put_incident(db, "blog", &b);
    assert_int_equal(histdb_incidents(db, "blog", 0, 10, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].inc.end_ms, now_ms);
    assert_int_equal(rows[0].inc.errors, b.errors);
    histdb_rows_free(rows, n);
    assert_int_equal(histdb_incidents(db, "shop", 0, 10, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].inc.ncodes, 2);
    assert_int_equal(rows[0].inc.codes[1], 502);
    assert_int_equal(rows[0].inc.worst, ST_SERVER_ERROR);
    histdb_rows_free(rows, n);
    /* Before: only those that began earlier; a limit. */
    assert_int_equal(histdb_incidents(db, NULL, now_ms - HOUR, 10, &rows, &n), 0);
    assert_int_equal(n, 1);
    histdb_rows_free(rows, n);
    assert_int_equal(histdb_incidents(db, NULL, 0, 1, &rows, &n), 0);
    assert_int_equal(n, 1);
    histdb_rows_free(rows, n);
    histdb_close(db);
}

static struct htarget shop_all, blog_all;

static struct htarget *find(const char *name, void *arg)
{
    (void)arg;
    return strcmp(name, "shop") == 0 ? &shop_all : strcmp(name, "blog") == 0 ? &blog_all : NULL;
}

static void same(const struct htarget *a, const struct htarget *b)
{
    struct hspan da[HIST_DAYS], db[HIST_DAYS];

    assert_true(htarget_uptime(a, 24 * HOUR, now_ms) == htarget_uptime(b, 24 * HOUR, now_ms));
    assert_true(htarget_uptime(a, 7 * DAY, now_ms) == htarget_uptime(b, 7 * DAY, now_ms));
    htarget_days(a, now_ms, da, HIST_DAYS);
    htarget_days(b, now_ms, db, HIST_DAYS);
    assert_memory_equal(da, db, sizeof(da));
    assert_int_equal(a->nclosed, b->nclosed);
    assert_int_equal(a->open != NULL, b->open != NULL);
}

static void restore_one_or_all(void **state)
{
    struct tmp *t = *state;
    struct histdb *db = open_db(t->dir);
    struct htarget shop, blog;
    struct hspan d[2];

    histdb_close(db); /* what the tests before wrote */
    db = open_db(t->dir);
    htarget_init(&shop);
    htarget_init(&blog);
    htarget_init(&shop_all);
    htarget_init(&blog_all);
    histdb_restore(db, "shop", &shop, now_ms);
    histdb_restore(db, "blog", &blog, now_ms);
    histdb_restore_all(db, now_ms, find, NULL);
    same(&shop, &shop_all);
    same(&blog, &blog_all);

    /* put_all's: 18 probes, 7 failed, over 2 days; the hours hold the
     * 24 before this one. */
    htarget_days(&shop, now_ms, d, 2);
    assert_int_equal(d[0].probes + d[1].probes, 18);
    assert_int_equal(d[0].failures + d[1].failures, 7);
    assert_true(htarget_uptime(&shop, 7 * DAY, now_ms) == 11.0 / 18.0);
    bool first_in = starts()[0] >= this_hour - 24 * HOUR;
    assert_true(htarget_uptime(&shop, 24 * HOUR, now_ms) == (first_in ? 11.0 / 18.0 : 11.0 / 12.0));
    assert_int_equal(shop.nclosed, 1);
    assert_int_equal(blog.nclosed, 1);
    assert_null(blog.open);
    htarget_free(&shop);
    htarget_free(&blog);
    htarget_free(&shop_all);
    htarget_free(&blog_all);
    histdb_close(db);
}

static struct htarget *find_shop(const char *name, void *arg)
{
    (void)arg;
    return strcmp(name, "shop") == 0 ? &shop_all : NULL;
}

/* Among many targets with rows, one asked for (a reload that adds or
 * re-enables a few): read by itself, as histdb_restore reads it, not in a
 * pass over everyone's rows; the same history either way. */
static void restore_few_of_many(void **state)
{
    struct tmp *t = *state;
    struct histdb *db = open_db(t->dir);
    struct htarget shop;
    char name[16];

    for (int i = 0; i < 2 * HISTDB_RESTORE_RATIO; i++) {
        struct hbucket b = minute(this_hour - HOUR - i * MIN, 2, 1, ST_SERVER_ERROR);
        snprintf(name, sizeof(name), "other-%02d", i);
        histdb_put_bucket(db, name, &b);
    }
    histdb_close(db);
    db = open_db(t->dir);
    htarget_init(&shop);
    htarget_init(&shop_all);
    histdb_restore(db, "shop", &shop, now_ms);
    histdb_restore_all(db, now_ms, find_shop, NULL);
    same(&shop, &shop_all);
    assert_int_equal(shop_all.nclosed, 1);
    assert_true(htarget_uptime(&shop_all, 7 * DAY, now_ms) == 11.0 / 18.0);
    htarget_free(&shop);
    htarget_free(&shop_all);
    histdb_close(db);
}

/* Batches are numbered on from the last one written, not from 0 again: a
 * read made while the first batch after a reopen is written would take
 * its items for written (the database's number is higher) and miss
 * them. */
static void batches_go_on_after_a_reopen(void **state)
{
    struct tmp *t = *state;
    struct histdb *db = open_db(t->dir);
    struct hbucket b = minute(this_hour, 1, 0, ST_UP);

    histdb_put_bucket(db, "shop", &b);
    histdb_close(db); /* writes it: one batch at least */
    db = open_db(t->dir);
    pthread_mutex_lock(&db->mu);
    uint64_t batch = db->batch;
    pthread_mutex_unlock(&db->mu);
    assert_true(batch >= 1);
    histdb_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(series_queued_or_written),
        cmocka_unit_test(incidents_merged_and_numbered),
        cmocka_unit_test(restore_one_or_all),
        cmocka_unit_test(restore_few_of_many),
        cmocka_unit_test(batches_go_on_after_a_reopen),
    };

    now_ms = clock_wall_ms();
    this_hour = now_ms - now_ms % HOUR;
    today = now_ms - now_ms % DAY;
    return cmocka_run_group_tests(tests, make_tmp, remove_tmp);
}
