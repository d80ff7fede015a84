/* The JSON API: each answer built from the view with jansson. */
#include "api.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "duration.h"
#include "histdb.h"
#include "report.h"
#include "route.h"
#include "silence.h"
#include "state.h"
#include "text.h"

#define MINUTE_MS ((int64_t)60 * 1000)
#define HOUR_MS   (60 * MINUTE_MS)
#define DAY_MS    (24 * HOUR_MS)

#define TARGET_INCIDENTS 20   /* recent incidents /api/v1/targets/NAME lists */
#define DEFAULT_LIMIT    50   /* of /api/v1/incidents */
#define MAX_LIMIT        1000 /* of /api/v1/incidents */

#define DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(12))

static int append_cb(const char *s, size_t n, void *arg)
{
    buf_append(arg, s, n);
    return 0;
}

static void reply_json(struct hreply *rp, json_t *o)
{
    json_dump_callback(o, append_cb, &rp->body, DUMP_FLAGS);
    json_decref(o);
    buf_append(&rp->body, "\n", 1);
    rp->content_type = "application/json";
}

static json_t *time_json(int64_t wall_ms)
{
    char when[40];

    if (wall_ms <= 0)
        return json_null();
    report_time(wall_ms, when, sizeof(when));
    return text_json(when);
}

static json_t *ratio_json(double r)
{
    return r < 0 ? json_null() : json_real(round(r * 1e6) / 1e6);
}

static json_t *ms_json(int64_t us)
{
    return us < 0 ? json_null() : json_real(report_ms(us));
}

/* The last probe, whole again as report.h takes it. */
static void last_probe(const struct htarget *h, struct probe_result *r, struct verdict *v)
{
    probe_result_init(r);
    memset(v, 0, sizeof(*v));
    r->code = h->last.code;
    r->error = v->error = (enum probe_error)h->last.error;
    snprintf(r->message, sizeof(r->message), "%s", h->message ? h->message : "");
    snprintf(r->location, sizeof(r->location), "%s", h->location ? h->location : "");
    snprintf(r->cert_subject, sizeof(r->cert_subject), "%s",
             h->cert_subject ? h->cert_subject : "");
    snprintf(r->cert_issuer, sizeof(r->cert_issuer), "%s", h->cert_issuer ? h->cert_issuer : "");
    r->dns_us = h->dns_us;
    r->connect_us = h->connect_us;
    r->tls_us = h->tls_us;
    r->ttfb_us = h->ttfb_us;
    r->total_us = h->last.total_us;
    r->cert_not_after = h->cert_not_after;
    r->started_wall_ms = h->last.wall_ms;
    v->state = (enum target_state)h->last.state;
    v->severity = (enum severity)h->severity;
    v->cls = (enum code_class)h->cls;
    v->slow = h->slow;
}

static json_t *window_json(const struct window *w, int64_t from_ms, int64_t until_ms)
{
    json_t *o = json_object();

    text_json_set(o, "window", w->name ? text_json(w->name) : json_null());
    text_json_set(o, "comment", w->comment ? text_json(w->comment) : json_null());
    text_json_set(o, "from", time_json(from_ms));
    text_json_set(o, "until", time_json(until_ms));
    return o;
}

/* null for a target with no windows; else the one that holds its alerts
 * now ("until" is when the hold ends, windows that take over included)
 * and the next to come. */
static json_t *maintenance_json(const struct target_conf *t, int64_t now_ms)
{
    struct view_maint m;

    if (!view_maintenance(t, now_ms, &m))
        return json_null();
    json_t *o = json_object();
    text_json_set(o, "now", m.now ? window_json(m.now, m.now_from, m.now_until) : json_null());
    text_json_set(o, "next",
                  m.next ? window_json(m.next, m.next_span.start_ms, m.next_span.end_ms)
                         : json_null());
    return o;
}

json_t *api_target_json(const struct view *v, const struct view_target *t)
{
    struct probe_result r;
    struct verdict vd;
    bool probed = t->hist && t->hist->last.wall_ms > 0;

    if (probed) {
        last_probe(t->hist, &r, &vd);
    } else {
        probe_result_init(&r);
        memset(&vd, 0, sizeof(vd));
        vd.state = ST_UNKNOWN;
    }
    json_t *o = report_json(t->conf, &r, &vd);
    if (!probed) { /* nothing was seen: no class, severity or time either */
        text_json_set(o, "class", json_null());
        text_json_set(o, "severity", json_null());
        text_json_set(o, "time", json_null());
    }
    const struct tstate_saved *s = t->ts ? &t->ts->s : NULL;
    text_json_set(o, "confirmed", text_json(state_name(s ? s->state : ST_UNKNOWN)));
    text_json_set(o, "since", time_json(s ? s->since_ms : 0));
    text_json_set(o, "slow", json_boolean(s && s->slow));
    text_json_set(o, "flapping", json_boolean(s && s->flapping));
    json_t *up = json_object();
    static const struct {
        const char *name;
        int64_t span_ms;
    } spans[] = {{"24h", DAY_MS}, {"7d", 7 * DAY_MS}, {"30d", 30 * DAY_MS}};
    for (size_t i = 0; i < ARRAY_SIZE(spans); i++)
        text_json_set(
            up, spans[i].name,
            ratio_json(t->hist ? htarget_uptime(t->hist, spans[i].span_ms, v->now_ms) : -1));
    text_json_set(o, "uptime", up);
    text_json_set(o, "maintenance", maintenance_json(t->conf, v->now_ms));
    json_t *labels = json_object();
    for (size_t i = 0; i < t->conf->nlabels; i++)
        text_json_set(labels, t->conf->labels[i].key, text_json(t->conf->labels[i].value));
    text_json_set(o, "labels", labels);
    return o;
}

int api_targets_start(const struct view *v, struct buf *out)
{
    json_t *o = json_object();

    text_json_set(o, "host", text_json(v->host));
    text_json_set(o, "time", time_json(v->now_ms));
    text_json_set(o, "targets", json_array());
    /* Ten thousand targets make a tree of hundreds of thousands of
     * values: each target's is made, written and freed in turn, between
     * the brackets of the envelope's empty list, its last key. */
    char *env = json_dumps(o, DUMP_FLAGS);
    json_decref(o);
    size_t n = env ? strlen(env) : 0;
    if (n < 3 || strcmp(env + n - 3, "[]}") != 0) {
        free(env);
        return -1;
    }
    buf_append(out, env, n - 2);
    free(env);
    return 0;
}

bool api_targets_step(const struct view *v, size_t *next, struct buf *out, size_t bytes)
{
    size_t from = out->len;

    while (*next < v->ntargets) {
        if (*next)
            buf_append(out, ",", 1);
        json_t *t = api_target_json(v, &v->targets[(*next)++]);
        json_dump_callback(t, append_cb, out, DUMP_FLAGS);
        json_decref(t);
        if (out->len - from >= bytes)
            return true;
    }
    buf_append(out, "]}\n", 3);
    return false;
}

/* /api/v1/targets under way: the next target, and the time of the
 * answer, the same in every part (the uptimes are as of then). */
struct targets_state {
    size_t next;
    int64_t now_ms;
};

static bool targets_more(const struct view *v, struct hreply *rp, void *state)
{
    struct targets_state *st = state;
    struct view then = *v;

    then.now_ms = st->now_ms;
    return api_targets_step(&then, &st->next, &rp->body, API_STEP_BYTES);
}

void api_targets_handler(const struct view *v, const struct hrequest *rq, struct hreply *rp)
{
    size_t next = 0;
    (void)rq;

    if (api_targets_start(v, &rp->body) < 0) {
        route_error("/api/", 500, "out of memory", rp);
        return;
    }
    rp->content_type = "application/json";
    if (!api_targets_step(v, &next, &rp->body, API_STEP_BYTES))
        return;
    struct targets_state *st = xmalloc(sizeof(*st));
    *st = (struct targets_state){next, v->now_ms};
    rp->more = targets_more;
    rp->state = st;
    rp->state_free = free;
}

static const struct view_target *find_target(const struct view *v, const char *name)
{
    for (size_t i = 0; i < v->ntargets; i++)
        if (strcmp(v->targets[i].conf->name, name) == 0)
            return &v->targets[i];
    return NULL;
}

static json_t *incident_json(const char *target, const struct incident *inc, int64_t now_ms)
{
    json_t *o = json_object(), *codes = json_array(), *errors = json_array();
    int64_t end = inc->end_ms ? inc->end_ms : now_ms;

    text_json_set(o, "id", json_integer((json_int_t)inc->id));
    text_json_set(o, "target", text_json(target));
    text_json_set(o, "start", time_json(inc->start_ms));
    text_json_set(o, "end", time_json(inc->end_ms));
    text_json_set(
        o, "duration_s",
        json_integer(end > inc->start_ms ? (json_int_t)((end - inc->start_ms) / 1000) : 0));
    text_json_set(o, "worst", text_json(state_name((enum target_state)inc->worst)));
    for (unsigned i = 0; i < inc->ncodes && i < INCIDENT_CODES; i++)
        text_json_append(codes, json_integer(inc->codes[i]));
    text_json_set(o, "codes", codes);
    for (int e = 1; e < PERR_COUNT; e++)
        if (inc->errors & (1u << e))
            text_json_append(errors, text_json(probe_error_name((enum probe_error)e)));
    text_json_set(o, "errors", errors);
    return o;
}

/* An incident with the target it belongs to, from memory or the database. */
struct inc_ref {
    const char *target;
    const struct incident *inc;
    bool memory;
};

static int newest_first(const void *a, const void *b)
{
    const struct inc_ref *x = a, *y = b;

    if (x->inc->start_ms != y->inc->start_ms)
        return x->inc->start_ms < y->inc->start_ms ? 1 : -1;
    if (x->inc->id != y->inc->id)
        return x->inc->id < y->inc->id ? 1 : -1;
    return (int)y->memory - (int)x->memory; /* memory's copy first: the newer */
}

/* Closed incidents that began before before_ms (0: any), newest first, at
 * most limit, of one target or every one: those memory holds and those
 * the database does, each once. */
static json_t *closed_incidents(const struct view *v, const struct view_target *only,
                                int64_t before_ms, size_t limit)
{
    struct incident_row *rows = NULL;
    size_t nrows = 0, n = 0, cap = 0;
    struct inc_ref *refs = NULL;
    json_t *a = json_array();
    size_t open = 0;

    /* The database's rows count open incidents too, which are left out
     * here: ask for as many more as are open, so a page is not short. */
    for (size_t t = 0; t < v->ntargets; t++)
        if ((!only || &v->targets[t] == only) && v->targets[t].hist && v->targets[t].hist->open)
            open++;
    if (v->histdb && v->incidents &&
        v->incidents(v->histdb, only ? only->conf->name : NULL, before_ms, limit + open, &rows,
                     &nrows) < 0)
        nrows = 0;
    for (size_t i = 0; i < nrows; i++) {
        if (rows[i].inc.end_ms == 0)
            continue; /* open: memory has it as it is now */
        xgrow((void **)&refs, &cap, n, sizeof(*refs));
        refs[n++] = (struct inc_ref){rows[i].target, &rows[i].inc, false};
    }
    for (size_t t = 0; t < v->ntargets; t++) {
        const struct view_target *vt = &v->targets[t];
        if ((only && vt != only) || vt->hist == NULL)
            continue;
        for (unsigned i = 0; i < vt->hist->nclosed && i < HIST_INCIDENTS; i++) {
            const struct incident *inc = &vt->hist->closed[i];
            if (before_ms && inc->start_ms >= before_ms)
                continue;
            xgrow((void **)&refs, &cap, n, sizeof(*refs));
            refs[n++] = (struct inc_ref){vt->conf->name, inc, true};
        }
    }
    if (n)
        qsort(refs, n, sizeof(*refs), newest_first);
    size_t shown = 0;
    for (size_t i = 0; i < n && shown < limit; i++) {
        if (i > 0 && refs[i].inc->id == refs[i - 1].inc->id)
            continue;
        text_json_append(a, incident_json(refs[i].target, refs[i].inc, v->now_ms));
        shown++;
    }
    free(refs);
    if (rows && v->rows_free)
        v->rows_free(rows, nrows);
    return a;
}

static json_t *sample_json(const struct hsample *s)
{
    json_t *o = json_object();

    text_json_set(o, "time", time_json(s->wall_ms));
    text_json_set(o, "state", text_json(state_name((enum target_state)s->state)));
    text_json_set(o, "code", s->code ? json_integer(s->code) : json_null());
    text_json_set(o, "error",
                  s->error == PERR_NONE ? json_null()
                                        : text_json(probe_error_name((enum probe_error)s->error)));
    text_json_set(o, "latency_ms", ms_json(s->total_us));
    return o;
}

void api_target_handler(const struct view *v, const struct hrequest *rq, struct hreply *rp)
{
    const struct view_target *t = find_target(v, rq->tail);

    if (t == NULL) {
        route_error(rq->path, 404, "no such target", rp);
        return;
    }
    json_t *o = api_target_json(v, t), *recent = json_array();
    const struct htarget *h = t->hist;
    for (unsigned k = 0; h && k < h->nrecent && k < HIST_RECENT; k++)
        text_json_append(recent,
                         sample_json(&h->recent[(h->next + HIST_RECENT - 1 - k) % HIST_RECENT]));
    text_json_set(o, "recent", recent);
    json_t *inc = json_object();
    text_json_set(inc, "open",
                  h && h->open ? incident_json(t->conf->name, h->open, v->now_ms) : json_null());
    text_json_set(inc, "recent", closed_incidents(v, t, 0, TARGET_INCIDENTS));
    text_json_set(o, "incidents", inc);
    text_json_set(o, "silences", silence_ids_json(v->silences, v->nsilences, t->conf, v->now_ms));
    reply_json(rp, o);
}

/* A count from a query: digits only, 1 to max. */
static int parse_count(const char *s, size_t max, size_t *out)
{
    size_t n = 0;

    if (s == NULL || *s == '\0' || strlen(s) > 9)
        return -1;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        n = n * 10 + (size_t)(*p - '0');
    }
    if (n < 1 || n > max)
        return -1;
    *out = n;
    return 0;
}

void api_incidents_handler(const struct view *v, const struct hrequest *rq, struct hreply *rp)
{
    const char *ls = query_get(rq->query, "limit"), *bs = query_get(rq->query, "before");
    size_t limit = DEFAULT_LIMIT;
    int64_t before = 0;
    char msg[128];

    if (ls && parse_count(ls, MAX_LIMIT, &limit) < 0) {
        snprintf(msg, sizeof(msg), "limit must be a number from 1 to %d", MAX_LIMIT);
        route_error(rq->path, 400, msg, rp);
        return;
    }
    if (bs && report_parse_time(bs, &before) < 0) {
        route_error(rq->path, 400, "before must be an RFC 3339 time or Unix seconds", rp);
        return;
    }
    json_t *o = json_object(), *open = json_array();
    for (size_t t = 0; t < v->ntargets; t++) {
        const struct htarget *h = v->targets[t].hist;
        if (h && h->open && (before == 0 || h->open->start_ms < before))
            text_json_append(open, incident_json(v->targets[t].conf->name, h->open, v->now_ms));
    }
    text_json_set(o, "open", open);
    text_json_set(o, "recent", closed_incidents(v, NULL, before, limit));
    reply_json(rp, o);
}

/* from, to and step of an uptime query, defaults filled in: the last day
 * by the hour. */
static int series_params(const struct view *v, const struct query *q, int64_t *from, int64_t *to,
                         int64_t *step, char *msg, size_t len)
{
    const char *fs = query_get(q, "from"), *ts = query_get(q, "to"), *ss = query_get(q, "step");
    uint64_t step_ms = HOUR_MS;
    char err[128];

    *to = v->now_ms;
    if (ts && report_parse_time(ts, to) < 0) {
        snprintf(msg, len, "to must be an RFC 3339 time or Unix seconds");
        return -1;
    }
    /* The future holds nothing: a range far ahead is not walked. */
    if (*to > v->now_ms + MINUTE_MS)
        *to = v->now_ms + MINUTE_MS;
    *from = *to - DAY_MS;
    if (fs && report_parse_time(fs, from) < 0) {
        snprintf(msg, len, "from must be an RFC 3339 time or Unix seconds");
        return -1;
    }
    if (ss && duration_parse(ss, &step_ms, err, sizeof(err)) < 0) {
        snprintf(msg, len, "step: %s", err);
        return -1;
    }
    if (step_ms < (uint64_t)MINUTE_MS || step_ms % MINUTE_MS) {
        snprintf(msg, len, "step must be a whole number of minutes");
        return -1;
    }
    *from -= *from % MINUTE_MS; /* buckets start on the minute */
    if (*from >= *to) {
        snprintf(msg, len, "from must be before to");
        return -1;
    }
    *step = (int64_t)step_ms;
    if ((*to - *from - 1) / *step + 1 > HISTDB_MAX_POINTS) {
        snprintf(msg, len, "at most %d steps from from to to: ask for a longer step",
                 HISTDB_MAX_POINTS);
        return -1;
    }
    return 0;
}

void api_uptime_handler(const struct view *v, const struct hrequest *rq, struct hreply *rp)
{
    const struct view_target *t = find_target(v, rq->tail);
    int64_t from, to, step;
    struct hbucket *b = NULL;
    size_t n = 0;
    char msg[160];

    if (t == NULL) {
        route_error(rq->path, 404, "no such target", rp);
        return;
    }
    if (series_params(v, rq->query, &from, &to, &step, msg, sizeof(msg)) < 0) {
        route_error(rq->path, 400, msg, rp);
        return;
    }
    if (v->histdb == NULL || v->series == NULL) {
        route_error(rq->path, 503, "history is off", rp);
        return;
    }
    if (v->series(v->histdb, t->conf->name, from, to, step, &b, &n) < 0) {
        route_error(rq->path, 500,
                    "the history of this range could not be read (a longer step reads fewer rows)",
                    rp);
        return;
    }
    /* The minute under way is in memory only. */
    const struct hbucket *m = t->hist ? &t->hist->minute : NULL;
    if (n && m && m->probes && m->start_ms >= b[0].start_ms && m->start_ms < to &&
        (size_t)((m->start_ms - b[0].start_ms) / step) < n) {
        struct hbucket *p = &b[(m->start_ms - b[0].start_ms) / step];
        p->probes += m->probes;
        p->failures += m->failures;
        p->latency_sum_us += m->latency_sum_us;
        if (m->latency_max_us > p->latency_max_us)
            p->latency_max_us = m->latency_max_us;
        if (hist_state_rank((enum target_state)m->worst) >
            hist_state_rank((enum target_state)p->worst))
            p->worst = m->worst;
    }

    json_t *o = json_object(), *points = json_array();
    uint64_t probes = 0, failures = 0;
    text_json_set(o, "target", text_json(t->conf->name));
    text_json_set(o, "from", time_json(from));
    text_json_set(o, "to", time_json(to));
    text_json_set(o, "step_s", json_integer((json_int_t)(step / 1000)));
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_object();
        text_json_set(p, "time", time_json(b[i].start_ms));
        text_json_set(p, "probes", json_integer(b[i].probes));
        text_json_set(p, "failures", json_integer(b[i].failures));
        text_json_set(p, "uptime",
                      ratio_json(b[i].probes
                                     ? (double)(b[i].probes - b[i].failures) / (double)b[i].probes
                                     : -1));
        text_json_set(p, "latency_avg_ms",
                      b[i].probes ? ms_json((int64_t)(b[i].latency_sum_us / b[i].probes))
                                  : json_null());
        text_json_set(p, "latency_max_ms",
                      b[i].probes ? ms_json(b[i].latency_max_us) : json_null());
        text_json_set(p, "worst",
                      b[i].probes ? text_json(state_name((enum target_state)b[i].worst))
                                  : json_null());
        text_json_append(points, p);
        probes += b[i].probes;
        failures += b[i].failures < b[i].probes ? b[i].failures : b[i].probes;
    }
    free(b);
    text_json_set(o, "uptime",
                  ratio_json(probes ? (double)(probes - failures) / (double)probes : -1));
    text_json_set(o, "points", points);
    reply_json(rp, o);
}

void healthz_handler(const struct view *v, const struct hrequest *rq, struct hreply *rp)
{
    static const char ok[] = "ok\n", stuck[] = "probes have stopped completing\n";
    (void)rq;

    rp->content_type = "text/plain; charset=utf-8";
    if (v->healthy) {
        buf_append(&rp->body, ok, sizeof(ok) - 1);
    } else {
        rp->status = 503;
        buf_append(&rp->body, stuck, sizeof(stuck) - 1);
    }
}
