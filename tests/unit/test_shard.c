/* Shards: every name has exactly one owner, growing from N to N + 1
 * shards moves about 1/(N + 1) of the names and only to the new shard,
 * and the owners are the same on every machine (fixed values below, the
 * same on any architecture since the hash is byte-wise and 64-bit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shard.h"
#include "tmpdir.h"

#define NAMES 10000

static char names[NAMES][32];

static int setup(void **state)
{
    (void)state; /* called directly too */
    for (int i = 0; i < NAMES; i++)
        snprintf(names[i], sizeof(names[i]), "site-%d.example.com", i);
    return 0;
}

static void test_parse(void **state)
{
    struct shard s = {9, 9};

    (void)state;
    assert_int_equal(shard_parse("1/3", &s), 0);
    assert_int_equal(s.index, 1);
    assert_int_equal(s.count, 3);
    assert_int_equal(shard_parse("1000/1000", &s), 0);
    assert_int_equal(s.index, 1000);
    const char *bad[] = {
        "",     "3",    "0/3",  "4/3",   "1/0", "1/1001", "-1/3", "1/-3",
        " 1/3", "1/3 ", "1//3", "1/3/4", "a/3", "+1/3",   "1/3x", "99999999999999999999/3"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        s = (struct shard){7, 8};
        assert_int_equal(shard_parse(bad[i], &s), -1);
        assert_int_equal(s.index, 7); /* left alone */
        assert_int_equal(s.count, 8);
    }
}

/* Fixed owners: a change of the hash, the mixing or the tie rule shows
 * here, since shards of one list on different machines or versions would
 * then split it differently. */
static void test_stable(void **state)
{
    static const struct {
        const char *name;
        unsigned owner[5]; /* of 1 to 5 shards */
    } cases[] = {
        {"example.com", {1, 2, 2, 2, 2}},
        {"api", {1, 2, 3, 3, 3}},
        {"shop-fra", {1, 1, 1, 1, 1}},
        {"", {1, 1, 3, 3, 3}},
        {"www.example.org/health", {1, 2, 2, 2, 5}},
        {"\xc3\x9f-unicode", {1, 1, 1, 4, 5}},
    };

    (void)state;
    assert_int_equal(shard_weight("example.com", 1), 0x1b8b58aded3c7d00ull);
    assert_int_equal(shard_weight("api", 1), 0x9908503af36c7a06ull);
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
        for (unsigned n = 1; n <= 5; n++)
            assert_int_equal(shard_owner(cases[i].name, n), cases[i].owner[n - 1]);
}

static void test_one_owner(void **state)
{
    (void)state;
    for (unsigned n = 1; n <= 7; n++) {
        unsigned per[8] = {0};
        for (int i = 0; i < NAMES; i++) {
            unsigned owners = 0;
            for (unsigned k = 1; k <= n; k++) {
                struct shard s = {k, n};
                if (shard_owns(&s, names[i])) {
                    owners++;
                    per[k]++;
                }
            }
            assert_int_equal(owners, 1);
        }
        /* And evenly: each shard within 10% of its share. */
        for (unsigned k = 1; k <= n; k++) {
            assert_true(per[k] * n * 10 >= NAMES * 9);
            assert_true(per[k] * n * 10 <= NAMES * 11);
        }
    }
    /* Not sharded: everything is owned. */
    struct shard all = {0, 0};
    assert_true(shard_owns(&all, "anything"));
}

/* From N to N + 1: a name moves only to the new shard, and about
 * 1/(N + 1) of them do (within 15% of that). */
static void test_growth(void **state)
{
    (void)state;
    for (unsigned n = 1; n <= 9; n++) {
        unsigned moved = 0;
        for (int i = 0; i < NAMES; i++) {
            unsigned before = shard_owner(names[i], n), after = shard_owner(names[i], n + 1);
            if (before != after) {
                assert_int_equal(after, n + 1);
                moved++;
            }
        }
        double expect = (double)NAMES / (n + 1);
        assert_true(moved >= expect * 0.85);
        assert_true(moved <= expect * 1.15);
    }
    /* And back: removing the last shard moves only what it owned. */
    for (int i = 0; i < NAMES; i++) {
        unsigned four = shard_owner(names[i], 4);
        if (four != 4)
            assert_int_equal(shard_owner(names[i], 3), four);
    }
}

/* The configuration: every instance validates the whole list, then keeps
 * its shard's targets; --shard (env.shard) goes over instance.shard. */
static struct config *load(struct tmp *s, const char *instance, struct shard over, struct diags *d)
{
    char text[4096], path[128];
    int n = snprintf(text, sizeof(text), "%stargets:\n", instance);

    for (int i = 0; i < 12; i++)
        n += snprintf(text + n, sizeof(text) - (size_t)n,
                      "  - {name: %s, url: \"http://127.0.0.1:9/\"}\n", names[i]);
    write_file(s->dir, "main.yaml", text);
    snprintf(path, sizeof(path), "%s/main.yaml", s->dir);
    struct config_env env = s->env;
    env.shard = over;
    return config_load(path, &env, d);
}

static void test_config(void **state)
{
    struct tmp *s = *state;
    struct diags d = {0};
    char summary[256];
    unsigned seen[12] = {0};

    /* Unsharded: everything, no shard in the summary. */
    struct config *cfg = load(s, "instance: {location: fra1}\n", (struct shard){0, 0}, &d);
    assert_non_null(cfg);
    assert_string_equal(cfg->location, "fra1");
    assert_null(cfg->shard_spec);
    assert_int_equal(cfg->ntargets, 12);
    config_summary(cfg, summary, sizeof(summary));
    assert_null(strstr(summary, "shard"));
    config_free(cfg);

    /* The three shards of the file's 2/3 and of --shard split the list. */
    for (unsigned k = 1; k <= 3; k++) {
        struct shard over = {k == 2 ? 0 : k, k == 2 ? 0 : 3};
        cfg = load(s, "instance:\n  shard: 2/3\n", over, &d);
        assert_non_null(cfg);
        assert_null(cfg->location);
        assert_int_equal(cfg->shard.index, k);
        assert_int_equal(cfg->shard.count, 3);
        assert_int_equal(cfg->ntargets_all, 12);
        for (size_t i = 0; i < cfg->ntargets; i++) {
            assert_int_equal(shard_owner(cfg->targets[i].name, 3), k);
            for (int j = 0; j < 12; j++)
                seen[j] += strcmp(cfg->targets[i].name, names[j]) == 0;
        }
        char want[128];
        snprintf(want, sizeof(want), "; shard %u/3: owns %zu of 12 targets", k, cfg->ntargets);
        config_summary(cfg, summary, sizeof(summary));
        assert_non_null(strstr(summary, want));
        config_free(cfg);
    }
    for (int j = 0; j < 12; j++)
        assert_int_equal(seen[j], 1);

    /* A bad shard is an error of the file, for every instance alike. */
    assert_null(load(s, "instance: {shard: 4/3}\n", (struct shard){1, 3}, &d));
    assert_int_equal(d.n, 1);
    assert_non_null(strstr(d.msgs[0], "shard \"4/3\" must be I/N"));
    diags_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_stable),
        cmocka_unit_test(test_one_owner),
        cmocka_unit_test(test_growth),
    };
    const struct CMUnitTest config_tests[] = {
        cmocka_unit_test(test_config),
    };
    if (setup(NULL) != 0)
        return 1;
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    return failed + cmocka_run_group_tests(config_tests, make_tmp, remove_tmp);
}
