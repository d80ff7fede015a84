/* /metrics: exact lines for a small view built by hand, label names and
 * values no scraper could misread whatever a configuration holds, the
 * format an Accept header gets, every metric documented in upmond(8),
 * and samples written out for promtool and an OpenMetrics parser to
 * check (tests/metrics). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "accept.h"
#include "metrics.h"

/* A view and everything it points to. */
struct fixture {
    struct config cfg;
    struct target_conf tc[2];
    struct kv labels[1];
    struct tstate ts[2];
    struct htarget h[2];
    struct view_target vt[2];
    struct view_webhook wh[1];
    uint64_t lateness[10001];
    struct view v;
};

/* "web", probed six times, up; "new", not probed yet; one webhook. */
static void small_view(struct fixture *f)
{
    memset(f, 0, sizeof(*f));
    f->labels[0] = (struct kv){.key = "team", .value = "ops"};
    f->tc[0] = (struct target_conf){.name = "web", .labels = f->labels, .nlabels = 1};
    f->tc[1] = (struct target_conf){.name = "new"};
    f->ts[0].s.state = ST_UP;
    f->ts[1].s.state = ST_UNKNOWN;

    struct htarget *h = &f->h[0];
    h->last = (struct hsample){
        .wall_ms = INT64_C(1700000000123), .total_us = 123456, .code = 200, .state = ST_UP};
    h->dns_us = 1000;
    h->connect_us = 2500;
    h->tls_us = -1;
    h->ttfb_us = 100000;
    h->cert_not_after = INT64_C(1800000000);
    h->by_state[ST_UP] = 5;
    h->by_state[ST_SERVER_ERROR] = 1;
    h->duration[0] = 3; /* at most 25 ms */
    h->duration[2] = 2; /* 50 to 100 ms */
    h->duration[HIST_LAT_BUCKETS - 1] = 1;
    h->duration_sum_us = 12345678;

    for (int i = 0; i < 2; i++)
        f->vt[i] = (struct view_target){.conf = &f->tc[i], .ts = &f->ts[i], .hist = &f->h[i]};
    f->wh[0] = (struct view_webhook){.name = "ops",
                                     .pending = 2,
                                     .delivered = 7,
                                     .retried = 3,
                                     .refused = 1,
                                     .expired = 0,
                                     .dropped = 4};
    f->lateness[0] = 5;     /* under 0.1 ms */
    f->lateness[4] = 2;     /* 0.4 to 0.5 ms */
    f->lateness[150] = 1;   /* 15 to 15.1 ms */
    f->lateness[10000] = 1; /* beyond 1 s */
    f->v = (struct view){
        .cfg = &f->cfg,
        .targets = f->vt,
        .ntargets = 2,
        .schedule = {.started = 10,
                     .completed = 9,
                     .late = 1,
                     .skipped = 2,
                     .dropped = 3,
                     .cancelled = 0,
                     .lateness = f->lateness,
                     .nlateness = 10001,
                     .bucket_us = 100,
                     .lateness_sum_us = 1234567,
                     .in_flight = 1},
        .webhooks = f->wh,
        .nwebhooks = 1,
        .outbox = 2,
        .started_ms = INT64_C(1699999000000),
        .reloads = 2,
        .reloads_failed = 1,
        .now_ms = INT64_C(1700000001000),
        .host = "probe1",
        .libcurl = "8.5.0",
    };
}

static char *render(const struct view *v, enum metrics_format f)
{
    struct buf b = {0};

    metrics_render(v, f, &b);
    return b.data;
}

#define L(target) "{target=\"" target "\""
static const char expected_text[] =
    "# HELP upmon_probe_success Whether the last probe's answer was one the target expects (1) "
    "or not (0).\n"
    "# TYPE upmon_probe_success gauge\n"
    "upmon_probe_success{target=\"web\",team=\"ops\"} 1\n"
    "# HELP upmon_probe_http_status_code The HTTP status code of the last probe's answer; 0 when "
    "none came.\n"
    "# TYPE upmon_probe_http_status_code gauge\n"
    "upmon_probe_http_status_code{target=\"web\",team=\"ops\"} 200\n"
    "# HELP upmon_probe_duration_seconds Time from the start of the last probe to the end of "
    "each phase it reached.\n"
    "# TYPE upmon_probe_duration_seconds gauge\n"
    "upmon_probe_duration_seconds{target=\"web\",team=\"ops\",phase=\"dns\"} 0.001\n"
    "upmon_probe_duration_seconds{target=\"web\",team=\"ops\",phase=\"connect\"} 0.0025\n"
    "upmon_probe_duration_seconds{target=\"web\",team=\"ops\",phase=\"first_byte\"} 0.1\n"
    "upmon_probe_duration_seconds{target=\"web\",team=\"ops\",phase=\"total\"} 0.123456\n"
    "# HELP upmon_probe_timestamp_seconds When the last probe started (Unix time).\n"
    "# TYPE upmon_probe_timestamp_seconds gauge\n"
    "upmon_probe_timestamp_seconds{target=\"web\",team=\"ops\"} 1700000000.123\n"
    "# HELP upmon_probe_latency_seconds Total time of the probes that had one, since the daemon "
    "started.\n"
    "# TYPE upmon_probe_latency_seconds histogram\n"
    "upmon_probe_latency_seconds_bucket{target=\"web\",team=\"ops\",le=\"0.025\"} 3\n"
    "upmon_probe_latency_seconds_bucket{target=\"web\",team=\"ops\",le=\"0.05\"} 3\n"
    "upmon_probe_latency_seconds_bucket{target=\"web\",team=\"ops\",le=\"0.1\"} 5\n"
    "upmon_probe_latency_seconds_bucket{target=\"web\",team=\"ops\",le=\"0.25\"} 5\n"
    "upmon_probe_latency_seconds_bucket{target=\"web\",team=\"ops\",le=\"0.5\"} 5\n"
    "upmon_probe_latency_seconds_bucket{target=\"web\",team=\"ops\",le=\"1.0\"} 5\n"
    "upmon_probe_latency_seconds_bucket{target=\"web\",team=\"ops\",le=\"2.5\"} 5\n"
    "upmon_probe_latency_seconds_bucket{target=\"web\",team=\"ops\",le=\"5.0\"} 5\n"
    "upmon_probe_latency_seconds_bucket{target=\"web\",team=\"ops\",le=\"10.0\"} 5\n"
    "upmon_probe_latency_seconds_bucket{target=\"web\",team=\"ops\",le=\"+Inf\"} 6\n"
    "upmon_probe_latency_seconds_sum{target=\"web\",team=\"ops\"} 12.345678\n"
    "upmon_probe_latency_seconds_count{target=\"web\",team=\"ops\"} 6\n"
    "upmon_probe_latency_seconds_bucket{target=\"new\",le=\"0.025\"} 0\n"
    "upmon_probe_latency_seconds_bucket{target=\"new\",le=\"0.05\"} 0\n"
    "upmon_probe_latency_seconds_bucket{target=\"new\",le=\"0.1\"} 0\n"
    "upmon_probe_latency_seconds_bucket{target=\"new\",le=\"0.25\"} 0\n"
    "upmon_probe_latency_seconds_bucket{target=\"new\",le=\"0.5\"} 0\n"
    "upmon_probe_latency_seconds_bucket{target=\"new\",le=\"1.0\"} 0\n"
    "upmon_probe_latency_seconds_bucket{target=\"new\",le=\"2.5\"} 0\n"
    "upmon_probe_latency_seconds_bucket{target=\"new\",le=\"5.0\"} 0\n"
    "upmon_probe_latency_seconds_bucket{target=\"new\",le=\"10.0\"} 0\n"
    "upmon_probe_latency_seconds_bucket{target=\"new\",le=\"+Inf\"} 0\n"
    "upmon_probe_latency_seconds_sum{target=\"new\"} 0\n"
    "upmon_probe_latency_seconds_count{target=\"new\"} 0\n"
    "# HELP upmon_probes_total Probes since the daemon started, by the state their answer was "
    "judged.\n"
    "# TYPE upmon_probes_total counter\n"
    "upmon_probes_total{target=\"web\",team=\"ops\",result=\"up\"} 5\n"
    "upmon_probes_total{target=\"web\",team=\"ops\",result=\"redirecting\"} 0\n"
    "upmon_probes_total{target=\"web\",team=\"ops\",result=\"client_error\"} 0\n"
    "upmon_probes_total{target=\"web\",team=\"ops\",result=\"server_error\"} 1\n"
    "upmon_probes_total{target=\"web\",team=\"ops\",result=\"unreachable\"} 0\n"
    "upmon_probes_total{target=\"web\",team=\"ops\",result=\"content\"} 0\n"
    "upmon_probes_total{target=\"web\",team=\"ops\",result=\"unexpected\"} 0\n"
    "upmon_probes_total{target=\"new\",result=\"up\"} 0\n"
    "upmon_probes_total{target=\"new\",result=\"redirecting\"} 0\n"
    "upmon_probes_total{target=\"new\",result=\"client_error\"} 0\n"
    "upmon_probes_total{target=\"new\",result=\"server_error\"} 0\n"
    "upmon_probes_total{target=\"new\",result=\"unreachable\"} 0\n"
    "upmon_probes_total{target=\"new\",result=\"content\"} 0\n"
    "upmon_probes_total{target=\"new\",result=\"unexpected\"} 0\n"
    "# HELP upmon_target_state The target's confirmed state: 1 for the one it is in.\n"
    "# TYPE upmon_target_state gauge\n"
    "upmon_target_state{target=\"web\",team=\"ops\",upmon_target_state=\"unknown\"} 0\n"
    "upmon_target_state{target=\"web\",team=\"ops\",upmon_target_state=\"up\"} 1\n"
    "upmon_target_state{target=\"web\",team=\"ops\",upmon_target_state=\"redirecting\"} 0\n"
    "upmon_target_state{target=\"web\",team=\"ops\",upmon_target_state=\"client_error\"} 0\n"
    "upmon_target_state{target=\"web\",team=\"ops\",upmon_target_state=\"server_error\"} 0\n"
    "upmon_target_state{target=\"web\",team=\"ops\",upmon_target_state=\"unreachable\"} 0\n"
    "upmon_target_state{target=\"web\",team=\"ops\",upmon_target_state=\"content\"} 0\n"
    "upmon_target_state{target=\"web\",team=\"ops\",upmon_target_state=\"unexpected\"} 0\n"
    "upmon_target_state{target=\"new\",upmon_target_state=\"unknown\"} 1\n"
    "upmon_target_state{target=\"new\",upmon_target_state=\"up\"} 0\n"
    "upmon_target_state{target=\"new\",upmon_target_state=\"redirecting\"} 0\n"
    "upmon_target_state{target=\"new\",upmon_target_state=\"client_error\"} 0\n"
    "upmon_target_state{target=\"new\",upmon_target_state=\"server_error\"} 0\n"
    "upmon_target_state{target=\"new\",upmon_target_state=\"unreachable\"} 0\n"
    "upmon_target_state{target=\"new\",upmon_target_state=\"content\"} 0\n"
    "upmon_target_state{target=\"new\",upmon_target_state=\"unexpected\"} 0\n"
    "# HELP upmon_target_slow Whether the target is confirmed slower than its max_latency (1) or "
    "not (0).\n"
    "# TYPE upmon_target_slow gauge\n"
    "upmon_target_slow{target=\"web\",team=\"ops\"} 0\n"
    "upmon_target_slow{target=\"new\"} 0\n"
    "# HELP upmon_target_flapping Whether the target is flapping, its alerts held (1), or not "
    "(0).\n"
    "# TYPE upmon_target_flapping gauge\n"
    "upmon_target_flapping{target=\"web\",team=\"ops\"} 0\n"
    "upmon_target_flapping{target=\"new\"} 0\n"
    "# HELP upmon_cert_expiry_timestamp_seconds When the certificate that ends first in the "
    "chain the last probe saw ends.\n"
    "# TYPE upmon_cert_expiry_timestamp_seconds gauge\n"
    "upmon_cert_expiry_timestamp_seconds{target=\"web\",team=\"ops\"} 1800000000\n"
    "# HELP upmon_build_info The version of upmond and of the libcurl it runs.\n"
    "# TYPE upmon_build_info gauge\n"
    "upmon_build_info{version=\"" UPMON_VERSION "\",libcurl=\"8.5.0\"} 1\n"
    "# HELP upmon_instance_info This instance among several: its location and its shard of the "
    "targets.\n"
    "# TYPE upmon_instance_info gauge\n"
    "upmon_instance_info 1\n"
    "# HELP process_start_time_seconds When the daemon started (Unix time).\n"
    "# TYPE process_start_time_seconds gauge\n"
    "process_start_time_seconds 1699999000\n"
    "# HELP upmon_probes_started_total Probes started since the daemon started (or ended by a "
    "failed lookup).\n"
    "# TYPE upmon_probes_started_total counter\n"
    "upmon_probes_started_total 10\n"
    "# HELP upmon_probes_completed_total Probes that reported a result since the daemon "
    "started.\n"
    "# TYPE upmon_probes_completed_total counter\n"
    "upmon_probes_completed_total 9\n"
    "# HELP upmon_probes_late_total Probes started more than 10 ms after their plan.\n"
    "# TYPE upmon_probes_late_total counter\n"
    "upmon_probes_late_total 1\n"
    "# HELP upmon_probes_cancelled_total Probes stopped in flight by a reload or the shutdown.\n"
    "# TYPE upmon_probes_cancelled_total counter\n"
    "upmon_probes_cancelled_total 0\n"
    "# HELP upmon_schedule_missed_runs_total Planned runs not made: skipped (the previous probe "
    "still ran) or dropped (the loop fell behind).\n"
    "# TYPE upmon_schedule_missed_runs_total counter\n"
    "upmon_schedule_missed_runs_total{reason=\"skipped\"} 2\n"
    "upmon_schedule_missed_runs_total{reason=\"dropped\"} 3\n"
    "# HELP upmon_probes_in_flight Probes running now.\n"
    "# TYPE upmon_probes_in_flight gauge\n"
    "upmon_probes_in_flight 1\n"
    "# HELP upmon_schedule_lateness_seconds How long after its plan each probe started.\n"
    "# TYPE upmon_schedule_lateness_seconds histogram\n"
    "upmon_schedule_lateness_seconds_bucket{le=\"0.0001\"} 5\n"
    "upmon_schedule_lateness_seconds_bucket{le=\"0.0005\"} 7\n"
    "upmon_schedule_lateness_seconds_bucket{le=\"0.001\"} 7\n"
    "upmon_schedule_lateness_seconds_bucket{le=\"0.0025\"} 7\n"
    "upmon_schedule_lateness_seconds_bucket{le=\"0.005\"} 7\n"
    "upmon_schedule_lateness_seconds_bucket{le=\"0.01\"} 7\n"
    "upmon_schedule_lateness_seconds_bucket{le=\"0.025\"} 8\n"
    "upmon_schedule_lateness_seconds_bucket{le=\"0.05\"} 8\n"
    "upmon_schedule_lateness_seconds_bucket{le=\"0.1\"} 8\n"
    "upmon_schedule_lateness_seconds_bucket{le=\"0.25\"} 8\n"
    "upmon_schedule_lateness_seconds_bucket{le=\"0.5\"} 8\n"
    "upmon_schedule_lateness_seconds_bucket{le=\"1.0\"} 8\n"
    "upmon_schedule_lateness_seconds_bucket{le=\"+Inf\"} 9\n"
    "upmon_schedule_lateness_seconds_sum 1.234567\n"
    "upmon_schedule_lateness_seconds_count 9\n"
    "# HELP upmon_outbox_deliveries Webhook deliveries not yet done, every webhook.\n"
    "# TYPE upmon_outbox_deliveries gauge\n"
    "upmon_outbox_deliveries 2\n"
    "# HELP upmon_webhook_pending_deliveries Deliveries of the webhook waiting, in flight or "
    "parked now.\n"
    "# TYPE upmon_webhook_pending_deliveries gauge\n"
    "upmon_webhook_pending_deliveries{webhook=\"ops\"} 2\n"
    "# HELP upmon_webhook_deliveries_total What became of the webhook's deliveries and attempts "
    "since the daemon started.\n"
    "# TYPE upmon_webhook_deliveries_total counter\n"
    "upmon_webhook_deliveries_total{webhook=\"ops\",outcome=\"delivered\"} 7\n"
    "upmon_webhook_deliveries_total{webhook=\"ops\",outcome=\"retried\"} 3\n"
    "upmon_webhook_deliveries_total{webhook=\"ops\",outcome=\"refused\"} 1\n"
    "upmon_webhook_deliveries_total{webhook=\"ops\",outcome=\"expired\"} 0\n"
    "upmon_webhook_deliveries_total{webhook=\"ops\",outcome=\"dropped\"} 4\n"
    "# HELP upmon_config_last_reload_successful Whether the last configuration load was applied "
    "(1) or refused (0).\n"
    "# TYPE upmon_config_last_reload_successful gauge\n"
    "upmon_config_last_reload_successful 1\n"
    "# HELP upmon_config_last_reload_timestamp_seconds When the configuration was last loaded, "
    "at start or by a reload.\n"
    "# TYPE upmon_config_last_reload_timestamp_seconds gauge\n"
    "upmon_config_last_reload_timestamp_seconds 1699999000\n"
    "# HELP upmon_config_reloads_total Reloads since the daemon started, by whether they were "
    "applied.\n"
    "# TYPE upmon_config_reloads_total counter\n"
    "upmon_config_reloads_total{result=\"success\"} 1\n"
    "upmon_config_reloads_total{result=\"failure\"} 1\n";

/* Every line of the text format, in order. */
static void text_lines_exact(void **state)
{
    struct fixture *f = malloc(sizeof(*f));
    (void)state;

    small_view(f);
    char *got = render(&f->v, METRICS_TEXT);
    assert_string_equal(got, expected_text);
    free(got);
    free(f);
}

/* Whether line (without its newline) is one of text's lines. */
static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);

    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return true;
    return false;
}

/* OpenMetrics: TYPE, UNIT and HELP by the family's own name; counters
 * sampled as _total, the state as a stateset, the build as an info; the
 * samples as in the text format; # EOF last. */
static void openmetrics_lines(void **state)
{
    struct fixture *f = malloc(sizeof(*f));
    (void)state;

    small_view(f);
    char *om = render(&f->v, METRICS_OPENMETRICS);
    char *text = render(&f->v, METRICS_TEXT);
    static const char *const want[] = {
        "# TYPE upmon_probe_duration_seconds gauge",
        "# UNIT upmon_probe_duration_seconds seconds",
        "# HELP upmon_probe_duration_seconds Time from the start of the last probe to the end of "
        "each phase it reached.",
        "# TYPE upmon_probes counter",
        "# HELP upmon_probes Probes since the daemon started, by the state their answer was "
        "judged.",
        "upmon_probes_total{target=\"web\",team=\"ops\",result=\"up\"} 5",
        "# TYPE upmon_target_state stateset",
        "upmon_target_state{target=\"new\",upmon_target_state=\"unknown\"} 1",
        "# TYPE upmon_build info",
        "upmon_build_info{version=\"" UPMON_VERSION "\",libcurl=\"8.5.0\"} 1",
        "# TYPE upmon_probe_latency_seconds histogram",
        "# UNIT upmon_probe_latency_seconds seconds",
        "upmon_probe_latency_seconds_bucket{target=\"web\",team=\"ops\",le=\"1.0\"} 5",
        "# TYPE process_start_time_seconds gauge",
        "# UNIT process_start_time_seconds seconds",
        "# TYPE upmon_webhook_deliveries counter",
        "upmon_webhook_deliveries_total{webhook=\"ops\",outcome=\"delivered\"} 7",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        if (!has_line(om, want[i]))
            fail_msg("missing: %s", want[i]);
    }
    assert_false(has_line(om, "# TYPE upmon_probes_total counter"));
    assert_false(has_line(text, "# EOF"));
    size_t n = strlen(om);
    assert_true(n > 6);
    assert_string_equal(om + n - 6, "# EOF\n");

    /* The samples are the same lines in both. */
    for (char *line = text; *line; line = strchr(line, '\n') + 1) {
        char *end = strchr(line, '\n');
        if (line[0] != '#') {
            *end = '\0';
            if (!has_line(om, line))
                fail_msg("not in OpenMetrics: %s", line);
            *end = '\n';
        }
    }
    free(om);
    free(text);
    free(f);
}

/* Labels a configuration cannot hold (a hand-built view can) and values
 * that would break a line: names are renamed by the documented rule,
 * values escaped, invalid UTF-8 replaced. */
static void hostile_labels(void **state)
{
    struct fixture *f = malloc(sizeof(*f));
    struct kv labels[] = {
        {.key = "job", .value = "a\"b"},          /* Prometheus attaches its own */
        {.key = "__meta", .value = "c\\d"},       /* reserved to Prometheus */
        {.key = "team-x", .value = "line\nnext"}, /* not a label name */
        {.key = "label_team_x", .value = "dup"},  /* the same name once renamed: left out */
        {.key = "9lives", .value = "\xff\xfe ok \xc3\xa9"},
        {.key = "le", .value = "0.5"},
        {.key = "target", .value = "other"},
        {.key = "Zone_1", .value = "as is"},
    };
    (void)state;

    small_view(f);
    f->tc[0].name = "we\"b\\\n";
    f->tc[0].labels = labels;
    f->tc[0].nlabels = sizeof(labels) / sizeof(labels[0]);
    f->wh[0].name = "o\"ps";
    char *text = render(&f->v, METRICS_TEXT);
    const char *want = "upmon_probe_success{target=\"we\\\"b\\\\\\n\",label_job=\"a\\\"b\","
                       "label___meta=\"c\\\\d\",label_team_x=\"line\\nnext\","
                       "label_9lives=\"\xef\xbf\xbd\xef\xbf\xbd ok \xc3\xa9\",label_le=\"0.5\","
                       "label_target=\"other\",Zone_1=\"as is\"} 1";
    if (!has_line(text, want))
        fail_msg("missing: %s\nin:\n%s", want, text);
    assert_true(has_line(text, "upmon_webhook_pending_deliveries{webhook=\"o\\\"ps\"} 2"));
    assert_null(strstr(text, "dup"));
    free(text);
    free(f);
}

/* An instance with a location: every sample carries it, first, and a
 * target label of that name gives way; the shard is on the instance's
 * info. Otherwise the same lines. */
static void location_on_every_sample(void **state)
{
    struct fixture *f = malloc(sizeof(*f));
    struct kv labels[] = {{.key = "location", .value = "rack 4"}, {.key = "team", .value = "ops"}};
    (void)state;

    small_view(f);
    char *plain = render(&f->v, METRICS_TEXT);
    f->cfg.location = "fra\"1";
    f->cfg.shard = (struct shard){2, 3};
    f->tc[0].labels = labels;
    f->tc[0].nlabels = 2;
    char *text = render(&f->v, METRICS_TEXT);
    size_t samples = 0;
    for (char *line = text; *line; line = strchr(line, '\n') + 1) {
        if (line[0] == '#')
            continue;
        samples++;
        char *brace = strchr(line, '{');
        if (brace == NULL || strncmp(brace, "{location=\"fra\\\"1\"", 17) != 0)
            fail_msg("without its location: %.*s", (int)(strchr(line, '\n') - line), line);
    }
    assert_true(samples > 100);
    assert_true(has_line(text, "upmon_probe_success{location=\"fra\\\"1\",target=\"web\","
                               "label_location=\"rack 4\",team=\"ops\"} 1"));
    assert_true(has_line(text, "upmon_probes_started_total{location=\"fra\\\"1\"} 10"));
    assert_true(has_line(text, "upmon_instance_info{location=\"fra\\\"1\",shard=\"2/3\"} 1"));
    assert_true(has_line(text, "upmon_webhook_deliveries_total{location=\"fra\\\"1\","
                               "webhook=\"ops\",outcome=\"delivered\"} 7"));
    /* Without a location, a target's own location label stays as it is. */
    f->cfg.location = NULL;
    char *own = render(&f->v, METRICS_TEXT);
    assert_true(has_line(own, "upmon_probe_success{target=\"web\",location=\"rack 4\","
                              "team=\"ops\"} 1"));
    assert_true(has_line(own, "upmon_instance_info{shard=\"2/3\"} 1"));
    assert_true(has_line(plain, "upmon_instance_info 1"));
    free(own);
    free(text);
    free(plain);
    free(f);
}

static void negotiation(void **state)
{
    static const struct {
        const char *accept;
        enum metrics_format want;
    } cases[] = {
        {"", METRICS_TEXT},
        {NULL, METRICS_TEXT},
        {"*/*", METRICS_TEXT},
        {"text/plain", METRICS_TEXT},
        {"application/openmetrics-text", METRICS_OPENMETRICS},
        {"Application/OpenMetrics-Text; Version=1.0.0", METRICS_OPENMETRICS},
        {"application/openmetrics-text; version=\"1.0.0\"", METRICS_OPENMETRICS},
        /* What Prometheus 2.42 sends. */
        {"application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
         "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
         METRICS_OPENMETRICS},
        /* Scrapers that want the text format first. */
        {"text/plain;version=0.0.4;q=0.9,application/openmetrics-text;version=1.0.0;q=0.5",
         METRICS_TEXT},
        {"application/openmetrics-text;q=0.2, text/plain", METRICS_TEXT},
        /* A version not spoken matches nothing. */
        {"application/openmetrics-text;version=0.0.1", METRICS_TEXT},
        {"application/openmetrics-text;version=2.0.0, text/plain;q=0.1", METRICS_TEXT},
        {"text/plain;version=0.0.3, application/openmetrics-text;q=0.1", METRICS_OPENMETRICS},
        /* q=0 refuses; the most specific range decides. */
        {"application/openmetrics-text;q=0, */*", METRICS_TEXT},
        {"text/*;q=0, application/*;q=0.3", METRICS_OPENMETRICS},
        {"text/plain;q=0, */*", METRICS_OPENMETRICS},
        {"*/*;q=0.5, application/openmetrics-text;version=1.0.0;q=0.6", METRICS_OPENMETRICS},
        /* A tie goes to the range listed first. */
        {"application/openmetrics-text, text/plain", METRICS_OPENMETRICS},
        {"text/plain, application/openmetrics-text", METRICS_TEXT},
        /* Parameters after q are extensions, not the version. */
        {"application/openmetrics-text;q=0.9;version=9, text/plain;q=0.8", METRICS_OPENMETRICS},
        /* Malformed ranges count for nothing; the others still do. */
        {"application/openmetrics-text;q=2, text/plain;q=0.1", METRICS_TEXT},
        {"application/openmetrics-text;q=0.5x, text/plain;q=0.1", METRICS_TEXT},
        {"garbage, application/openmetrics-text", METRICS_OPENMETRICS},
        {"application/openmetrics-text;version=\"1.0.0, text/plain", METRICS_TEXT},
        {";;;,,,/", METRICS_TEXT},
        {"application/openmetrics-text ; q=0.7 , text/plain ; q=0.6", METRICS_OPENMETRICS},
        {"*/plain", METRICS_TEXT},
        {"application/openmetrics-text;charset=utf-8;escaping=underscores", METRICS_OPENMETRICS},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (metrics_negotiate(cases[i].accept) != cases[i].want)
            fail_msg("Accept: %s", cases[i].accept ? cases[i].accept : "(none)");
    assert_string_equal(metrics_content_type(METRICS_OPENMETRICS),
                        "application/openmetrics-text; version=1.0.0; charset=utf-8");
    assert_string_equal(metrics_content_type(METRICS_TEXT),
                        "text/plain; version=0.0.4; charset=utf-8");
}

/* The negotiation itself, with more offers than /metrics makes. */
static void accept_offers(void **state)
{
    static const struct accept_offer offers[] = {
        {"text", "html", NULL},
        {"application", "json", NULL},
        {"text", "plain", "1"},
    };
    (void)state;

    assert_int_equal(accept_choose(NULL, offers, 3), 0);
    assert_int_equal(accept_choose("image/png", offers, 3), 0);
    /* One range, two offers: the first offer. */
    assert_int_equal(accept_choose("text/*", offers, 3), 0);
    assert_int_equal(accept_choose("text/*;q=0.5, text/plain", offers, 3), 2);
    assert_int_equal(accept_choose("application/json, text/html", offers, 3), 1);
    assert_int_equal(accept_choose("text/html;q=0.1, */*;q=0.2", offers, 3), 1);
    /* An offer with no version is not matched by a range that names one. */
    assert_int_equal(accept_choose("text/html;version=1, text/plain;version=1;q=0.5", offers, 3),
                     2);
    assert_int_equal(accept_choose("text/plain;version=2, application/*;q=0.1", offers, 3), 1);
}

/* The handler answers in the format asked for, with its type. */
static void handler_negotiates(void **state)
{
    struct fixture *f = malloc(sizeof(*f));
    struct hrequest rq = {.path = "/metrics", .tail = "", .accept = "application/openmetrics-text"};
    struct hreply rp = {.status = 200};
    (void)state;

    small_view(f);
    metrics_handler(&f->v, &rq, &rp);
    assert_int_equal(rp.status, 200);
    assert_string_equal(rp.content_type, metrics_content_type(METRICS_OPENMETRICS));
    assert_non_null(strstr(rp.body.data, "# EOF\n"));
    buf_free(&rp.body);
    rq.accept = "";
    metrics_handler(&f->v, &rq, &rp);
    assert_string_equal(rp.content_type, metrics_content_type(METRICS_TEXT));
    assert_string_equal(rp.body.data, expected_text);
    buf_free(&rp.body);
    free(f);
}

/* The names the METRICS section of upmond(8) lists: each ".B NAME" that
 * follows a ".TP", NUL-separated, ending in an empty one. */
static char *man_metrics(void)
{
    FILE *fp = fopen(UPMON_SOURCE_DIR "/man/upmond.8", "r");
    struct buf b = {0};
    char line[4096];
    bool in = false, tp = false;

    assert_non_null(fp);
    while (fgets(line, sizeof(line), fp)) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, ".SH ", 4) == 0)
            in = strcmp(line, ".SH METRICS") == 0;
        else if (in && tp && strncmp(line, ".B ", 3) == 0)
            buf_append(&b, line + 3, strlen(line + 3) + 1);
        tp = strcmp(line, ".TP") == 0;
    }
    fclose(fp);
    buf_append(&b, "", 1);
    return b.data;
}

static bool listed(const char *names, const char *name)
{
    for (const char *p = names; *p; p += strlen(p) + 1)
        if (strcmp(p, name) == 0)
            return true;
    return false;
}

/* Every family the daemon exposes has its entry in the man page, and
 * every entry there is exposed: the small view has a sample of each. */
static void every_metric_documented(void **state)
{
    struct fixture *f = malloc(sizeof(*f));
    (void)state;

    small_view(f);
    char *text = render(&f->v, METRICS_TEXT);
    char *man = man_metrics();
    size_t families = 0, entries = 0;
    for (char *p = text; (p = strstr(p, "# TYPE ")) != NULL; p++) {
        char name[128];
        assert_int_equal(sscanf(p + 7, "%127s", name), 1);
        if (!listed(man, name))
            fail_msg("%s is not in upmond(8), METRICS", name);
        families++;
    }
    for (const char *p = man; *p; p += strlen(p) + 1) {
        char type[160];
        snprintf(type, sizeof(type), "# TYPE %s ", p);
        if (strstr(text, type) == NULL)
            fail_msg("upmond(8) lists %s, which is not exposed", p);
        entries++;
    }
    assert_int_equal(entries, families);
    assert_true(families > 20);
    free(man);
    free(text);
    free(f);
}

/* Writes path; the checks of tests/metrics read it. */
static void write_file(const char *path, const char *data)
{
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, strlen(data), fp), strlen(data));
    assert_int_equal(fclose(fp), 0);
}

/* The small view with hostile labels, in both formats, for promtool and
 * an OpenMetrics parser (ctest's metrics_promtool and
 * metrics_openmetrics). */
static void write_samples(void **state)
{
    struct fixture *f = malloc(sizeof(*f));
    struct kv labels[] = {
        {.key = "job", .value = "a\"b\\c\nd"},
        {.key = "team-x", .value = "\xff"},
        {.key = "team", .value = "ops"},
    };
    (void)state;

    small_view(f);
    f->tc[0].labels = labels;
    f->tc[0].nlabels = 3;
    f->tc[1].name = "ne\"w\\";
    f->ts[1].s.slow = true;
    f->v.reload_ms = INT64_C(1699999500000);
    f->v.reload_ok = false;
    char *text = render(&f->v, METRICS_TEXT);
    char *om = render(&f->v, METRICS_OPENMETRICS);
    write_file(UPMON_METRICS_SAMPLES "/metrics.txt", text);
    write_file(UPMON_METRICS_SAMPLES "/metrics.om", om);
    free(text);
    free(om);
    free(f);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* 10,000 targets, each with two labels: the number of lines it must
 * make, and the time it takes (printed, for the bench to compare; the
 * sanitizers make any bound meaningless here). */
static void ten_thousand_targets(void **state)
{
    enum { N = 10000 };
    struct fixture *f = malloc(sizeof(*f));
    struct target_conf *tc = calloc(N, sizeof(*tc));
    struct tstate *ts = calloc(N, sizeof(*ts));
    struct htarget *h = calloc(N, sizeof(*h));
    struct view_target *vt = calloc(N, sizeof(*vt));
    char(*names)[32] = calloc(N, sizeof(*names));
    struct kv labels[2] = {{.key = "team", .value = "web"}, {.key = "tier", .value = "front"}};
    (void)state;

    small_view(f);
    for (size_t i = 0; i < N; i++) {
        snprintf(names[i], sizeof(names[i]), "target-%05zu.example.com", i);
        tc[i] = (struct target_conf){.name = names[i], .labels = labels, .nlabels = 2};
        ts[i].s.state = ST_UP;
        h[i] = f->h[0];
        vt[i] = (struct view_target){.conf = &tc[i], .ts = &ts[i], .hist = &h[i]};
    }
    f->v.targets = vt;
    f->v.ntargets = N;

    struct timespec t0;
    struct buf b = {0};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    metrics_render(&f->v, METRICS_TEXT, &b);
    double took = seconds_since(&t0);

    /* Per target: success, code, 4 phases, time, 12 histogram lines, 7
     * results, 8 states, slow, flapping, certificate; the rest as
     * without targets. */
    size_t lines = 0, none = 0;
    for (size_t i = 0; i < b.len; i++)
        lines += b.data[i] == '\n';
    f->v.ntargets = 0;
    char *empty = render(&f->v, METRICS_TEXT);
    for (const char *p = empty; *p; p++)
        none += *p == '\n';
    free(empty);
    assert_int_equal(lines, none + N * (1 + 1 + 4 + 1 + 12 + 7 + 8 + 1 + 1 + 1));
    print_message("rendered %zu bytes, %zu lines for %d targets in %.1f ms\n", b.len, lines, N,
                  took * 1000);
    buf_free(&b);
    free(names);
    free(vt);
    free(h);
    free(ts);
    free(tc);
    free(f);
}

/* Targets of every kind: probed or not, with a certificate or not, with
 * no history or state at all, with labels that clash or need escaping. */
struct many {
    struct fixture f;
    struct target_conf tc[300];
    struct tstate ts[300];
    struct htarget h[300];
    struct view_target vt[300];
    char names[300][32];
};

static void many_view(struct many *m, size_t n)
{
    static struct kv labels[] = {
        {.key = "team", .value = "w\"e\\b\n"},
        {.key = "te-am", .value = "x"},
        {.key = "team", .value = "again"},
        {.key = "le", .value = "caf\xc3\xa9 \xff"},
    };

    small_view(&m->f);
    for (size_t i = 0; i < n; i++) {
        snprintf(m->names[i], sizeof(m->names[i]), "t%zu", i);
        m->tc[i] = (struct target_conf){.name = m->names[i], .labels = labels, .nlabels = i % 5};
        m->ts[i].s.state = (enum target_state)(i % ST_COUNT);
        m->ts[i].s.slow = i % 4 == 1;
        m->h[i] = m->f.h[0];
        if (i % 3 == 1)
            m->h[i].last.wall_ms = 0; /* not probed yet */
        if (i % 7 == 2)
            m->h[i].cert_not_after = 0;
        m->vt[i] = (struct view_target){.conf = &m->tc[i], .ts = &m->ts[i], .hist = &m->h[i]};
        if (i % 11 == 5)
            m->vt[i].ts = NULL, m->vt[i].hist = NULL;
    }
    m->f.v.targets = m->vt;
    m->f.v.ntargets = n;
}

/* Made in steps of any size, the exposition is the one made at once: each
 * step but the last ends after a whole target, with a line. */
static void steps_of_any_size(void **state)
{
    static const size_t sizes[] = {0, 1, 2, 100, 999, 4096, 65536, SIZE_MAX};
    struct many *m = malloc(sizeof(*m));
    (void)state;

    for (size_t n = 0; n <= 40; n += 20) {
        many_view(m, n);
        for (int f = METRICS_TEXT; f <= METRICS_OPENMETRICS; f++) {
            char *whole = render(&m->f.v, (enum metrics_format)f);
            for (size_t k = 0; k < ARRAY_SIZE(sizes); k++) {
                struct metrics_state *ms = metrics_start((enum metrics_format)f);
                struct buf b = {0};
                size_t steps = 0, from;
                bool more;
                do {
                    from = b.len;
                    more = metrics_step(&m->f.v, ms, &b, sizes[k]);
                    steps++;
                    assert_true(b.len > from);
                    assert_int_equal(b.data[b.len - 1], '\n');
                    if (more)
                        assert_true(b.len - from >= sizes[k]);
                } while (more);
                metrics_free(ms);
                assert_string_equal(b.data, whole);
                /* One step per target and family at least, when each is one. */
                if (sizes[k] <= 1)
                    assert_true(steps > 6 * n);
                if (sizes[k] == SIZE_MAX)
                    assert_int_equal(steps, 1);
                buf_free(&b);
            }
            free(whole);
        }
    }
    free(m);
}

/* The handler leaves a long answer in steps, which make the same text. */
static void handler_in_steps(void **state)
{
    struct many *m = malloc(sizeof(*m));
    struct hrequest rq = {.path = "/metrics", .tail = "", .accept = "application/openmetrics-text"};
    struct hreply rp = {.status = 200};
    (void)state;

    many_view(m, 300);
    char *whole = render(&m->f.v, METRICS_OPENMETRICS);
    assert_true(strlen(whole) > 2 * METRICS_STEP_BYTES);
    metrics_handler(&m->f.v, &rq, &rp);
    assert_non_null(rp.more);
    assert_true(rp.body.len >= METRICS_STEP_BYTES && rp.body.len < strlen(whole));
    hreply_finish(&m->f.v, &rp);
    assert_null(rp.more);
    assert_null(rp.state);
    assert_string_equal(rp.body.data, whole);
    buf_free(&rp.body);
    /* Given up after the first part: the state is freed (the sanitizers
     * see a leak otherwise). */
    metrics_handler(&m->f.v, &rq, &rp);
    assert_non_null(rp.more);
    hreply_stop(&rp);
    assert_null(rp.more);
    buf_free(&rp.body);
    free(whole);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(text_lines_exact),   cmocka_unit_test(openmetrics_lines),
        cmocka_unit_test(hostile_labels),     cmocka_unit_test(location_on_every_sample),
        cmocka_unit_test(negotiation),        cmocka_unit_test(accept_offers),
        cmocka_unit_test(handler_negotiates), cmocka_unit_test(every_metric_documented),
        cmocka_unit_test(write_samples),      cmocka_unit_test(ten_thousand_targets),
        cmocka_unit_test(steps_of_any_size),  cmocka_unit_test(handler_in_steps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
