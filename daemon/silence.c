/* Silences: the requests read and checked, the matching, the API. */
#include "silence.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "report.h"
#include "route.h"
#include "text.h"
#include "util.h"

#define DUMP_FLAGS JSON_COMPACT

void silence_free(struct silence *s)
{
    for (size_t i = 0; i < s->nlabels; i++) {
        free(s->labels[i].key);
        free(s->labels[i].value);
    }
    free(s->labels);
    free(s->target);
    free(s->comment);
    memset(s, 0, sizeof(*s));
}

static void add_label(struct silence *s, const char *key, const char *value);

void silence_copy(struct silence *dst, const struct silence *s)
{
    *dst = *s;
    dst->target = s->target ? xstrdup(s->target) : NULL;
    dst->comment = s->comment ? xstrdup(s->comment) : NULL;
    dst->labels = NULL;
    dst->nlabels = 0;
    for (size_t i = 0; i < s->nlabels; i++)
        add_label(dst, s->labels[i].key, s->labels[i].value);
}

bool silence_active(const struct silence *s, int64_t now_ms)
{
    return s->start_ms <= now_ms && now_ms < s->end_ms;
}

bool silence_matches(const struct silence *s, const struct target_conf *t)
{
    if (s->target)
        return strcmp(s->target, t->name) == 0;
    if (s->nlabels == 0)
        return false; /* read from elsewhere: never "every target" */
    for (size_t i = 0; i < s->nlabels; i++) {
        bool found = false;
        for (size_t j = 0; j < t->nlabels && !found; j++)
            found = strcmp(t->labels[j].key, s->labels[i].key) == 0 &&
                    strcmp(t->labels[j].value, s->labels[i].value) == 0;
        if (!found)
            return false;
    }
    return true;
}

const struct silence *silence_holding(const struct silence *ss, size_t n,
                                      const struct target_conf *t, int64_t now_ms)
{
    const struct silence *best = NULL;

    for (size_t i = 0; i < n; i++)
        if (silence_active(&ss[i], now_ms) && silence_matches(&ss[i], t) &&
            (best == NULL || ss[i].end_ms > best->end_ms))
            best = &ss[i];
    return best;
}

/* Whether s is text that every sink shows as it is: valid UTF-8 without
 * control characters (what text_sanitize would change is refused). */
static bool plain_text(const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n > max)
        return false;
    char *out = xmalloc(n + 1);
    size_t got = text_sanitize(out, n + 1, s, n, TEXT_ESCAPE);
    bool same = got == n && memcmp(out, s, n) == 0;
    free(out);
    return same;
}

static void add_label(struct silence *s, const char *key, const char *value)
{
    s->labels = xreallocarray(s->labels, s->nlabels + 1, sizeof(*s->labels));
    s->labels[s->nlabels++] = (struct silence_label){xstrdup(key), xstrdup(value)};
}

/* The labels of a request or of the store: a non-empty object of
 * strings, each key a label's name. */
static int labels_of(json_t *o, struct silence *s, char *err, size_t errlen)
{
    const char *k;
    json_t *v;

    if (!json_is_object(o) || json_object_size(o) == 0 ||
        json_object_size(o) > SILENCE_LABELS_MAX) {
        errbuf_set(err, errlen, "labels must be an object of 1 to %d label names and values",
                   SILENCE_LABELS_MAX);
        return -1;
    }
    json_object_foreach(o, k, v)
    {
        if (!label_name_valid(k)) {
            errbuf_set(err, errlen,
                       "a label name must be letters, digits and underscores, not starting "
                       "with a digit (at most 48)");
            return -1;
        }
        if (!json_is_string(v) || !plain_text(json_string_value(v), SILENCE_VALUE_MAX)) {
            errbuf_set(err, errlen,
                       "the value of label %s must be a string of at most %d bytes, without "
                       "control characters",
                       k, SILENCE_VALUE_MAX);
            return -1;
        }
        add_label(s, k, json_string_value(v));
    }
    return 0;
}

static int parse_fields(json_t *o, int64_t now_ms, struct silence *s, char *err, size_t errlen)
{
    json_t *target = json_object_get(o, "target"), *labels = json_object_get(o, "labels");
    json_t *duration = json_object_get(o, "duration"), *comment = json_object_get(o, "comment");
    const char *k;
    json_t *v;
    uint64_t ms;
    char why[128];

    json_object_foreach(o, k, v)
    {
        if (strcmp(k, "target") && strcmp(k, "labels") && strcmp(k, "duration") &&
            strcmp(k, "comment")) {
            errbuf_set(err, errlen,
                       "unknown key (the keys are target or labels, duration, comment)");
            return -1;
        }
    }
    if ((target == NULL) == (labels == NULL)) {
        errbuf_set(err, errlen, "give either target or labels");
        return -1;
    }
    if (target) {
        const char *name = json_string_value(target);
        if (name == NULL || name[0] == '\0' || !plain_text(name, SILENCE_VALUE_MAX)) {
            errbuf_set(err, errlen, "target must be a target's name");
            return -1;
        }
        s->target = xstrdup(name);
    } else if (labels_of(labels, s, err, errlen) < 0) {
        return -1;
    }
    if (!json_is_string(duration) ||
        duration_parse(json_string_value(duration), &ms, why, sizeof(why)) < 0 ||
        (int64_t)ms < SILENCE_MIN_MS || (int64_t)ms > SILENCE_MAX_MS) {
        errbuf_set(err, errlen, "duration must be a duration from 1m to 30d, such as \"2h\"");
        return -1;
    }
    const char *c = json_string_value(comment);
    if (c == NULL || c[0] == '\0' || !plain_text(c, SILENCE_COMMENT_MAX)) {
        errbuf_set(err, errlen,
                   "comment must say why, in 1 to %d bytes of text without control characters",
                   SILENCE_COMMENT_MAX);
        return -1;
    }
    s->comment = xstrdup(c);
    s->start_ms = now_ms;
    s->end_ms = now_ms + (int64_t)ms;
    return 0;
}

int silence_parse(const char *body, size_t len, int64_t now_ms, struct silence *s, char *err,
                  size_t errlen)
{
    json_error_t je;

    memset(s, 0, sizeof(*s));
    if (len > SILENCE_BODY_MAX) {
        errbuf_set(err, errlen, "the request is over %d bytes", SILENCE_BODY_MAX);
        return -1;
    }
    json_t *o = body ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &je) : NULL;
    if (!json_is_object(o)) {
        errbuf_set(err, errlen, "the request must be a JSON object");
        json_decref(o);
        return -1;
    }
    int rc = parse_fields(o, now_ms, s, err, errlen);
    json_decref(o);
    if (rc < 0)
        silence_free(s);
    return rc;
}

char *silence_labels_text(const struct silence *s)
{
    json_t *o = json_object();

    for (size_t i = 0; i < s->nlabels; i++)
        text_json_set(o, s->labels[i].key, text_json(s->labels[i].value));
    char *t = json_dumps(o, DUMP_FLAGS | JSON_SORT_KEYS);
    json_decref(o);
    if (t == NULL)
        abort(); /* out of memory, as xmalloc */
    return t;
}

int silence_labels_parse(const char *text, struct silence *s)
{
    char err[160];
    json_t *o = json_loads(text, 0, NULL);
    int rc = labels_of(o, s, err, sizeof(err));

    json_decref(o);
    return rc;
}

static json_t *time_json(int64_t wall_ms)
{
    char when[40];

    report_time(wall_ms, when, sizeof(when));
    return text_json(when);
}

json_t *silence_json(const struct silence *s, int64_t now_ms)
{
    json_t *o = json_object(), *labels = json_null();

    text_json_set(o, "id", json_integer((json_int_t)s->id));
    text_json_set(o, "target", s->target ? text_json(s->target) : json_null());
    if (s->nlabels) {
        labels = json_object();
        for (size_t i = 0; i < s->nlabels; i++)
            text_json_set(labels, s->labels[i].key, text_json(s->labels[i].value));
    }
    text_json_set(o, "labels", labels);
    text_json_set(o, "comment", text_json(s->comment ? s->comment : ""));
    text_json_set(o, "start", time_json(s->start_ms));
    text_json_set(o, "end", time_json(s->end_ms));
    text_json_set(o, "state",
                  text_json(silence_active(s, now_ms) ? "active"
                            : s->expired              ? "expired"
                                                      : "ended"));
    return o;
}

json_t *silence_ids_json(const struct silence *ss, size_t n, const struct target_conf *t,
                         int64_t now_ms)
{
    json_t *a = json_array();

    for (size_t i = 0; i < n; i++)
        if (silence_active(&ss[i], now_ms) && silence_matches(&ss[i], t))
            text_json_append(a, json_integer((json_int_t)ss[i].id));
    return a;
}

static void reply(struct hreply *rp, int status, json_t *o)
{
    char *s = json_dumps(o, DUMP_FLAGS);

    json_decref(o);
    if (s == NULL) {
        route_error("/api/", 500, "out of memory", rp);
        return;
    }
    rp->status = status;
    buf_append(&rp->body, s, strlen(s));
    buf_append(&rp->body, "\n", 1);
    rp->content_type = "application/json";
    free(s);
}

static void list(const struct view *v, struct hreply *rp)
{
    json_t *o = json_object(), *a = json_array();

    text_json_set(o, "time", time_json(v->now_ms));
    for (size_t i = 0; i < v->nsilences; i++)
        text_json_append(a, silence_json(&v->silences[i], v->now_ms));
    text_json_set(o, "silences", a);
    reply(rp, 200, o);
}

static void add(const struct view *v, const struct hrequest *rq, struct hreply *rp)
{
    struct silence s;
    char err[256];
    size_t matching = 0;

    if (v->silence_add == NULL) {
        route_error(rq->path, 503, "silences cannot be changed now", rp);
        return;
    }
    if (silence_parse(rq->body, rq->body_len, v->now_ms, &s, err, sizeof(err)) < 0) {
        route_error(rq->path, 400, err, rp);
        return;
    }
    for (size_t i = 0; i < v->ntargets; i++)
        matching += silence_matches(&s, v->targets[i].conf);
    if (matching == 0) {
        route_error(rq->path, 422,
                    s.target ? "no such target is enabled" : "no enabled target has these labels",
                    rp);
        silence_free(&s);
        return;
    }
    int status = v->silence_add(v->silencer, &s, err, sizeof(err));
    if (status) {
        route_error(rq->path, status, err, rp);
        silence_free(&s);
        return;
    }
    json_t *o = silence_json(&s, v->now_ms);
    text_json_set(o, "matching", json_integer((json_int_t)matching));
    silence_free(&s);
    reply(rp, 201, o);
}

void api_silences_handler(const struct view *v, const struct hrequest *rq, struct hreply *rp)
{
    if (rq->method == HM_POST)
        add(v, rq, rp);
    else if (rq->method == HM_GET)
        list(v, rp);
    else {
        route_error(rq->path, 405, "GET lists the silences, POST adds one", rp);
        rp->allow = "GET, HEAD, POST";
    }
}

/* The silence a path's id names, or NULL having answered. */
static const struct silence *find(const struct view *v, const struct hrequest *rq,
                                  struct hreply *rp, uint64_t *id)
{
    *id = 0;
    for (const char *p = rq->tail; *p; p++) {
        if (*p < '0' || *p > '9' || *id > UINT64_MAX / 10 - 1) {
            *id = 0;
            break;
        }
        *id = *id * 10 + (uint64_t)(*p - '0');
    }
    if (*id == 0) {
        route_error(rq->path, 404, "a silence's id is a number", rp);
        return NULL;
    }
    for (size_t i = 0; i < v->nsilences; i++)
        if (v->silences[i].id == *id)
            return &v->silences[i];
    route_error(rq->path, 404, "no such silence (an ended one is listed for a day)", rp);
    return NULL;
}

static void expire(const struct view *v, const struct hrequest *rq, struct hreply *rp)
{
    uint64_t id;
    char err[256];

    if (find(v, rq, rp, &id) == NULL)
        return;
    if (v->silence_expire == NULL) {
        route_error(rq->path, 503, "silences cannot be changed now", rp);
        return;
    }
    int status = v->silence_expire(v->silencer, id, err, sizeof(err));
    if (status) {
        route_error(rq->path, status, err, rp);
        return;
    }
    const struct silence *s = find(v, rq, rp, &id); /* as it is now */
    /* Judged as of its end at least: the clock read to end it may be a
     * millisecond past the request's. */
    if (s)
        reply(rp, 200, silence_json(s, s->end_ms > v->now_ms ? s->end_ms : v->now_ms));
}

void api_silence_handler(const struct view *v, const struct hrequest *rq, struct hreply *rp)
{
    uint64_t id;

    if (rq->method == HM_DELETE) {
        expire(v, rq, rp);
    } else if (rq->method == HM_GET) {
        const struct silence *s = find(v, rq, rp, &id);
        if (s)
            reply(rp, 200, silence_json(s, v->now_ms));
    } else {
        route_error(rq->path, 405, "GET shows the silence, DELETE expires it", rp);
        rp->allow = "GET, HEAD, DELETE";
    }
}

void api_silence_expire_handler(const struct view *v, const struct hrequest *rq, struct hreply *rp)
{
    if (rq->method == HM_POST)
        expire(v, rq, rp);
    else {
        route_error(rq->path, 405, "POST expires the silence", rp);
        rp->allow = "POST";
    }
}
