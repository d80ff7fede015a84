/* A running daemon's view built by hand for the page and badge tests:
 * targets with a configuration, a confirmed state and a history filled
 * through history.h's own restore calls. Static functions, included by
 * the tests that need them. */
#ifndef UPMON_TEST_PAGEFIXTURE_H
#define UPMON_TEST_PAGEFIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "state.h"
#include "util.h"
#include "view.h"

#define FX_HOUR 3600000LL
#define FX_DAY  86400000LL
/* 2026-03-15 12:00:00 UTC. */
#define FX_NOW (20527 * FX_DAY + 12 * FX_HOUR)

struct fx {
    struct config cfg;
    size_t n, cap;
    struct target_conf *conf;
    struct kv *label;
    struct tstate *ts;
    struct htarget *hist;
    struct view_target *vt;
    struct view v;
    struct query q;
    struct query_param params[4];
};

static void fx_init(struct fx *f, size_t cap)
{
    memset(f, 0, sizeof(*f));
    f->cap = cap;
    f->conf = xcalloc(cap, sizeof(*f->conf));
    f->label = xcalloc(cap, sizeof(*f->label));
    f->ts = xcalloc(cap, sizeof(*f->ts));
    f->hist = xcalloc(cap, sizeof(*f->hist));
    f->vt = xcalloc(cap, sizeof(*f->vt));
    f->cfg.path = (char *)"/etc/upmon/upmon.yaml";
    f->cfg.http_title = (char *)"Example status";
    f->cfg.http_refresh_ms = 30000;
    f->v.cfg = &f->cfg;
    f->v.targets = f->vt;
    f->v.now_ms = FX_NOW;
    f->v.host = "monitor1";
}

/* A target in state st since 3 hours, its last probe 10 s ago with the
 * given code (0: none), labelled team=team unless team is NULL. */
static size_t fx_add(struct fx *f, const char *name, const char *file, const char *team,
                     enum target_state st, int code)
{
    size_t i = f->n++;
    struct target_conf *c = &f->conf[i];
    struct htarget *h = &f->hist[i];

    c->name = (char *)name;
    c->shown_url = (char *)"https://example.org/health";
    c->file = file;
    if (team) {
        f->label[i].key = (char *)"team";
        f->label[i].value = (char *)team;
        c->labels = &f->label[i];
        c->nlabels = 1;
    }
    tstate_init(&f->ts[i]);
    f->ts[i].s.state = st;
    f->ts[i].s.since_ms = st == ST_UNKNOWN ? 0 : FX_NOW - 3 * FX_HOUR;
    htarget_init(h);
    if (st != ST_UNKNOWN) {
        h->last.wall_ms = FX_NOW - 10000;
        h->last.total_us = 123400;
        h->last.code = (uint16_t)code;
        h->last.state = (uint8_t)st;
        h->last.error = code ? PERR_NONE : PERR_CONNECT;
    }
    f->vt[i] = (struct view_target){.conf = c, .ts = &f->ts[i], .hist = h};
    f->v.ntargets = f->n;
    return i;
}

/* days_back days before today (0: today) had probes, failures and worst. */
static void fx_day(struct fx *f, size_t i, int days_back, uint32_t probes, uint32_t failures,
                   enum target_state worst)
{
    struct hspan s = {probes, failures, (uint8_t)worst};

    htarget_add_day(&f->hist[i], FX_NOW - days_back * FX_DAY, &s);
}

static void fx_hour(struct fx *f, size_t i, int hours_back, uint32_t probes, uint32_t failures,
                    enum target_state worst)
{
    struct hspan s = {probes, failures, (uint8_t)worst};

    htarget_add_hour(&f->hist[i], FX_NOW - hours_back * FX_HOUR, &s);
}

/* The request's query: up to two pairs (a NULL key: none). */
static void fx_query(struct fx *f, const char *k1, const char *v1, const char *k2, const char *v2)
{
    f->q.params = f->params;
    f->q.n = 0;
    if (k1)
        f->params[f->q.n++] = (struct query_param){k1, v1};
    if (k2)
        f->params[f->q.n++] = (struct query_param){k2, v2};
}

static void fx_free(struct fx *f)
{
    for (size_t i = 0; i < f->n; i++) {
        tstate_free(&f->ts[i]);
        htarget_free(&f->hist[i]);
    }
    free(f->conf);
    free(f->label);
    free(f->ts);
    free(f->hist);
    free(f->vt);
}

/* Runs a handler on path with the fixture's query; the caller frees
 * rp->body. */
static void fx_get(struct fx *f, handler_fn fn, const char *path, const char *tail,
                   struct hreply *rp)
{
    struct hrequest rq = {.path = path, .tail = tail, .query = &f->q, .accept = ""};

    memset(rp, 0, sizeof(*rp));
    rp->status = 200;
    fn(&f->v, &rq, rp);
    buf_append(&rp->body, "", 0);
}

#endif
