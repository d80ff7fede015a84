/* /metrics. Each family is written whole (OpenMetrics forbids
 * interleaving), so the per-target families each walk the targets; the
 * label set of every target is escaped once per scrape into one buffer
 * and copied from there into each of its lines. Lines are written
 * straight into the reply's buffer, one growth check each. 10,000 targets
 * make some 400,000 lines, tens of megabytes, and a scrape must not hold
 * the loop long: it is made in steps of about METRICS_STEP_BYTES, each
 * ending after a target, a cursor (family, target) saying where the next
 * one goes on. */
#include "metrics.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accept.h"
#include "exposition.h"
#include "history.h"
#include "state.h"

#ifndef UPMON_VERSION
#define UPMON_VERSION "unknown"
#endif

enum fam {
    F_SUCCESS,
    F_STATUS,
    F_DURATION,
    F_PROBE_TIME,
    F_LATENCY,
    F_PROBES,
    F_STATE,
    F_SLOW,
    F_FLAPPING,
    F_CERT,
    F_BUILD,
    F_INSTANCE,
    F_START,
    F_STARTED,
    F_COMPLETED,
    F_LATE,
    F_CANCELLED,
    F_MISSED,
    F_IN_FLIGHT,
    F_LATENESS,
    F_OUTBOX,
    F_WH_PENDING,
    F_WH_DELIVERIES,
    F_RELOAD_OK,
    F_RELOAD_TIME,
    F_RELOADS,
    F_COUNT
};

static const struct expo_family families[F_COUNT] = {
    [F_SUCCESS] = {"upmon_probe_success", EXPO_GAUGE, false,
                   "Whether the last probe's answer was one the target expects (1) or not (0)."},
    [F_STATUS] = {"upmon_probe_http_status_code", EXPO_GAUGE, false,
                  "The HTTP status code of the last probe's answer; 0 when none came."},
    [F_DURATION] = {"upmon_probe_duration_seconds", EXPO_GAUGE, true,
                    "Time from the start of the last probe to the end of each phase it reached."},
    [F_PROBE_TIME] = {"upmon_probe_timestamp_seconds", EXPO_GAUGE, true,
                      "When the last probe started (Unix time)."},
    [F_LATENCY] = {"upmon_probe_latency_seconds", EXPO_HISTOGRAM, true,
                   "Total time of the probes that had one, since the daemon started."},
    [F_PROBES] = {"upmon_probes", EXPO_COUNTER, false,
                  "Probes since the daemon started, by the state their answer was judged."},
    [F_STATE] = {"upmon_target_state", EXPO_STATESET, false,
                 "The target's confirmed state: 1 for the one it is in."},
    [F_SLOW] = {"upmon_target_slow", EXPO_GAUGE, false,
                "Whether the target is confirmed slower than its max_latency (1) or not (0)."},
    [F_FLAPPING] = {"upmon_target_flapping", EXPO_GAUGE, false,
                    "Whether the target is flapping, its alerts held (1), or not (0)."},
    [F_CERT] = {"upmon_cert_expiry_timestamp_seconds", EXPO_GAUGE, true,
                "When the certificate that ends first in the chain the last probe saw ends."},
    [F_BUILD] = {"upmon_build", EXPO_INFO, false,
                 "The version of upmond and of the libcurl it runs."},
    [F_INSTANCE] = {"upmon_instance", EXPO_INFO, false,
                    "This instance among several: its location and its shard of the targets."},
    [F_START] = {"process_start_time_seconds", EXPO_GAUGE, true,
                 "When the daemon started (Unix time)."},
    [F_STARTED] = {"upmon_probes_started", EXPO_COUNTER, false,
                   "Probes started since the daemon started (or ended by a failed lookup)."},
    [F_COMPLETED] = {"upmon_probes_completed", EXPO_COUNTER, false,
                     "Probes that reported a result since the daemon started."},
    [F_LATE] = {"upmon_probes_late", EXPO_COUNTER, false,
                "Probes started more than 10 ms after their plan."},
    [F_CANCELLED] = {"upmon_probes_cancelled", EXPO_COUNTER, false,
                     "Probes stopped in flight by a reload or the shutdown."},
    [F_MISSED] = {"upmon_schedule_missed_runs", EXPO_COUNTER, false,
                  "Planned runs not made: skipped (the previous probe still ran) or dropped "
                  "(the loop fell behind)."},
    [F_IN_FLIGHT] = {"upmon_probes_in_flight", EXPO_GAUGE, false, "Probes running now."},
    [F_LATENESS] = {"upmon_schedule_lateness_seconds", EXPO_HISTOGRAM, true,
                    "How long after its plan each probe started."},
    [F_OUTBOX] = {"upmon_outbox_deliveries", EXPO_GAUGE, false,
                  "Webhook deliveries not yet done, every webhook."},
    [F_WH_PENDING] = {"upmon_webhook_pending_deliveries", EXPO_GAUGE, false,
                      "Deliveries of the webhook waiting, in flight or parked now."},
    [F_WH_DELIVERIES] = {"upmon_webhook_deliveries", EXPO_COUNTER, false,
                         "What became of the webhook's deliveries and attempts since the daemon "
                         "started."},
    [F_RELOAD_OK] = {"upmon_config_last_reload_successful", EXPO_GAUGE, false,
                     "Whether the last configuration load was applied (1) or refused (0)."},
    [F_RELOAD_TIME] = {"upmon_config_last_reload_timestamp_seconds", EXPO_GAUGE, true,
                       "When the configuration was last loaded, at start or by a reload."},
    [F_RELOADS] = {"upmon_config_reloads", EXPO_COUNTER, false,
                   "Reloads since the daemon started, by whether they were applied."},
};

/* Label names the metrics use themselves, or that Prometheus attaches to
 * what it scrapes: a target label of one of these names is renamed. */
static const char *const reserved_labels[] = {
    "target", "phase", "result", "le", "quantile", "upmon_target_state", "job", "instance",
};

/* The schedule lateness histogram's bounds, in microseconds: around the
 * 10 ms that counts a probe as late, up to the 1 s beyond which the
 * monitor keeps no finer count. */
static const int64_t lateness_bounds_us[] = {
    100, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000,
};

static const char *const outcomes[] = {"delivered", "retried", "refused", "expired", "dropped"};

struct out {
    struct expo e;
    struct buf wl;     /* a label set of the daemon's own */
    struct buf common; /* location="...", on every sample, or empty */
};

static bool name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* A target label's name as a metric label: as it is when it is a valid
 * label name, not reserved to Prometheus (a leading "__") and not one of
 * reserved_labels, nor "location" when the instance has one (every
 * sample carries it then); else "label_" and the name with every
 * character but letters, digits and '_' made '_'. */
static void put_label_name(struct buf *b, const char *k, bool location)
{
    bool plain = k[0] != '\0' && !(k[0] >= '0' && k[0] <= '9') && !(k[0] == '_' && k[1] == '_');
    size_t len = strlen(k);

    for (size_t i = 0; plain && i < len; i++)
        plain = name_char((unsigned char)k[i]);
    for (size_t i = 0; plain && i < ARRAY_SIZE(reserved_labels); i++)
        plain = strcmp(k, reserved_labels[i]) != 0;
    if (location && strcmp(k, "location") == 0)
        plain = false;
    if (plain) {
        buf_append(b, k, len);
        return;
    }
    char *p = buf_reserve(b, 6 + len);
    memcpy(p, "label_", 6);
    for (size_t i = 0; i < len; i++)
        p[6 + i] = name_char((unsigned char)k[i]) ? k[i] : '_';
    p[6 + len] = '\0';
    b->len += 6 + len;
}

/* Appends NAME="VALUE" to b, the value escaped. */
static void put_label(struct out *o, struct buf *b, const char *name, const char *value)
{
    buf_append(b, name, strlen(name));
    buf_append(b, "=\"", 2);
    expo_value(&o->e, b, value);
    buf_append(b, "\"", 1);
}

/* Every target's label set, escaped: target="NAME" and its own labels,
 * named as above (one whose name, so made, an earlier label of the target
 * already has is left out). Made as far as the steps have gone: the
 * first family to reach a target escapes its labels, the others copy
 * them. */
struct tlabels {
    struct buf text;
    size_t *end;   /* of target i's in text; it starts where i - 1's ends */
    size_t n;      /* targets made so far */
    size_t *names; /* where each name of the target being made starts */
    size_t cap;
};

static void tlabels_make(struct out *o, const struct view *v, struct tlabels *tl)
{
    const struct target_conf *t = v->targets[tl->n].conf;
    size_t nnames = 0;

    put_label(o, &tl->text, "target", t->name);
    if (t->nlabels > tl->cap) {
        tl->cap = t->nlabels;
        tl->names = xreallocarray(tl->names, tl->cap, sizeof(*tl->names));
    }
    for (size_t j = 0; j < t->nlabels; j++) {
        size_t mark = tl->text.len, start = mark + 1;
        buf_append(&tl->text, ",", 1);
        put_label_name(&tl->text, t->labels[j].key, o->common.len > 0);
        size_t nlen = tl->text.len - start;
        bool dup = false;
        for (size_t k = 0; !dup && k < nnames; k++)
            dup = strncmp(tl->text.data + tl->names[k], tl->text.data + start, nlen) == 0 &&
                  tl->text.data[tl->names[k] + nlen] == '=';
        if (dup) {
            tl->text.len = mark;
            tl->text.data[mark] = '\0';
            continue;
        }
        tl->names[nnames++] = start;
        buf_append(&tl->text, "=\"", 2);
        expo_value(&o->e, &tl->text, t->labels[j].value);
        buf_append(&tl->text, "\"", 1);
    }
    tl->end[tl->n++] = tl->text.len;
}

static void tlabels_free(struct tlabels *tl)
{
    buf_free(&tl->text);
    free(tl->end);
    free(tl->names);
}

static void family(struct out *o, enum fam f)
{
    expo_family(&o->e, &families[f]);
}

static void sample_u64(struct out *o, enum fam f, const char *labels, size_t llen,
                       const char *extra, uint64_t v)
{
    expo_u64(&o->e, &families[f], labels, llen, extra, v);
}

static void sample_seconds(struct out *o, enum fam f, const char *labels, size_t llen,
                           const char *extra, int64_t v, unsigned decimals)
{
    expo_seconds(&o->e, &families[f], labels, llen, extra, v, decimals);
}

static void le_labels(char (*le)[EXPO_LE_MAX], const int64_t *bounds_us, size_t n)
{
    for (size_t i = 0; i < n; i++)
        expo_le(le[i], bounds_us[i]);
}

static bool probed(const struct view_target *vt)
{
    return vt->hist && vt->hist->last.wall_ms != 0;
}

/* A scrape under way: where it stands, and what its per-target families
 * share. */
struct metrics_state {
    struct out o;
    struct tlabels tl;
    enum fam fam; /* the family being written; past F_CERT: the daemon's own */
    size_t next;  /* the target it comes to next; 0: its metadata first */
    char le[HIST_LAT_BUCKETS - 1][EXPO_LE_MAX], result[ST_COUNT][48], state[ST_COUNT][64];
};

/* Target i's label set, made if no family has reached it yet. */
static const char *tlabels(struct metrics_state *m, const struct view *v, size_t i, size_t *len)
{
    if (m->tl.end == NULL)
        m->tl.end = xreallocarray(NULL, v->ntargets ? v->ntargets : 1, sizeof(*m->tl.end));
    while (m->tl.n <= i)
        tlabels_make(&m->o, v, &m->tl);
    size_t start = i ? m->tl.end[i - 1] : 0;
    *len = m->tl.end[i] - start;
    return m->tl.text.data + start;
}

/* The samples of one target in one family. The last probe of each target
 * (whether it succeeded, its code, its phases, its time) is missing from
 * a target not probed yet; its counters since start and its confirmed
 * state are there from the start. */
typedef void target_fn(struct metrics_state *m, const struct view *v, size_t i);

static void t_success(struct metrics_state *m, const struct view *v, size_t i)
{
    size_t ll;
    const char *l;

    if (probed(&v->targets[i])) {
        l = tlabels(m, v, i, &ll);
        sample_u64(&m->o, F_SUCCESS, l, ll, NULL, v->targets[i].hist->last.state == ST_UP);
    }
}

static void t_status(struct metrics_state *m, const struct view *v, size_t i)
{
    size_t ll;
    const char *l;

    if (probed(&v->targets[i])) {
        l = tlabels(m, v, i, &ll);
        sample_u64(&m->o, F_STATUS, l, ll, NULL, v->targets[i].hist->last.code);
    }
}

static void t_duration(struct metrics_state *m, const struct view *v, size_t i)
{
    const struct htarget *h = v->targets[i].hist;
    size_t ll;

    if (!probed(&v->targets[i]))
        return;
    const struct {
        const char *phase;
        int64_t us;
    } phases[] = {
        {"phase=\"dns\"", h->dns_us},          {"phase=\"connect\"", h->connect_us},
        {"phase=\"tls\"", h->tls_us},          {"phase=\"first_byte\"", h->ttfb_us},
        {"phase=\"total\"", h->last.total_us},
    };
    const char *l = tlabels(m, v, i, &ll);
    for (size_t k = 0; k < ARRAY_SIZE(phases); k++)
        if (phases[k].us >= 0)
            sample_seconds(&m->o, F_DURATION, l, ll, phases[k].phase, phases[k].us, 6);
}

static void t_probe_time(struct metrics_state *m, const struct view *v, size_t i)
{
    size_t ll;
    const char *l;

    if (probed(&v->targets[i])) {
        l = tlabels(m, v, i, &ll);
        sample_seconds(&m->o, F_PROBE_TIME, l, ll, NULL, v->targets[i].hist->last.wall_ms, 3);
    }
}

static void t_latency(struct metrics_state *m, const struct view *v, size_t i)
{
    const struct htarget *h = v->targets[i].hist;
    uint64_t cum[HIST_LAT_BUCKETS], n = 0;
    size_t ll;

    for (size_t k = 0; k < HIST_LAT_BUCKETS; k++)
        cum[k] = n += h ? h->duration[k] : 0;
    const char *l = tlabels(m, v, i, &ll);
    expo_histogram(&m->o.e, &families[F_LATENCY], l, ll, m->le, cum, HIST_LAT_BUCKETS - 1, n,
                   h ? (int64_t)h->duration_sum_us : 0);
}

static void t_probes(struct metrics_state *m, const struct view *v, size_t i)
{
    const struct htarget *h = v->targets[i].hist;
    size_t ll;
    const char *l = tlabels(m, v, i, &ll);

    /* A verdict is never "unknown": that is the state before any. */
    for (int s = ST_UP; s < ST_COUNT; s++)
        sample_u64(&m->o, F_PROBES, l, ll, m->result[s], h ? h->by_state[s] : 0);
}

static void t_state(struct metrics_state *m, const struct view *v, size_t i)
{
    const struct tstate *ts = v->targets[i].ts;
    enum target_state now = ts ? ts->s.state : ST_UNKNOWN;
    size_t ll;
    const char *l = tlabels(m, v, i, &ll);

    for (int s = 0; s < ST_COUNT; s++)
        sample_u64(&m->o, F_STATE, l, ll, m->state[s], (int)now == s);
}

static void t_slow(struct metrics_state *m, const struct view *v, size_t i)
{
    size_t ll;
    const char *l = tlabels(m, v, i, &ll);

    sample_u64(&m->o, F_SLOW, l, ll, NULL, v->targets[i].ts && v->targets[i].ts->s.slow);
}

static void t_flapping(struct metrics_state *m, const struct view *v, size_t i)
{
    size_t ll;
    const char *l = tlabels(m, v, i, &ll);

    sample_u64(&m->o, F_FLAPPING, l, ll, NULL, v->targets[i].ts && v->targets[i].ts->s.flapping);
}

static void t_cert(struct metrics_state *m, const struct view *v, size_t i)
{
    const struct htarget *h = v->targets[i].hist;
    size_t ll;

    if (h && h->cert_not_after != 0) {
        const char *l = tlabels(m, v, i, &ll);
        sample_seconds(&m->o, F_CERT, l, ll, NULL, h->cert_not_after, 0);
    }
}

/* The per-target families, in the order they are written: each walks the
 * targets whole before the next begins (OpenMetrics forbids
 * interleaving). */
static target_fn *const per_target[F_CERT + 1] = {
    [F_SUCCESS] = t_success,   [F_STATUS] = t_status,
    [F_DURATION] = t_duration, [F_PROBE_TIME] = t_probe_time,
    [F_LATENCY] = t_latency,   [F_PROBES] = t_probes,
    [F_STATE] = t_state,       [F_SLOW] = t_slow,
    [F_FLAPPING] = t_flapping, [F_CERT] = t_cert,
};

/* The lateness counts, in buckets of bucket_us (the last one holding
 * everything beyond), folded into lateness_bounds_us: a bucket counts
 * under a bound when all of it lies below the bound. */
static void lateness(struct out *o, const struct view_schedule *s)
{
    char le[ARRAY_SIZE(lateness_bounds_us)][EXPO_LE_MAX];
    uint64_t cum[ARRAY_SIZE(lateness_bounds_us)], total = 0;
    size_t b = 0;

    for (size_t i = 0; s->lateness && i < s->nlateness; i++)
        total += s->lateness[i];
    for (size_t k = 0; k < ARRAY_SIZE(lateness_bounds_us); k++) {
        uint64_t n = k ? cum[k - 1] : 0;
        while (s->lateness && s->bucket_us > 0 && b + 1 < s->nlateness &&
               (int64_t)(b + 1) * s->bucket_us <= lateness_bounds_us[k])
            n += s->lateness[b++];
        cum[k] = n;
    }
    le_labels(le, lateness_bounds_us, ARRAY_SIZE(lateness_bounds_us));
    family(o, F_LATENESS);
    expo_histogram(&o->e, &families[F_LATENESS], "", 0, le, cum, ARRAY_SIZE(lateness_bounds_us),
                   total, s->lateness_sum_us);
}

static void webhooks(struct out *o, const struct view *v)
{
    family(o, F_OUTBOX);
    sample_u64(o, F_OUTBOX, "", 0, NULL, v->outbox);
    family(o, F_WH_PENDING);
    for (size_t i = 0; i < v->nwebhooks; i++) {
        o->wl.len = 0;
        put_label(o, &o->wl, "webhook", v->webhooks[i].name);
        sample_u64(o, F_WH_PENDING, o->wl.data, o->wl.len, NULL, v->webhooks[i].pending);
    }
    family(o, F_WH_DELIVERIES);
    for (size_t i = 0; i < v->nwebhooks; i++) {
        const struct view_webhook *w = &v->webhooks[i];
        const uint64_t counts[] = {w->delivered, w->retried, w->refused, w->expired, w->dropped};
        o->wl.len = 0;
        put_label(o, &o->wl, "webhook", w->name);
        for (size_t k = 0; k < ARRAY_SIZE(outcomes); k++) {
            char extra[EXPO_LE_MAX];
            snprintf(extra, sizeof(extra), "outcome=\"%s\"", outcomes[k]);
            sample_u64(o, F_WH_DELIVERIES, o->wl.data, o->wl.len, extra, counts[k]);
        }
    }
}

/* The daemon's own health: its build, its punctuality, its outbox, its
 * configuration. */
static void daemon_health(struct out *o, const struct view *v)
{
    const struct view_schedule *s = &v->schedule;

    family(o, F_BUILD);
    o->wl.len = 0;
    put_label(o, &o->wl, "version", UPMON_VERSION);
    if (v->libcurl && v->libcurl[0]) {
        buf_append(&o->wl, ",", 1);
        put_label(o, &o->wl, "libcurl", v->libcurl);
    }
    sample_u64(o, F_BUILD, o->wl.data, o->wl.len, NULL, 1);
    /* Its location is on every sample already. */
    family(o, F_INSTANCE);
    o->wl.len = 0;
    if (v->cfg && v->cfg->shard.count)
        buf_printf(&o->wl, "shard=\"%u/%u\"", v->cfg->shard.index, v->cfg->shard.count);
    sample_u64(o, F_INSTANCE, o->wl.data, o->wl.len, NULL, 1);
    family(o, F_START);
    sample_seconds(o, F_START, "", 0, NULL, v->started_ms, 3);

    family(o, F_STARTED);
    sample_u64(o, F_STARTED, "", 0, NULL, s->started);
    family(o, F_COMPLETED);
    sample_u64(o, F_COMPLETED, "", 0, NULL, s->completed);
    family(o, F_LATE);
    sample_u64(o, F_LATE, "", 0, NULL, s->late);
    family(o, F_CANCELLED);
    sample_u64(o, F_CANCELLED, "", 0, NULL, s->cancelled);
    family(o, F_MISSED);
    sample_u64(o, F_MISSED, "", 0, "reason=\"skipped\"", s->skipped);
    sample_u64(o, F_MISSED, "", 0, "reason=\"dropped\"", s->dropped);
    family(o, F_IN_FLIGHT);
    sample_u64(o, F_IN_FLIGHT, "", 0, NULL, s->in_flight);
    lateness(o, s);

    webhooks(o, v);

    /* Before any reload, the last load is the one at start, which was
     * applied (the daemon would not run otherwise). */
    family(o, F_RELOAD_OK);
    sample_u64(o, F_RELOAD_OK, "", 0, NULL, v->reload_ms == 0 || v->reload_ok);
    family(o, F_RELOAD_TIME);
    sample_seconds(o, F_RELOAD_TIME, "", 0, NULL, v->reload_ms ? v->reload_ms : v->started_ms, 3);
    family(o, F_RELOADS);
    uint64_t failed = v->reloads_failed < v->reloads ? v->reloads_failed : v->reloads;
    sample_u64(o, F_RELOADS, "", 0, "result=\"success\"", v->reloads - failed);
    sample_u64(o, F_RELOADS, "", 0, "result=\"failure\"", failed);
}

struct metrics_state *metrics_start(enum metrics_format f)
{
    struct metrics_state *m = xcalloc(1, sizeof(*m));

    m->o.e.om = f == METRICS_OPENMETRICS;
    le_labels(m->le, hist_lat_bounds_us, HIST_LAT_BUCKETS - 1);
    for (int s = 0; s < ST_COUNT; s++) {
        snprintf(m->result[s], sizeof(m->result[s]), "result=\"%s\"",
                 state_name((enum target_state)s));
        snprintf(m->state[s], sizeof(m->state[s]), "upmon_target_state=\"%s\"",
                 state_name((enum target_state)s));
    }
    return m;
}

bool metrics_step(const struct view *v, struct metrics_state *m, struct buf *out, size_t bytes)
{
    size_t from = out->len;

    m->o.e.b = out;
    if (m->fam == 0 && m->next == 0 && v->cfg && v->cfg->location) {
        m->o.common.len = 0;
        put_label(&m->o, &m->o.common, "location", v->cfg->location);
        m->o.e.common = m->o.common.data;
        m->o.e.ncommon = m->o.common.len;
    }
    for (; m->fam <= F_CERT; m->fam++, m->next = 0) {
        if (m->next == 0)
            family(&m->o, m->fam);
        while (m->next < v->ntargets) {
            per_target[m->fam](m, v, m->next++);
            if (out->len - from >= bytes && out->len > from)
                return true;
        }
    }
    daemon_health(&m->o, v);
    expo_end(&m->o.e);
    return false;
}

void metrics_free(struct metrics_state *m)
{
    if (m == NULL)
        return;
    tlabels_free(&m->tl);
    buf_free(&m->o.wl);
    buf_free(&m->o.common);
    buf_free(&m->o.e.scratch);
    free(m);
}

void metrics_render(const struct view *v, enum metrics_format f, struct buf *out)
{
    struct metrics_state *m = metrics_start(f);

    metrics_step(v, m, out, SIZE_MAX);
    metrics_free(m);
}

enum metrics_format metrics_negotiate(const char *accept)
{
    static const struct accept_offer offers[] = {
        [METRICS_TEXT] = {"text", "plain", "0.0.4"},
        [METRICS_OPENMETRICS] = {"application", "openmetrics-text", "1.0.0"},
    };

    return (enum metrics_format)accept_choose(accept, offers, ARRAY_SIZE(offers));
}

const char *metrics_content_type(enum metrics_format f)
{
    return f == METRICS_OPENMETRICS ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
                                    : "text/plain; version=0.0.4; charset=utf-8";
}

static bool more(const struct view *v, struct hreply *rp, void *state)
{
    return metrics_step(v, state, &rp->body, METRICS_STEP_BYTES);
}

static void state_free(void *state)
{
    metrics_free(state);
}

void metrics_handler(const struct view *v, const struct hrequest *rq, struct hreply *rp)
{
    enum metrics_format f = metrics_negotiate(rq->accept);
    struct metrics_state *m = metrics_start(f);

    rp->content_type = metrics_content_type(f);
    if (!metrics_step(v, m, &rp->body, METRICS_STEP_BYTES)) {
        metrics_free(m);
        return;
    }
    rp->more = more;
    rp->state = m;
    rp->state_free = state_free;
}
