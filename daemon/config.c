/* Loading and validating the configuration.
 *
 * Every file is loaded into a libyaml document (which resolves anchors and
 * aliases and keeps each node's position), then walked. Each problem is
 * recorded with its position and the walk goes on, so one run reports every
 * error; only a file that is not valid YAML at all stops at its first
 * syntax error. Targets inherit from the global defaults, then from their
 * watch list's defaults; headers and labels merge key by key, every other
 * key is replaced. A cross-field rule (timeout within interval, say) is
 * reported once, at the level where it is first broken.
 *
 * URLs are validated with libcurl's URL parser: no I/O, and it is the same
 * parser that later fetches them, so what passes here is what gets probed. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <yaml.h>

#include "duration.h"
#include "eventtype.h"
#include "payload.h"
#include "util.h"

#define MAX_FILE_SIZE   (64u << 20)
#define MAX_SECRET_SIZE 4096

/* ---- diagnostics ---- */

struct diag_item {
    size_t file; /* index into cfg->files, or SIZE_MAX for none */
    unsigned line, col;
    size_t seq;
    char *msg;
};

/* A file told apart from others by device and inode, whatever its path
 * ("./x.yaml" or a link is still x.yaml). */
struct file_id {
    bool known; /* stat(2) succeeded */
    dev_t dev;
    ino_t ino;
};

static struct file_id file_id_of(const char *path)
{
    struct stat st;
    struct file_id id = {0};

    if (stat(path, &st) == 0) {
        id.known = true;
        id.dev = st.st_dev;
        id.ino = st.st_ino;
    }
    return id;
}

static bool same_id(const struct file_id *a, const struct file_id *b)
{
    return a->known && b->known && a->dev == b->dev && a->ino == b->ino;
}

struct ctx {
    struct config *cfg;
    const struct config_env *env;
    struct diag_item *items;
    size_t nitems, capitems;

    struct file_id main_id;    /* the main file, never read as a watch list */
    struct file_id *watch_ids; /* of the watch paths found so far */
    const char *basedir;       /* the main file's directory: relative paths start there */

    /* The file being walked. */
    size_t fileidx;
    const char *file;
    yaml_document_t *doc;
};

void diags_free(struct diags *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->msgs[i]);
    free(d->msgs);
    d->msgs = NULL;
    d->n = d->cap = 0;
}

static void diags_push(struct diags *d, char *msg)
{
    xgrow((void **)&d->msgs, &d->cap, d->n, sizeof(*d->msgs));
    d->msgs[d->n++] = msg;
}

static void PRINTF_LIKE(5, 0)
    vdiag(struct ctx *c, size_t fileidx, unsigned line, unsigned col, const char *fmt, va_list ap)
{
    char msg[1024];
    struct diag_item *it;

    vsnprintf(msg, sizeof(msg), fmt, ap);
    /* One diagnostic, one line: a value echoed in it may hold line breaks
     * or other control characters; they are shown as '?'. */
    for (char *p = msg; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    xgrow((void **)&c->items, &c->capitems, c->nitems, sizeof(*c->items));
    it = &c->items[c->nitems];
    it->file = fileidx;
    it->line = line;
    it->col = col;
    it->seq = c->nitems++;
    if (fileidx == SIZE_MAX)
        it->msg = xstrdup(msg);
    else if (line == 0)
        it->msg = xasprintf("%s: %s", c->cfg->files[fileidx], msg);
    else
        it->msg = xasprintf("%s:%u:%u: %s", c->cfg->files[fileidx], line, col, msg);
}

/* An error at a node of the current document. */
static void PRINTF_LIKE(3, 4) err_at(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vdiag(c, c->fileidx, (unsigned)n->start_mark.line + 1, (unsigned)n->start_mark.column + 1, fmt,
          ap);
    va_end(ap);
}

/* An error about a whole file, or about nothing in particular. */
static void PRINTF_LIKE(3, 4) err_file(struct ctx *c, size_t fileidx, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vdiag(c, fileidx, 0, 0, fmt, ap);
    va_end(ap);
}

static int diag_cmp(const void *a, const void *b)
{
    const struct diag_item *x = a, *y = b;

    if (x->file != y->file)
        return x->file < y->file ? -1 : 1;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* ---- positions, so an error can point at where a value was written ---- */

struct pos {
    size_t file;
    unsigned line, col;
};

static struct pos pos_of(const struct ctx *c, const yaml_node_t *n)
{
    struct pos p = {c->fileidx, (unsigned)n->start_mark.line + 1,
                    (unsigned)n->start_mark.column + 1};
    return p;
}

static void PRINTF_LIKE(3, 4) err_pos(struct ctx *c, struct pos p, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vdiag(c, p.file, p.line, p.col, fmt, ap);
    va_end(ap);
}

/* ---- YAML node helpers ---- */

static yaml_node_t *node(struct ctx *c, int idx)
{
    return yaml_document_get_node(c->doc, idx);
}

static const char *node_kind(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return "a scalar";
    case YAML_SEQUENCE_NODE:
        return "a list";
    case YAML_MAPPING_NODE:
        return "a mapping";
    default:
        return "nothing";
    }
}

static bool is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *s = (const char *)n->data.scalar.value;
    return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0;
}

static const char *scalar(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static bool want_mapping(struct ctx *c, const yaml_node_t *n, const char *what)
{
    if (n->type == YAML_MAPPING_NODE)
        return true;
    err_at(c, n, "%s must be a mapping, not %s", what, node_kind(n));
    return false;
}

static bool want_scalar(struct ctx *c, const yaml_node_t *n, const char *what)
{
    if (n->type == YAML_SCALAR_NODE && !is_null(n))
        return true;
    if (n->type == YAML_SCALAR_NODE)
        err_at(c, n, "%s needs a value", what);
    else
        err_at(c, n, "%s must be a single value, not %s", what, node_kind(n));
    return false;
}

/* Control characters, C1 controls (U+0080 to U+009F, NEL among them) and
 * the Unicode line and paragraph separators: none belongs in a name or a
 * header, and each would break a log line. */
static bool has_control_chars(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;

    for (; *u; u++) {
        if (*u < 0x20 || *u == 0x7f)
            return true;
        if (u[0] == 0xc2 && u[1] >= 0x80 && u[1] <= 0x9f)
            return true;
        if (u[0] == 0xe2 && u[1] == 0x80 && (u[2] == 0xa8 || u[2] == 0xa9))
            return true;
    }
    return false;
}

static int get_string(struct ctx *c, const yaml_node_t *n, const char *what, char **out)
{
    if (!want_scalar(c, n, what))
        return -1;
    free(*out);
    *out = xstrdup(scalar(n));
    return 0;
}

static int get_bool(struct ctx *c, const yaml_node_t *n, const char *what, bool *out)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "on"};
    static const char *const no[] = {"false", "False", "FALSE", "no", "off"};

    if (!want_scalar(c, n, what))
        return -1;
    for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
        if (strcmp(scalar(n), yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcmp(scalar(n), no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    err_at(c, n, "%s must be true or false, not \"%s\"", what, scalar(n));
    return -1;
}

static int parse_uint(const char *s, unsigned long long *out)
{
    char *end;

    if (!isdigit((unsigned char)s[0]))
        return -1;
    errno = 0;
    *out = strtoull(s, &end, 10);
    return (errno || *end) ? -1 : 0;
}

static int get_uint(struct ctx *c, const yaml_node_t *n, const char *what, unsigned min,
                    unsigned max, unsigned *out)
{
    unsigned long long v;

    if (!want_scalar(c, n, what))
        return -1;
    if (parse_uint(scalar(n), &v) < 0) {
        err_at(c, n, "%s must be a whole number, not \"%s\"", what, scalar(n));
        return -1;
    }
    if (v < min || v > max) {
        err_at(c, n, "%s must be between %u and %u, not %llu", what, min, max, v);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

/* A duration within [min, max]; zero is allowed when zero_ok. */
static int get_duration(struct ctx *c, const yaml_node_t *n, const char *what, uint64_t min,
                        uint64_t max, bool zero_ok, uint64_t *out)
{
    char err[256], a[32], b[32];
    uint64_t v;

    if (!want_scalar(c, n, what))
        return -1;
    if (duration_parse(scalar(n), &v, err, sizeof(err)) < 0) {
        err_at(c, n, "%s: %s", what, err);
        return -1;
    }
    if (v == 0 && zero_ok) {
        *out = 0;
        return 0;
    }
    if (v < min || v > max) {
        duration_format(min, a, sizeof(a));
        duration_format(max, b, sizeof(b));
        err_at(c, n, "%s must be between %s and %s%s, not %s", what, a, b,
               zero_ok ? " (or 0 for never)" : "", scalar(n));
        return -1;
    }
    *out = v;
    return 0;
}

/* "did you mean" for a misspelt word among candidates. */
static const char *closest(const char *word, const char *const *cands, size_t n)
{
    const char *best = NULL;
    size_t bestd = SIZE_MAX;
    size_t limit = strlen(word) / 3 + 1;

    if (limit < 2)
        limit = 2;
    for (size_t i = 0; i < n; i++) {
        if (cands[i] == NULL)
            continue;
        /* "warn" for "warning": a clear abbreviation is a hint too. */
        if (strlen(word) >= 3 && strncmp(cands[i], word, strlen(word)) == 0)
            return cands[i];
        size_t d = levenshtein(word, cands[i]);
        if (d < bestd) {
            bestd = d;
            best = cands[i];
        }
    }
    return bestd <= limit ? best : NULL;
}

static void err_unknown(struct ctx *c, const yaml_node_t *n, const char *what, const char *word,
                        const char *const *cands, size_t ncands)
{
    const char *hint = closest(word, cands, ncands);

    if (hint)
        err_at(c, n, "unknown %s \"%s\" (did you mean \"%s\"?)", what, word, hint);
    else
        err_at(c, n, "unknown %s \"%s\"", what, word);
}

/* Whether an earlier key of map equals this pair's (a repeat is reported). */
static bool repeated_key(struct ctx *c, const yaml_node_t *map, const yaml_node_pair_t *pair,
                         bool ignore_case)
{
    yaml_node_t *k = node(c, pair->key);

    if (k->type != YAML_SCALAR_NODE)
        return false;
    for (const yaml_node_pair_t *p = map->data.mapping.pairs.start; p < pair; p++) {
        yaml_node_t *pk = node(c, p->key);
        if (pk->type == YAML_SCALAR_NODE && (ignore_case ? strcasecmp(scalar(pk), scalar(k))
                                                         : strcmp(scalar(pk), scalar(k))) == 0) {
            err_at(c, k, "duplicate key \"%s\" (first given at line %zu)", scalar(k),
                   pk->start_mark.line + 1);
            return true;
        }
    }
    return false;
}

/* Looks up a mapping key among names; reports unknown and repeated keys.
 * Returns the index, or -1 when the pair is to be skipped. */
static int mapping_key(struct ctx *c, const yaml_node_t *map, const yaml_node_pair_t *pair,
                       const char *what, const char *const *names, size_t nnames)
{
    yaml_node_t *k = node(c, pair->key);

    if (k->type != YAML_SCALAR_NODE) {
        err_at(c, k, "%s keys must be names, not %s", what, node_kind(k));
        return -1;
    }
    /* Known keys first: an unknown one is an error anyway, and checking
     * only the few known ones for repeats keeps a mapping of thousands
     * of stray keys cheap. */
    for (size_t i = 0; i < nnames; i++)
        if (names[i] && strcmp(scalar(k), names[i]) == 0)
            return repeated_key(c, map, pair, false) ? -1 : (int)i;
    err_unknown(c, k, what, scalar(k), names, nnames);
    return -1;
}

#define MAPPING_FOREACH(c, map, pair)                                                              \
    for (yaml_node_pair_t *pair = (map)->data.mapping.pairs.start;                                 \
         pair < (map)->data.mapping.pairs.top; pair++)

#define SEQUENCE_FOREACH(c, seq, item)                                                             \
    for (yaml_node_item_t *item = (seq)->data.sequence.items.start;                                \
         item < (seq)->data.sequence.items.top; item++)

/* ---- key/value lists ---- */

static void kv_free(struct kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].key);
        free(kv[i].value);
    }
    free(kv);
}

/* Sets key to value in a list, replacing an existing key. */
static void kv_set(struct kv **kv, size_t *n, const char *key, const char *value,
                   bool case_insensitive)
{
    for (size_t i = 0; i < *n; i++) {
        if (case_insensitive ? strcasecmp((*kv)[i].key, key) == 0
                             : strcmp((*kv)[i].key, key) == 0) {
            free((*kv)[i].value);
            (*kv)[i].value = xstrdup(value);
            return;
        }
    }
    *kv = xreallocarray(*kv, *n + 1, sizeof(**kv));
    (*kv)[*n].key = xstrdup(key);
    (*kv)[*n].value = xstrdup(value);
    (*n)++;
}

static bool kv_equal(const struct kv *a, size_t na, const struct kv *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i].key, b[i].key) != 0 || strcmp(a[i].value, b[i].value) != 0)
            return false;
    return true;
}

static bool is_token_char(unsigned char ch)
{
    return isalnum(ch) || strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

/* Headers or labels of one target or webhook: far more than anyone
 * needs, and few enough that checking them for repeats stays cheap. */
#define MAX_PAIRS 100

static bool within_limit(struct ctx *c, const yaml_node_t *map, const char *what, size_t max)
{
    size_t n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);

    if (n <= max)
        return true;
    err_at(c, map, "%s: %zu entries, at most %zu", what, n, max);
    return false;
}

static int get_headers(struct ctx *c, const yaml_node_t *n, const char *what, struct kv **kv,
                       size_t *nkv)
{
    int rc = 0;

    if (!want_mapping(c, n, what) || !within_limit(c, n, what, MAX_PAIRS))
        return -1;
    MAPPING_FOREACH(c, n, pair)
    {
        yaml_node_t *k = node(c, pair->key), *v = node(c, pair->value);
        if (!want_scalar(c, k, "a header name") || repeated_key(c, n, pair, true)) {
            rc = -1;
            continue;
        }
        const char *name = scalar(k);
        bool ok = name[0] != '\0';
        for (const char *p = name; *p; p++)
            ok = ok && is_token_char((unsigned char)*p);
        if (!ok) {
            err_at(c, k, "\"%s\" is not a valid header name", name);
            rc = -1;
            continue;
        }
        if (v->type != YAML_SCALAR_NODE) {
            err_at(c, v, "header %s must be a single value, not %s", name, node_kind(v));
            rc = -1;
            continue;
        }
        if (has_control_chars(scalar(v))) {
            err_at(c, v, "header %s must not contain line breaks or control characters", name);
            rc = -1;
            continue;
        }
        kv_set(kv, nkv, name, scalar(v), true);
    }
    return rc;
}

static bool valid_label_name(const char *s)
{
    if (!(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return false;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return false;
    return true;
}

static int get_labels(struct ctx *c, const yaml_node_t *n, struct kv **kv, size_t *nkv)
{
    int rc = 0;

    if (!want_mapping(c, n, "labels") || !within_limit(c, n, "labels", MAX_PAIRS))
        return -1;
    MAPPING_FOREACH(c, n, pair)
    {
        yaml_node_t *k = node(c, pair->key), *v = node(c, pair->value);
        if (!want_scalar(c, k, "a label name") || repeated_key(c, n, pair, false)) {
            rc = -1;
            continue;
        }
        /* 48 keeps UPMON_LABEL_<NAME> within journald's 64-byte field names. */
        if (!valid_label_name(scalar(k)) || strlen(scalar(k)) > 48) {
            err_at(c, k,
                   "label name \"%s\" must be letters, digits and underscores, not starting "
                   "with a digit (at most 48)",
                   scalar(k));
            rc = -1;
            continue;
        }
        if (!want_scalar(c, v, "a label value")) {
            rc = -1;
            continue;
        }
        if (has_control_chars(scalar(v))) {
            err_at(c, v, "label %s must not contain control characters", scalar(k));
            rc = -1;
            continue;
        }
        kv_set(kv, nkv, scalar(k), scalar(v), false);
    }
    return rc;
}

/* ---- status codes in expect and severity ---- */

static int parse_code_range(const char *s, struct code_range *r)
{
    unsigned long long v;

    if (strlen(s) == 3 && s[0] >= '1' && s[0] <= '5' && (s[1] == 'x' || s[1] == 'X') &&
        (s[2] == 'x' || s[2] == 'X')) {
        r->lo = (uint16_t)((s[0] - '0') * 100);
        r->hi = (uint16_t)(r->lo + 99);
        return 0;
    }
    if (parse_uint(s, &v) == 0 && v >= 100 && v <= 599) {
        r->lo = r->hi = (uint16_t)v;
        return 0;
    }
    return -1;
}

static int get_code_range(struct ctx *c, const yaml_node_t *n, const char *what,
                          struct code_range *r)
{
    if (!want_scalar(c, n, what))
        return -1;
    if (parse_code_range(scalar(n), r) < 0) {
        err_at(c, n, "%s: \"%s\" is not a status code (100-599) or a class (1xx to 5xx)", what,
               scalar(n));
        return -1;
    }
    return 0;
}

static int get_expect(struct ctx *c, const yaml_node_t *n, struct code_range **out, size_t *nout)
{
    struct code_range *v = NULL;
    size_t nv = 0;
    int rc = 0;

    if (n->type == YAML_SCALAR_NODE) {
        v = xmalloc(sizeof(*v));
        if (get_code_range(c, n, "expect", v) < 0) {
            free(v);
            return -1;
        }
        nv = 1;
    } else if (n->type == YAML_SEQUENCE_NODE) {
        size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
        if (count == 0) {
            err_at(c, n, "expect must list at least one status code or class");
            return -1;
        }
        v = xcalloc(count, sizeof(*v));
        SEQUENCE_FOREACH(c, n, item)
        {
            if (get_code_range(c, node(c, *item), "expect", &v[nv]) == 0)
                nv++;
            else
                rc = -1;
        }
    } else {
        err_at(c, n, "expect must be a status code, a class or a list of them, not %s",
               node_kind(n));
        return -1;
    }
    if (rc < 0) {
        free(v);
        return -1;
    }
    free(*out);
    *out = v;
    *nout = nv;
    return 0;
}

static int get_severity_rules(struct ctx *c, const yaml_node_t *n, struct severity_rule **out,
                              size_t *nout)
{
    struct severity_rule *v;
    size_t nv = 0;
    int rc = 0;

    if (!want_mapping(c, n, "severity"))
        return -1;
    v = xcalloc((size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start) + 1, sizeof(*v));
    MAPPING_FOREACH(c, n, pair)
    {
        yaml_node_t *k = node(c, pair->key), *val = node(c, pair->value);
        struct severity_rule r;
        if (repeated_key(c, n, pair, false) || get_code_range(c, k, "severity", &r.codes) < 0) {
            rc = -1;
            continue;
        }
        if (!want_scalar(c, val, "a severity")) {
            rc = -1;
            continue;
        }
        if (codes_severity_parse(scalar(val), &r.severity) < 0) {
            static const char *const sevs[] = {"ok", "warning", "critical"};
            err_unknown(c, val, "severity", scalar(val), sevs, ARRAY_SIZE(sevs));
            rc = -1;
            continue;
        }
        v[nv++] = r;
    }
    if (rc < 0) {
        free(v);
        return -1;
    }
    free(*out);
    *out = v;
    *nout = nv;
    return 0;
}

static bool ranges_equal(const struct code_range *a, size_t na, const struct code_range *b,
                         size_t nb)
{
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof(*a)) == 0);
}

/* ---- URLs ---- */

static int check_url(struct ctx *c, const yaml_node_t *n, const char *what)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    int rc = -1;

    if (u == NULL) {
        err_at(c, n, "%s: out of memory", what);
        return -1;
    }
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, scalar(n), 0);
    if (uc != CURLUE_OK) {
        err_at(c, n, "%s \"%s\" is not a valid URL: %s", what, scalar(n), curl_url_strerror(uc));
        goto out;
    }
    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
    if (scheme == NULL || (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
        err_at(c, n, "%s \"%s\": scheme must be http or https, not %s", what, scalar(n),
               scheme ? scheme : "none");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host == NULL || !host[0]) {
        err_at(c, n, "%s \"%s\" has no host", what, scalar(n));
        goto out;
    }
    rc = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

/* ---- targets ---- */

enum tkey {
    TK_NAME,
    TK_URL,
    TK_METHOD,
    TK_HEADERS,
    TK_BODY,
    TK_INTERVAL,
    TK_TIMEOUT,
    TK_EXPECT,
    TK_SEVERITY,
    TK_FOLLOW_REDIRECTS,
    TK_BODY_CONTAINS,
    TK_BODY_REGEX,
    TK_MAX_LATENCY,
    TK_TLS_VERIFY,
    TK_CERT_EXPIRY_WARNING,
    TK_LABELS,
    TK_WEBHOOKS,
    TK_ENABLED,
    TK_FAILURE_THRESHOLD,
    TK_RECOVERY_THRESHOLD,
    TK_REMIND_EVERY,
    TK_FLAP_THRESHOLD,
    TK_FLAP_WINDOW,
    TK_COUNT
};

static const char *const tkey_names[TK_COUNT] = {
    "name",
    "url",
    "method",
    "headers",
    "body",
    "interval",
    "timeout",
    "expect",
    "severity",
    "follow_redirects",
    "body_contains",
    "body_regex",
    "max_latency",
    "tls_verify",
    "cert_expiry_warning",
    "labels",
    "webhooks",
    "enabled",
    "failure_threshold",
    "recovery_threshold",
    "remind_every",
    "flap_threshold",
    "flap_window",
};

#define BIT(k) (1ull << (k))

/* A target, or a defaults block, as far as it has been given. */
struct partial {
    struct target_conf t;
    uint64_t set;   /* BIT(key) for each key given, and valid, at this level */
    uint64_t given; /* BIT(key) for each key given at this level, valid or not */
    struct pos pos[TK_COUNT];
};

static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};

static void target_conf_clear_field(struct target_conf *t, enum tkey k)
{
    switch (k) {
    case TK_NAME:
        free(t->name);
        t->name = NULL;
        break;
    case TK_URL:
        free(t->url);
        t->url = NULL;
        break;
    case TK_METHOD:
        free(t->method);
        t->method = NULL;
        break;
    case TK_HEADERS:
        kv_free(t->headers, t->nheaders);
        t->headers = NULL;
        t->nheaders = 0;
        break;
    case TK_BODY:
        free(t->body);
        t->body = NULL;
        break;
    case TK_EXPECT:
        free(t->expect);
        t->expect = NULL;
        t->nexpect = 0;
        break;
    case TK_SEVERITY:
        free(t->severity);
        t->severity = NULL;
        t->nseverity = 0;
        break;
    case TK_BODY_CONTAINS:
        free(t->body_contains);
        t->body_contains = NULL;
        break;
    case TK_BODY_REGEX:
        free(t->body_regex_src);
        t->body_regex_src = NULL;
        if (t->body_regex) {
            regfree(t->body_regex);
            free(t->body_regex);
            t->body_regex = NULL;
        }
        break;
    case TK_LABELS:
        kv_free(t->labels, t->nlabels);
        t->labels = NULL;
        t->nlabels = 0;
        break;
    case TK_WEBHOOKS:
        for (size_t i = 0; i < t->nwebhooks; i++)
            free(t->webhooks[i]);
        free(t->webhooks);
        t->webhooks = NULL;
        t->nwebhooks = 0;
        t->webhooks_set = false;
        break;
    default:
        break; /* plain values */
    }
}

static void target_conf_clear(struct target_conf *t)
{
    for (int k = 0; k < TK_COUNT; k++)
        target_conf_clear_field(t, (enum tkey)k);
}

static char *xstrdup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

/* Copies one field from src over dst. Headers and labels merge. */
static void target_conf_copy_field(struct target_conf *dst, const struct target_conf *src,
                                   enum tkey k, bool merge)
{
    if (!(merge && (k == TK_HEADERS || k == TK_LABELS)))
        target_conf_clear_field(dst, k);
    switch (k) {
    case TK_NAME:
        dst->name = xstrdup_or_null(src->name);
        break;
    case TK_URL:
        dst->url = xstrdup_or_null(src->url);
        break;
    case TK_METHOD:
        dst->method = xstrdup_or_null(src->method);
        break;
    case TK_HEADERS:
        for (size_t i = 0; i < src->nheaders; i++)
            kv_set(&dst->headers, &dst->nheaders, src->headers[i].key, src->headers[i].value, true);
        break;
    case TK_BODY:
        dst->body = xstrdup_or_null(src->body);
        break;
    case TK_INTERVAL:
        dst->interval_ms = src->interval_ms;
        break;
    case TK_TIMEOUT:
        dst->timeout_ms = src->timeout_ms;
        break;
    case TK_EXPECT:
        if (src->nexpect) {
            dst->expect = xcalloc(src->nexpect, sizeof(*dst->expect));
            memcpy(dst->expect, src->expect, src->nexpect * sizeof(*dst->expect));
        }
        dst->nexpect = src->nexpect;
        break;
    case TK_SEVERITY:
        if (src->nseverity) {
            dst->severity = xcalloc(src->nseverity, sizeof(*dst->severity));
            memcpy(dst->severity, src->severity, src->nseverity * sizeof(*dst->severity));
        }
        dst->nseverity = src->nseverity;
        break;
    case TK_FOLLOW_REDIRECTS:
        dst->follow_redirects = src->follow_redirects;
        break;
    case TK_BODY_CONTAINS:
        dst->body_contains = xstrdup_or_null(src->body_contains);
        break;
    case TK_BODY_REGEX:
        dst->body_regex_src = xstrdup_or_null(src->body_regex_src);
        break;
    case TK_MAX_LATENCY:
        dst->max_latency_ms = src->max_latency_ms;
        break;
    case TK_TLS_VERIFY:
        dst->tls_verify = src->tls_verify;
        break;
    case TK_CERT_EXPIRY_WARNING:
        dst->cert_expiry_warning_ms = src->cert_expiry_warning_ms;
        break;
    case TK_LABELS:
        for (size_t i = 0; i < src->nlabels; i++)
            kv_set(&dst->labels, &dst->nlabels, src->labels[i].key, src->labels[i].value, false);
        break;
    case TK_WEBHOOKS:
        dst->webhooks = xcalloc(src->nwebhooks, sizeof(*dst->webhooks));
        for (size_t i = 0; i < src->nwebhooks; i++)
            dst->webhooks[i] = xstrdup(src->webhooks[i]);
        dst->nwebhooks = src->nwebhooks;
        dst->webhooks_set = src->webhooks_set;
        break;
    case TK_ENABLED:
        dst->enabled = src->enabled;
        break;
    case TK_FAILURE_THRESHOLD:
        dst->failure_threshold = src->failure_threshold;
        break;
    case TK_RECOVERY_THRESHOLD:
        dst->recovery_threshold = src->recovery_threshold;
        break;
    case TK_REMIND_EVERY:
        dst->remind_every_ms = src->remind_every_ms;
        break;
    case TK_FLAP_THRESHOLD:
        dst->flap_threshold = src->flap_threshold;
        break;
    case TK_FLAP_WINDOW:
        dst->flap_window = src->flap_window;
        break;
    case TK_COUNT:
        break;
    }
}

/* Lays the keys given in src over dst, as inheritance does. */
static void partial_overlay(struct partial *dst, const struct partial *src)
{
    for (int k = 0; k < TK_COUNT; k++) {
        if (!(src->set & BIT(k)))
            continue;
        target_conf_copy_field(&dst->t, &src->t, (enum tkey)k, true);
        dst->set |= BIT(k);
        dst->pos[k] = src->pos[k];
    }
}

static void partial_copy(struct partial *dst, const struct partial *src)
{
    memset(dst, 0, sizeof(*dst));
    for (int k = 0; k < TK_COUNT; k++)
        target_conf_copy_field(&dst->t, &src->t, (enum tkey)k, false);
    dst->set = src->set;
    memcpy(dst->pos, src->pos, sizeof(dst->pos));
}

static void builtin_defaults(struct partial *p)
{
    memset(p, 0, sizeof(*p));
    p->t.method = xstrdup("GET");
    p->t.interval_ms = 30000;
    p->t.timeout_ms = 10000;
    p->t.max_latency_ms = 0;
    p->t.cert_expiry_warning_ms = 14ull * 86400000ull;
    p->t.remind_every_ms = 0;
    p->t.failure_threshold = 2;
    p->t.recovery_threshold = 1;
    p->t.flap_threshold = 6;
    p->t.flap_window = 20;
    p->t.follow_redirects = false;
    p->t.tls_verify = true;
    p->t.enabled = true;
}

static bool valid_name(const char *s)
{
    return s[0] != '\0' && strlen(s) <= 200 && !has_control_chars(s);
}

static int get_webhook_names(struct ctx *c, const yaml_node_t *n, struct target_conf *t)
{
    const yaml_node_t *items[1] = {n};
    size_t count;
    int rc = 0;

    target_conf_clear_field(t, TK_WEBHOOKS);
    if (n->type == YAML_SCALAR_NODE && !is_null(n)) {

        count = 1;
    } else if (n->type == YAML_SEQUENCE_NODE || is_null(n)) {
        count =
            is_null(n) ? 0 : (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    } else {
        err_at(c, n, "webhooks must be a list of webhook names, not %s", node_kind(n));
        return -1;
    }
    t->webhooks = xcalloc(count, sizeof(*t->webhooks));
    t->webhooks_set = true;
    for (size_t i = 0; i < count; i++) {
        const yaml_node_t *it =
            n->type == YAML_SEQUENCE_NODE ? node(c, n->data.sequence.items.start[i]) : items[0];
        if (!want_scalar(c, it, "a webhook name")) {
            rc = -1;
            continue;
        }
        t->webhooks[t->nwebhooks++] = xstrdup(scalar(it));
    }
    return rc;
}

/* Parses one key of a target or defaults block into p. */
static int target_key(struct ctx *c, struct partial *p, enum tkey k, const yaml_node_t *v)
{
    struct target_conf *t = &p->t;
    const char *what = tkey_names[k];
    const uint64_t hour = 3600000, day = 86400000;

    switch (k) {
    case TK_NAME:
        if (get_string(c, v, what, &t->name) < 0)
            return -1;
        if (!valid_name(t->name)) {
            err_at(c, v, "name must be 1 to 200 characters without control characters");
            return -1;
        }
        return 0;
    case TK_URL:
        if (!want_scalar(c, v, what) || check_url(c, v, "url") < 0)
            return -1;
        return get_string(c, v, what, &t->url);
    case TK_METHOD:
        if (!want_scalar(c, v, what))
            return -1;
        for (size_t i = 0; i < ARRAY_SIZE(methods); i++) {
            if (strcmp(scalar(v), methods[i]) == 0)
                return get_string(c, v, what, &t->method);
        }
        {
            char upper[16];
            size_t i;
            for (i = 0; i + 1 < sizeof(upper) && scalar(v)[i]; i++)
                upper[i] = (char)toupper((unsigned char)scalar(v)[i]);
            upper[i] = '\0';
            const char *hint = closest(upper, methods, ARRAY_SIZE(methods));
            if (hint)
                err_at(c, v, "unknown method \"%s\" (did you mean \"%s\"?)", scalar(v), hint);
            else
                err_at(c, v,
                       "unknown method \"%s\" (use GET, HEAD, POST, PUT, PATCH, DELETE or "
                       "OPTIONS)",
                       scalar(v));
        }
        return -1;
    case TK_HEADERS:
        return get_headers(c, v, what, &t->headers, &t->nheaders);
    case TK_BODY:
        if (v->type != YAML_SCALAR_NODE) {
            err_at(c, v, "body must be text, not %s", node_kind(v));
            return -1;
        }
        free(t->body);
        t->body = xstrdup(scalar(v));
        return 0;
    case TK_INTERVAL:
        return get_duration(c, v, what, 1000, day, false, &t->interval_ms);
    case TK_TIMEOUT:
        return get_duration(c, v, what, 10, hour, false, &t->timeout_ms);
    case TK_MAX_LATENCY:
        return get_duration(c, v, what, 1, hour, true, &t->max_latency_ms);
    case TK_CERT_EXPIRY_WARNING:
        return get_duration(c, v, what, hour, 365 * day, true, &t->cert_expiry_warning_ms);
    case TK_REMIND_EVERY:
        return get_duration(c, v, what, 60000, 365 * day, true, &t->remind_every_ms);
    case TK_EXPECT:
        return get_expect(c, v, &t->expect, &t->nexpect);
    case TK_SEVERITY:
        return get_severity_rules(c, v, &t->severity, &t->nseverity);
    case TK_FOLLOW_REDIRECTS:
        return get_bool(c, v, what, &t->follow_redirects);
    case TK_TLS_VERIFY:
        return get_bool(c, v, what, &t->tls_verify);
    case TK_ENABLED:
        return get_bool(c, v, what, &t->enabled);
    case TK_BODY_CONTAINS:
        if (get_string(c, v, what, &t->body_contains) < 0)
            return -1;
        return 0;
    case TK_BODY_REGEX: {
        regex_t re;
        int rc;
        if (!want_scalar(c, v, what))
            return -1;
        rc = regcomp(&re, scalar(v), REG_EXTENDED | REG_NOSUB);
        if (rc != 0) {
            char msg[256];
            regerror(rc, &re, msg, sizeof(msg));
            err_at(c, v, "body_regex \"%s\" is not a valid extended regular expression: %s",
                   scalar(v), msg);
            return -1;
        }
        regfree(&re);
        target_conf_clear_field(t, TK_BODY_REGEX);
        t->body_regex_src = xstrdup(scalar(v));
        return 0;
    }
    case TK_LABELS:
        return get_labels(c, v, &t->labels, &t->nlabels);
    case TK_WEBHOOKS:
        return get_webhook_names(c, v, t);
    case TK_FAILURE_THRESHOLD:
        return get_uint(c, v, what, 1, 100, &t->failure_threshold);
    case TK_RECOVERY_THRESHOLD:
        return get_uint(c, v, what, 1, 100, &t->recovery_threshold);
    case TK_FLAP_THRESHOLD:
        return get_uint(c, v, what, 0, 100, &t->flap_threshold);
    case TK_FLAP_WINDOW:
        /* The state machine keeps the last 64 probes. */
        return get_uint(c, v, what, 2, 64, &t->flap_window);
    case TK_COUNT:
        break;
    }
    return -1;
}

/* Reads a target or defaults mapping into p (which starts empty). */
static void parse_partial(struct ctx *c, const yaml_node_t *map, struct partial *p, bool defaults)
{
    MAPPING_FOREACH(c, map, pair)
    {
        int k = mapping_key(c, map, pair, defaults ? "defaults key" : "target key", tkey_names,
                            TK_COUNT);
        if (k < 0)
            continue;
        yaml_node_t *keynode = node(c, pair->key);
        p->given |= BIT(k);
        if (defaults && (k == TK_NAME || k == TK_URL)) {
            err_at(c, keynode, "%s cannot be given in defaults, only in a target", tkey_names[k]);
            continue;
        }
        if (target_key(c, p, (enum tkey)k, node(c, pair->value)) == 0) {
            p->set |= BIT(k);
            p->pos[k] = pos_of(c, keynode);
        }
    }
}

/* Rules between keys. Each is reported only where one of its keys is given
 * at this level (own), so an error in defaults is not repeated per target. */
static int cross_check(struct ctx *c, const struct partial *merged, uint64_t own, bool clamped)
{
    const struct target_conf *t = &merged->t;
    char a[32], b[32];
    int rc = 0;

#define OWN(k)        (own & BIT(k))
#define WHERE(k1, k2) (OWN(k1) ? merged->pos[k1] : merged->pos[k2])
    if (t->timeout_ms > t->interval_ms && (merged->set & BIT(TK_TIMEOUT)) &&
        (OWN(TK_TIMEOUT) || OWN(TK_INTERVAL))) {
        duration_format(t->timeout_ms, a, sizeof(a));
        duration_format(t->interval_ms, b, sizeof(b));
        err_pos(c, WHERE(TK_TIMEOUT, TK_INTERVAL),
                "timeout %s is longer than interval %s: a probe must end before the next one "
                "is due",
                a, b);
        rc = -1;
    }
    /* A timeout never given follows a shorter interval down, so then the
     * interval is what breaks the rule. */
    if (t->max_latency_ms && t->max_latency_ms >= t->timeout_ms &&
        (OWN(TK_MAX_LATENCY) || OWN(TK_TIMEOUT) || (clamped && OWN(TK_INTERVAL)))) {
        duration_format(t->max_latency_ms, a, sizeof(a));
        duration_format(t->timeout_ms, b, sizeof(b));
        struct pos where = OWN(TK_MAX_LATENCY) ? merged->pos[TK_MAX_LATENCY]
                           : OWN(TK_TIMEOUT)   ? merged->pos[TK_TIMEOUT]
                                               : merged->pos[TK_INTERVAL];
        err_pos(c, where, "max_latency %s must be shorter than timeout %s", a, b);
        rc = -1;
    }
    if (t->flap_threshold && t->flap_threshold > t->flap_window &&
        (OWN(TK_FLAP_THRESHOLD) || OWN(TK_FLAP_WINDOW))) {
        err_pos(c, WHERE(TK_FLAP_THRESHOLD, TK_FLAP_WINDOW),
                "flap_threshold %u cannot exceed flap_window %u", t->flap_threshold,
                t->flap_window);
        rc = -1;
    }
    if (t->remind_every_ms && t->remind_every_ms < t->interval_ms &&
        (OWN(TK_REMIND_EVERY) || OWN(TK_INTERVAL))) {
        duration_format(t->remind_every_ms, a, sizeof(a));
        duration_format(t->interval_ms, b, sizeof(b));
        err_pos(c, WHERE(TK_REMIND_EVERY, TK_INTERVAL),
                "remind_every %s is shorter than interval %s", a, b);
        rc = -1;
    }
    if (t->body_contains && t->body_regex_src && (OWN(TK_BODY_CONTAINS) || OWN(TK_BODY_REGEX))) {
        err_pos(c, merged->pos[OWN(TK_BODY_REGEX) ? TK_BODY_REGEX : TK_BODY_CONTAINS],
                "give body_contains or body_regex, not both");
        rc = -1;
    }
    if (strcmp(t->method, "HEAD") == 0 && (t->body_contains || t->body_regex_src) &&
        (OWN(TK_METHOD) || OWN(TK_BODY_CONTAINS) || OWN(TK_BODY_REGEX))) {
        enum tkey k = OWN(TK_METHOD)     ? TK_METHOD
                      : t->body_contains ? TK_BODY_CONTAINS
                                         : TK_BODY_REGEX;
        err_pos(c, merged->pos[k],
                "a HEAD request has no body for body_contains or body_regex "
                "to check");
        rc = -1;
    }
#undef WHERE
#undef OWN
    return rc;
}

/* ---- loading files ---- */

/* Adds a file to cfg->files and returns its index. */
static size_t add_file(struct config *cfg, const char *path)
{
    cfg->files = xreallocarray(cfg->files, cfg->nfiles + 1, sizeof(*cfg->files));
    cfg->files[cfg->nfiles] = xstrdup(path);
    return cfg->nfiles++;
}

/* Loads a file into doc. On failure reports why (at `from` when given) and
 * returns -1; an empty file is an error as well. */
/* The line and column (from 1, in characters) of a byte offset into the
 * file: libyaml's reader errors (bad UTF-8, control characters) give only
 * the offset. */
static void offset_position(FILE *f, size_t offset, unsigned *line, unsigned *col)
{
    int ch;

    *line = *col = 1;
    if (fseek(f, 0, SEEK_SET) != 0)
        return;
    for (size_t i = 0; i < offset && (ch = getc(f)) != EOF; i++) {
        if (ch == '\n') {
            ++*line;
            *col = 1;
        } else if ((ch & 0xc0) != 0x80) {
            ++*col; /* UTF-8 continuation bytes are part of one character */
        }
    }
}

static const char not_regular[] = "not a regular file";

/* Opens a regular file to read. A directory, FIFO or device is refused at
 * once, not waited on (opening a FIFO blocks until a writer comes). On
 * failure, NULL and *why says what went wrong: not_regular, or the
 * error of open(2). */
static FILE *open_regular(const char *path, struct stat *st, const char **why)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    FILE *f = NULL;

    if (fd < 0) {
        *why = strerror(errno);
        return NULL;
    }
    if (fstat(fd, st) < 0)
        *why = strerror(errno);
    else if (!S_ISREG(st->st_mode))
        *why = not_regular;
    else if ((f = fdopen(fd, "rb")) == NULL)
        *why = strerror(errno);
    if (f == NULL)
        close(fd);
    return f;
}

static int load_document(struct ctx *c, size_t fileidx, yaml_document_t *doc)
{
    const char *path = c->cfg->files[fileidx];
    yaml_parser_t parser;
    struct stat st;
    const char *why;
    FILE *f;
    int rc = -1;

    f = open_regular(path, &st, &why);
    if (f == NULL) {
        err_file(c, fileidx, "%s%s", why == not_regular ? "" : "cannot open: ", why);
        return -1;
    }
    if ((unsigned long long)st.st_size > MAX_FILE_SIZE) {
        err_file(c, fileidx, "larger than %u MiB", MAX_FILE_SIZE >> 20);
        fclose(f);
        return -1;
    }
    if (!yaml_parser_initialize(&parser)) {
        err_file(c, fileidx, "out of memory");
        fclose(f);
        return -1;
    }
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, doc)) {
        unsigned line = (unsigned)parser.problem_mark.line + 1;
        unsigned col = (unsigned)parser.problem_mark.column + 1;
        if (parser.error == YAML_READER_ERROR)
            offset_position(f, parser.problem_offset, &line, &col);
        if (parser.context)
            err_pos(c, (struct pos){fileidx, line, col}, "%s %s", parser.problem, parser.context);
        else
            err_pos(c, (struct pos){fileidx, line, col}, "%s",
                    parser.problem ? parser.problem : "invalid YAML");
        goto out;
    }
    yaml_node_t *root = yaml_document_get_root_node(doc);
    if (root == NULL || (is_null(root) && root->start_mark.index == root->end_mark.index)) {
        err_file(c, fileidx, "file is empty");
        yaml_document_delete(doc);
        goto out;
    }
    {
        yaml_document_t extra;
        if (yaml_parser_load(&parser, &extra)) {
            yaml_node_t *second = yaml_document_get_root_node(&extra);
            if (second)
                err_pos(c,
                        (struct pos){fileidx, (unsigned)second->start_mark.line + 1,
                                     (unsigned)second->start_mark.column + 1},
                        "only one YAML document is allowed per file");
            yaml_document_delete(&extra);
            if (second) {
                yaml_document_delete(doc);
                goto out;
            }
        } else {
            err_pos(c,
                    (struct pos){fileidx, (unsigned)parser.problem_mark.line + 1,
                                 (unsigned)parser.problem_mark.column + 1},
                    "%s", parser.problem ? parser.problem : "invalid YAML");
            yaml_document_delete(doc);
            goto out;
        }
    }
    rc = 0;
out:
    yaml_parser_delete(&parser);
    fclose(f);
    return rc;
}

static void target_conf_finish(struct target_conf *t)
{
    if (t->body_regex_src) {
        t->body_regex = xmalloc(sizeof(*t->body_regex));
        /* Validated when parsed; only out of memory can fail here. */
        if (regcomp(t->body_regex, t->body_regex_src, REG_EXTENDED | REG_NOSUB) != 0) {
            free(t->body_regex);
            t->body_regex = NULL;
        }
    }
}

/* A target's list of webhooks, kept to be checked once all are known. */
struct route_ref {
    char *target;
    char **names;
    size_t n;
    struct pos pos;
};

struct loader {
    struct ctx *c;
    struct partial global; /* builtin + global defaults */
    struct strmap names;   /* target name -> index + 1 */
    size_t captargets;
    struct route_ref *routes;
    size_t nroutes;
};

static void add_route(struct loader *L, const struct partial *p)
{
    struct route_ref *r;

    L->routes = xreallocarray(L->routes, L->nroutes + 1, sizeof(*L->routes));
    r = &L->routes[L->nroutes++];
    r->target = xstrdup(p->t.name ? p->t.name : "");
    r->n = p->t.nwebhooks;
    r->names = xcalloc(r->n, sizeof(*r->names));
    for (size_t i = 0; i < r->n; i++)
        r->names[i] = xstrdup(p->t.webhooks[i]);
    r->pos = p->pos[TK_WEBHOOKS];
}

/* A timeout never given follows a shorter interval down; returns whether
 * it did. */
static bool clamp_timeout(struct partial *p)
{
    if (!(p->set & BIT(TK_TIMEOUT)) && p->t.timeout_ms > p->t.interval_ms) {
        p->t.timeout_ms = p->t.interval_ms;
        return true;
    }
    return false;
}

static void parse_targets(struct loader *L, const yaml_node_t *seq, const struct partial *base)
{
    struct ctx *c = L->c;
    struct config *cfg = c->cfg;

    if (is_null(seq))
        return;
    if (seq->type != YAML_SEQUENCE_NODE) {
        err_at(c, seq, "targets must be a list, not %s", node_kind(seq));
        return;
    }
    /* A YAML alias repeats a target node: the same name again, reported
     * once, without reading the node again (aliases cost nothing to write
     * and could make a small file take minutes to check). */
    bool *seen = xcalloc((size_t)(c->doc->nodes.top - c->doc->nodes.start) + 1, sizeof(*seen));
    SEQUENCE_FOREACH(c, seq, item)
    {
        yaml_node_t *tn = node(c, *item);
        struct partial own = {0};
        struct partial merged;
        bool ok;

        if (seen[*item]) {
            err_at(c, tn, "this target is repeated by an alias (*); target names must be unique");
            continue;
        }
        seen[*item] = true;
        if (!want_mapping(c, tn, "a target"))
            continue;
        size_t before = c->nitems;
        parse_partial(c, tn, &own, false);
        ok = c->nitems == before;
        if (!(own.given & BIT(TK_NAME))) {
            err_at(c, tn, "target has no name");
            ok = false;
        } else if (!(own.given & BIT(TK_URL))) {
            err_at(c, tn, "target %s has no url", own.t.name ? own.t.name : "");
            ok = false;
        }
        /* Rules between keys are checked on whatever parsed, so a target
         * with one mistake still has its others reported. */
        partial_copy(&merged, base);
        partial_overlay(&merged, &own);
        if (merged.t.webhooks_set)
            add_route(L, &merged);
        if (cross_check(c, &merged, own.set, clamp_timeout(&merged)) < 0)
            ok = false;
        target_conf_clear(&own.t);
        if (!ok) {
            /* Broken, but its name may still clash with a good one. */
            uintptr_t first = merged.t.name ? (uintptr_t)strmap_get(&L->names, merged.t.name) : 0;
            if (first && (own.set & BIT(TK_NAME))) {
                const struct target_conf *ft = &cfg->targets[first - 1];
                err_pos(c, merged.pos[TK_NAME],
                        "duplicate target name \"%s\" (first defined at %s:%u:%u)", merged.t.name,
                        ft->file, ft->line, ft->col);
            }
            target_conf_clear(&merged.t);
            continue;
        }
        merged.t.file = c->file;
        merged.t.line = (unsigned)tn->start_mark.line + 1;
        merged.t.col = (unsigned)tn->start_mark.column + 1;
        xgrow((void **)&cfg->targets, &L->captargets, cfg->ntargets, sizeof(*cfg->targets));
        size_t idx = cfg->ntargets;
        uintptr_t first = (uintptr_t)strmap_put(&L->names, merged.t.name, (void *)(idx + 1));
        if (first != 0) {
            const struct target_conf *ft = &cfg->targets[first - 1];
            err_pos(c, merged.pos[TK_NAME],
                    "duplicate target name \"%s\" (first defined at %s:%u:%u)", merged.t.name,
                    ft->file, ft->line, ft->col);
            target_conf_clear(&merged.t);
            continue;
        }
        target_conf_finish(&merged.t);
        cfg->targets[idx] = merged.t;
        cfg->ntargets++;
    }
    free(seen);
}

/* A defaults block laid over base, checked at its own level. */
static void parse_defaults(struct ctx *c, const yaml_node_t *map, struct partial *base)
{
    struct partial own = {0};

    if (is_null(map))
        return;
    if (!want_mapping(c, map, "defaults"))
        return;
    parse_partial(c, map, &own, true);
    partial_overlay(base, &own);
    /* Checked as a target that sets nothing itself will have it. */
    struct partial eff;
    partial_copy(&eff, base);
    cross_check(c, &eff, own.set, clamp_timeout(&eff));
    target_conf_clear(&eff.t);
    target_conf_clear(&own.t);
}

/* ---- webhooks ---- */

enum wkey {
    WK_NAME,
    WK_URL,
    WK_FORMAT,
    WK_SECRET_FILE,
    WK_SECRET_CREDENTIAL,
    WK_MIN_SEVERITY,
    WK_EVENTS,
    WK_TIMEOUT,
    WK_MAX_AGE,
    WK_HEADERS,
    WK_RETRY_INITIAL,
    WK_RETRY_MAX,
    WK_COUNT
};

static const char *const wkey_names[WK_COUNT] = {
    "name",   "url",     "format",  "secret_file", "secret_credential", "min_severity",
    "events", "timeout", "max_age", "headers",     "retry_initial",     "retry_max",
};

static const char *const format_names[] = {"standard", "slack", "alertmanager"};

const char *webhook_format_name(enum webhook_format f)
{
    return (unsigned)f < ARRAY_SIZE(format_names) ? format_names[f] : "standard";
}

/* Reads a secret from a file: the first line, without surrounding blanks. */
static char *read_secret(const char *path, char *err, size_t errlen)
{
    char buf[MAX_SECRET_SIZE + 1];
    size_t n;
    struct stat st;
    const char *why;
    FILE *f = open_regular(path, &st, &why);

    if (f == NULL) {
        errbuf_set(err, errlen, "cannot read %s: %s", path, why);
        return NULL;
    }
    n = fread(buf, 1, MAX_SECRET_SIZE + 1, f);
    bool failed = ferror(f);
    fclose(f);
    if (failed) {
        explicit_bzero(buf, sizeof(buf));
        errbuf_set(err, errlen, "cannot read %s", path);
        return NULL;
    }
    if (n > MAX_SECRET_SIZE) {
        explicit_bzero(buf, sizeof(buf));
        errbuf_set(err, errlen, "%s is larger than %d bytes", path, MAX_SECRET_SIZE);
        return NULL;
    }
    if (memchr(buf, '\0', n)) {
        explicit_bzero(buf, sizeof(buf));
        errbuf_set(err, errlen, "%s holds a NUL byte", path);
        return NULL;
    }
    buf[n] = '\0';
    char *s = buf;
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t len = strcspn(s, "\r\n");
    while (len > 0 && isspace((unsigned char)s[len - 1]))
        len--;
    if (len == 0) {
        errbuf_set(err, errlen, "%s is empty", path);
        return NULL;
    }
    char *secret = xstrndup(s, len);
    explicit_bzero(buf, sizeof(buf));
    return secret;
}

static void parse_webhook(struct ctx *c, const yaml_node_t *map)
{
    struct config *cfg = c->cfg;
    struct webhook_conf w = {0};
    struct pos wpos[WK_COUNT] = {{0}};
    uint32_t set = 0;
    size_t before = c->nitems;

    w.format = WEBHOOK_STANDARD;
    w.min_severity = SEV_WARNING;
    w.events = EVT_ALL;
    w.timeout_ms = 10000;
    w.max_age_ms = 86400000;
    w.retry_initial_ms = 1000;
    w.retry_max_ms = 300000;
    if (!want_mapping(c, map, "a webhook"))
        return;
    MAPPING_FOREACH(c, map, pair)
    {
        int k = mapping_key(c, map, pair, "webhook key", wkey_names, WK_COUNT);
        if (k < 0)
            continue;
        yaml_node_t *v = node(c, pair->value);
        int rc = -1;
        switch ((enum wkey)k) {
        case WK_NAME:
            rc = get_string(c, v, "name", &w.name);
            if (rc == 0 && !valid_name(w.name)) {
                err_at(c, v, "name must be 1 to 200 characters without control characters");
                rc = -1;
            }
            break;
        case WK_URL:
            if (want_scalar(c, v, "url") && check_url(c, v, "url") == 0)
                rc = get_string(c, v, "url", &w.url);
            break;
        case WK_FORMAT:
            if (!want_scalar(c, v, "format"))
                break;
            for (size_t i = 0; i < ARRAY_SIZE(format_names); i++) {
                if (strcmp(scalar(v), format_names[i]) == 0) {
                    w.format = (enum webhook_format)i;
                    rc = 0;
                }
            }
            if (rc < 0)
                err_unknown(c, v, "webhook format", scalar(v), format_names,
                            ARRAY_SIZE(format_names));
            break;
        case WK_SECRET_FILE:
        case WK_SECRET_CREDENTIAL: {
            char err[512];
            char *path;
            if (!want_scalar(c, v, wkey_names[k]))
                break;
            if (k == WK_SECRET_CREDENTIAL) {
                if (strchr(scalar(v), '/') || scalar(v)[0] == '.') {
                    err_at(c, v, "secret_credential must be a credential name, not a path");
                    break;
                }
                if (c->env == NULL || c->env->credentials_dir == NULL) {
                    err_at(c, v,
                           "secret_credential %s: $CREDENTIALS_DIRECTORY is not set (give the "
                           "secret with LoadCredential= in the unit, or use secret_file)",
                           scalar(v));
                    break;
                }
                path = xasprintf("%s/%s", c->env->credentials_dir, scalar(v));
            } else if (scalar(v)[0] == '/') {
                path = xstrdup(scalar(v));
            } else {
                path = xasprintf("%s/%s", c->basedir, scalar(v)); /* like watch globs */
            }
            free(w.secret);
            w.secret = read_secret(path, err, sizeof(err));
            if (w.secret == NULL)
                err_at(c, v, "%s: %s", wkey_names[k], err);
            else {
                free(w.secret_source);
                w.secret_source = xasprintf("%s %s", wkey_names[k], scalar(v));
                rc = 0;
            }
            free(path);
            break;
        }
        case WK_MIN_SEVERITY:
            if (!want_scalar(c, v, "min_severity"))
                break;
            rc = codes_severity_parse(scalar(v), &w.min_severity);
            if (rc < 0) {
                static const char *const sevs[] = {"ok", "warning", "critical"};
                err_unknown(c, v, "severity", scalar(v), sevs, ARRAY_SIZE(sevs));
            }
            break;
        case WK_EVENTS: {
            const char *evnames[EVT_COUNT];
            for (unsigned i = 0; i < EVT_COUNT; i++)
                evnames[i] = eventtype_name((enum event_type)i);
            if (v->type != YAML_SEQUENCE_NODE) {
                err_at(c, v, "events must be a list of event names, not %s", node_kind(v));
                break;
            }
            w.events = 0;
            rc = 0;
            SEQUENCE_FOREACH(c, v, item)
            {
                yaml_node_t *e = node(c, *item);
                enum event_type et;
                if (!want_scalar(c, e, "an event name")) {
                    rc = -1;
                } else if (eventtype_parse(scalar(e), &et) < 0) {
                    err_unknown(c, e, "event", scalar(e), evnames, EVT_COUNT);
                    rc = -1;
                } else {
                    w.events |= 1u << et;
                }
            }
            break;
        }
        case WK_TIMEOUT:
            rc = get_duration(c, v, "timeout", 100, 300000, false, &w.timeout_ms);
            break;
        case WK_MAX_AGE:
            rc = get_duration(c, v, "max_age", 60000, 30ull * 86400000, false, &w.max_age_ms);
            break;
        case WK_HEADERS:
            rc = get_headers(c, v, "headers", &w.headers, &w.nheaders);
            break;
        case WK_RETRY_INITIAL:
            rc = get_duration(c, v, "retry_initial", 100, 3600000, false, &w.retry_initial_ms);
            break;
        case WK_RETRY_MAX:
            rc = get_duration(c, v, "retry_max", 1000, 86400000, false, &w.retry_max_ms);
            break;
        case WK_COUNT:
            break;
        }
        if (rc == 0) {
            set |= 1u << k;
            wpos[k] = pos_of(c, node(c, pair->key));
        }
    }
    if (c->nitems == before) {
        if (!(set & (1u << WK_NAME)))
            err_at(c, map, "webhook has no name");
        else if (!(set & (1u << WK_URL)))
            err_at(c, map, "webhook %s has no url", w.name);
        else if (w.retry_max_ms < w.retry_initial_ms)
            err_pos(c, wpos[(set & (1u << WK_RETRY_MAX)) ? WK_RETRY_MAX : WK_RETRY_INITIAL],
                    "retry_max must not be shorter than retry_initial");
        else if ((set & (1u << WK_SECRET_FILE)) && (set & (1u << WK_SECRET_CREDENTIAL)))
            err_pos(c, wpos[WK_SECRET_CREDENTIAL],
                    "give secret_file or secret_credential, not both");
        else if (w.secret && w.format != WEBHOOK_STANDARD)
            err_pos(c, wpos[(set & (1u << WK_SECRET_FILE)) ? WK_SECRET_FILE : WK_SECRET_CREDENTIAL],
                    "the %s format is not signed; a secret is only used by the standard format",
                    format_names[w.format]);
        else if (w.secret && !payload_secret_valid(w.secret))
            err_pos(c, wpos[(set & (1u << WK_SECRET_FILE)) ? WK_SECRET_FILE : WK_SECRET_CREDENTIAL],
                    "the secret in %s must be \"whsec_\" followed by base64", w.secret_source);
        else {
            for (size_t i = 0; i < cfg->nwebhooks; i++) {
                if (strcmp(cfg->webhooks[i].name, w.name) == 0) {
                    err_pos(c, wpos[WK_NAME],
                            "duplicate webhook name \"%s\" (first defined at %s:%u:%u)", w.name,
                            cfg->webhooks[i].file, cfg->webhooks[i].line, cfg->webhooks[i].col);
                    goto discard;
                }
            }
            w.file = c->file;
            w.line = (unsigned)map->start_mark.line + 1;
            w.col = (unsigned)map->start_mark.column + 1;
            cfg->webhooks =
                xreallocarray(cfg->webhooks, cfg->nwebhooks + 1, sizeof(*cfg->webhooks));
            cfg->webhooks[cfg->nwebhooks++] = w;
            return;
        }
    }
discard:
    free(w.name);
    free(w.url);
    if (w.secret)
        explicit_bzero(w.secret, strlen(w.secret));
    free(w.secret);
    free(w.secret_source);
    kv_free(w.headers, w.nheaders);
}

static void parse_alerts(struct ctx *c, const yaml_node_t *map)
{
    static const char *const keys[] = {"journald", "webhooks"};

    if (!want_mapping(c, map, "alerts"))
        return;
    MAPPING_FOREACH(c, map, pair)
    {
        int k = mapping_key(c, map, pair, "alerts key", keys, ARRAY_SIZE(keys));
        yaml_node_t *v = node(c, pair->value);
        if (k == 0) {
            get_bool(c, v, "journald", &c->cfg->journald);
        } else if (k == 1) {
            if (is_null(v))
                continue;
            if (v->type != YAML_SEQUENCE_NODE) {
                err_at(c, v, "webhooks must be a list, not %s", node_kind(v));
                continue;
            }
            SEQUENCE_FOREACH(c, v, item)
            parse_webhook(c, node(c, *item));
        }
    }
}

static void parse_engine(struct ctx *c, const yaml_node_t *map)
{
    static const char *const keys[] = {"max_concurrent", "user_agent", "dns_cache"};

    if (!want_mapping(c, map, "engine"))
        return;
    MAPPING_FOREACH(c, map, pair)
    {
        int k = mapping_key(c, map, pair, "engine key", keys, ARRAY_SIZE(keys));
        yaml_node_t *v = node(c, pair->value);
        if (k == 0) {
            get_uint(c, v, "max_concurrent", 1, 100000, &c->cfg->max_concurrent);
        } else if (k == 1) {
            if (get_string(c, v, "user_agent", &c->cfg->user_agent) == 0 &&
                has_control_chars(c->cfg->user_agent))
                err_at(c, v, "user_agent must not contain control characters");
        } else if (k == 2) {
            get_duration(c, v, "dns_cache", 1000, 3600000, true, &c->cfg->dns_cache_ms);
        }
    }
}

/* Walks a watch list: its own defaults over the global ones, then targets. */
static void parse_watch_file(struct loader *L, size_t fileidx)
{
    static const char *const keys[] = {"defaults", "targets"};
    struct ctx *c = L->c;
    yaml_document_t doc;

    if (load_document(c, fileidx, &doc) < 0)
        return;
    c->fileidx = fileidx;
    c->file = c->cfg->files[fileidx];
    c->doc = &doc;

    yaml_node_t *root = yaml_document_get_root_node(&doc);
    const yaml_node_t *defaults = NULL, *targets = NULL;
    if (want_mapping(c, root, "a watch list")) {
        MAPPING_FOREACH(c, root, pair)
        {
            int k = mapping_key(c, root, pair, "watch-list key", keys, ARRAY_SIZE(keys));
            if (k == 0)
                defaults = node(c, pair->value);
            else if (k == 1)
                targets = node(c, pair->value);
        }
        struct partial base;
        partial_copy(&base, &L->global);
        if (defaults)
            parse_defaults(c, defaults, &base);
        if (targets)
            parse_targets(L, targets, &base);
        else
            err_at(c, root, "a watch list needs a targets: list");
        target_conf_clear(&base.t);
    }
    yaml_document_delete(&doc);
}

static bool has_glob_chars(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

/* glob(3) reports unreadable directories here. A missing one is no error
 * (an empty or absent watch.d is normal); anything else is. */
static int glob_errno;
static const char *glob_errpath;

static int glob_err(const char *path, int err)
{
    if (err == ENOENT || err == ENOTDIR)
        return 0;
    glob_errno = err;
    glob_errpath = path;
    return 1;
}

/* Expands one watch: entry relative to the main file's directory. A file
 * matched again (by another entry, or under another spelling such as
 * "./x.yaml") is read once: files are told apart by device and inode, kept
 * in c->watch_ids beside the paths. */
static void expand_watch(struct ctx *c, const yaml_node_t *n, const char *basedir, char ***paths,
                         size_t *npaths)
{
    glob_t g;
    char *pattern;
    int rc;

    if (!want_scalar(c, n, "a watch-list path or glob"))
        return;
    if (scalar(n)[0] == '/')
        pattern = xstrdup(scalar(n));
    else
        pattern = xasprintf("%s/%s", basedir, scalar(n));
    glob_errno = 0;
    rc = glob(pattern, GLOB_MARK, glob_err, &g);
    if (rc == GLOB_NOMATCH || (rc == 0 && g.gl_pathc == 0)) {
        if (!has_glob_chars(pattern))
            err_at(c, n, "watch list %s: %s", pattern, strerror(ENOENT));
    } else if (rc == GLOB_ABORTED) {
        err_at(c, n, "watch %s: cannot read %s: %s", pattern, glob_errpath, strerror(glob_errno));
    } else if (rc != 0) {
        err_at(c, n, "watch %s: cannot expand: out of memory", pattern);
    } else {
        for (size_t i = 0; i < g.gl_pathc; i++) {
            const char *p = g.gl_pathv[i];
            size_t len = strlen(p);
            if (len && p[len - 1] == '/') {
                /* A directory a glob matched is skipped; one named alone is
                 * a mistake (its files need a glob). */
                if (!has_glob_chars(pattern))
                    err_at(c, n, "watch list %s is a directory (its files: %s*.yaml)", p, p);
                continue;
            }
            /* One that cannot be stat-ed is kept: reading it says why. */
            struct file_id id = file_id_of(p);
            bool dup = same_id(&id, &c->main_id);
            for (size_t k = 0; k < *npaths && !dup; k++)
                dup = strcmp((*paths)[k], p) == 0 || same_id(&id, &c->watch_ids[k]);
            if (dup)
                continue;
            *paths = xreallocarray(*paths, *npaths + 1, sizeof(**paths));
            c->watch_ids = xreallocarray(c->watch_ids, *npaths + 1, sizeof(*c->watch_ids));
            (*paths)[*npaths] = xstrdup(p);
            c->watch_ids[*npaths] = id;
            (*npaths)++;
        }
    }
    globfree(&g);
    free(pattern);
}

/* Every webhook a target routes to must exist; a name given once in
 * inherited defaults is reported once. */
static void check_routes(struct loader *L)
{
    struct ctx *c = L->c;
    struct config *cfg = c->cfg;
    const char **names = xcalloc(cfg->nwebhooks + 1, sizeof(*names));
    struct strmap reported = {0}; /* "file:line:col:name" */
    char **keys = NULL;
    size_t nkeys = 0;

    for (size_t i = 0; i < cfg->nwebhooks; i++)
        names[i] = cfg->webhooks[i].name;
    for (size_t i = 0; i < L->nroutes; i++) {
        const struct route_ref *r = &L->routes[i];
        for (size_t j = 0; j < r->n; j++) {
            bool found = false;
            for (size_t w = 0; w < cfg->nwebhooks && !found; w++)
                found = strcmp(r->names[j], names[w]) == 0;
            if (found)
                continue;
            char *key =
                xasprintf("%zu:%u:%u:%s", r->pos.file, r->pos.line, r->pos.col, r->names[j]);
            if (strmap_get(&reported, key)) {
                free(key);
                continue; /* inherited from defaults: said once, where they are */
            }
            keys = xreallocarray(keys, nkeys + 1, sizeof(*keys));
            keys[nkeys++] = key;
            strmap_put(&reported, key, key);
            const char *hint = closest(r->names[j], names, cfg->nwebhooks);
            if (hint)
                err_pos(c, r->pos,
                        "target %s routes to unknown webhook \"%s\" (did you mean \"%s\"?)",
                        r->target, r->names[j], hint);
            else
                err_pos(c, r->pos, "target %s routes to unknown webhook \"%s\"", r->target,
                        r->names[j]);
        }
    }
    for (size_t i = 0; i < L->nroutes; i++) {
        for (size_t j = 0; j < L->routes[i].n; j++)
            free(L->routes[i].names[j]);
        free(L->routes[i].names);
        free(L->routes[i].target);
    }
    free(L->routes);
    for (size_t i = 0; i < nkeys; i++)
        free(keys[i]);
    free(keys);
    strmap_free(&reported);
    free(names);
}

struct config *config_load(const char *path, const struct config_env *env, struct diags *diags)
{
    static const char *const keys[] = {"defaults", "watch", "alerts", "engine", "targets"};
    struct config *cfg = xcalloc(1, sizeof(*cfg));
    struct ctx c = {0};
    struct loader L = {0};
    yaml_document_t doc;
    char **watch_paths = NULL;
    size_t nwatch = 0;

    cfg->path = xstrdup(path);
    cfg->journald = true;
    cfg->max_concurrent = 500;
    cfg->dns_cache_ms = 60000;
    cfg->user_agent = NULL;
    c.cfg = cfg;
    c.env = env;
    L.c = &c;
    builtin_defaults(&L.global);

    c.main_id = file_id_of(path);
    char *basedir = xstrdup(path);
    char *slash = strrchr(basedir, '/');
    if (slash == basedir)
        basedir[1] = '\0';
    else if (slash)
        *slash = '\0';
    else {
        free(basedir);
        basedir = xstrdup(".");
    }
    c.basedir = basedir;
    size_t mainidx = add_file(cfg, path);
    if (load_document(&c, mainidx, &doc) == 0) {
        c.fileidx = mainidx;
        c.file = cfg->files[mainidx];
        c.doc = &doc;
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        if (want_mapping(&c, root, "the configuration")) {
            const yaml_node_t *targets = NULL, *watch = NULL;
            MAPPING_FOREACH(&c, root, pair)
            {
                int k = mapping_key(&c, root, pair, "key", keys, ARRAY_SIZE(keys));
                yaml_node_t *v = node(&c, pair->value);
                switch (k) {
                case 0:
                    parse_defaults(&c, v, &L.global);
                    break;
                case 1:
                    watch = v;
                    break;
                case 2:
                    if (!is_null(v))
                        parse_alerts(&c, v);
                    break;
                case 3:
                    if (!is_null(v))
                        parse_engine(&c, v);
                    break;
                case 4:
                    targets = v;
                    break;
                }
            }
            if (targets)
                parse_targets(&L, targets, &L.global);
            if (watch && !is_null(watch)) {
                const char *dir = c.basedir;
                if (watch->type == YAML_SEQUENCE_NODE) {
                    SEQUENCE_FOREACH(&c, watch, item)
                    expand_watch(&c, node(&c, *item), dir, &watch_paths, &nwatch);
                } else {
                    expand_watch(&c, watch, dir, &watch_paths, &nwatch);
                }
            }
        }
        yaml_document_delete(&doc);
    }
    for (size_t i = 0; i < nwatch; i++) {
        size_t idx = add_file(cfg, watch_paths[i]);
        parse_watch_file(&L, idx);
        free(watch_paths[i]);
    }
    free(watch_paths);
    check_routes(&L);

    target_conf_clear(&L.global.t);
    strmap_free(&L.names);
    free(basedir);

    if (c.nitems > 1)
        qsort(c.items, c.nitems, sizeof(*c.items), diag_cmp);
    struct strmap said = {0};
    for (size_t i = 0; i < c.nitems; i++) {
        /* A YAML alias repeats a node, and with it the node's errors. */
        if (strmap_get(&said, c.items[i].msg)) {
            free(c.items[i].msg);
        } else {
            strmap_put(&said, c.items[i].msg, c.items[i].msg);
            diags_push(diags, c.items[i].msg);
        }
    }
    strmap_free(&said);
    free(c.items);
    free(c.watch_ids);
    if (c.nitems > 0) {
        config_free(cfg);
        return NULL;
    }
    return cfg;
}

static void webhook_conf_clear(struct webhook_conf *w)
{
    free(w->name);
    free(w->url);
    if (w->secret)
        explicit_bzero(w->secret, strlen(w->secret));
    free(w->secret);
    free(w->secret_source);
    kv_free(w->headers, w->nheaders);
}

void config_free(struct config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < cfg->ntargets; i++)
        target_conf_clear(&cfg->targets[i]);
    free(cfg->targets);
    for (size_t i = 0; i < cfg->nwebhooks; i++)
        webhook_conf_clear(&cfg->webhooks[i]);
    free(cfg->webhooks);
    for (size_t i = 0; i < cfg->nfiles; i++)
        free(cfg->files[i]);
    free(cfg->files);
    free(cfg->path);
    free(cfg->user_agent);
    free(cfg);
}

size_t config_watch_files(const struct config *cfg)
{
    return cfg->nfiles ? cfg->nfiles - 1 : 0;
}

void config_summary(const struct config *cfg, char *out, size_t len)
{
    size_t disabled = 0;

    for (size_t i = 0; i < cfg->ntargets; i++)
        if (!cfg->targets[i].enabled)
            disabled++;
    snprintf(out, len, "%zu target%s (%zu disabled) from %zu watch file%s, %zu webhook%s",
             cfg->ntargets, cfg->ntargets == 1 ? "" : "s", disabled, config_watch_files(cfg),
             config_watch_files(cfg) == 1 ? "" : "s", cfg->nwebhooks,
             cfg->nwebhooks == 1 ? "" : "s");
}

static bool str_eq(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

bool target_conf_equal(const struct target_conf *a, const struct target_conf *b)
{
    if (!str_eq(a->name, b->name) || !str_eq(a->url, b->url) || !str_eq(a->method, b->method) ||
        !str_eq(a->body, b->body) || !str_eq(a->body_contains, b->body_contains) ||
        !str_eq(a->body_regex_src, b->body_regex_src))
        return false;
    if (a->interval_ms != b->interval_ms || a->timeout_ms != b->timeout_ms ||
        a->max_latency_ms != b->max_latency_ms ||
        a->cert_expiry_warning_ms != b->cert_expiry_warning_ms ||
        a->remind_every_ms != b->remind_every_ms || a->failure_threshold != b->failure_threshold ||
        a->recovery_threshold != b->recovery_threshold || a->flap_threshold != b->flap_threshold ||
        a->flap_window != b->flap_window || a->follow_redirects != b->follow_redirects ||
        a->tls_verify != b->tls_verify || a->enabled != b->enabled ||
        a->webhooks_set != b->webhooks_set)
        return false;
    if (!kv_equal(a->headers, a->nheaders, b->headers, b->nheaders) ||
        !kv_equal(a->labels, a->nlabels, b->labels, b->nlabels) ||
        !ranges_equal(a->expect, a->nexpect, b->expect, b->nexpect))
        return false;
    if (a->nseverity != b->nseverity ||
        (a->nseverity && memcmp(a->severity, b->severity, a->nseverity * sizeof(*a->severity))))
        return false;
    if (a->nwebhooks != b->nwebhooks)
        return false;
    for (size_t i = 0; i < a->nwebhooks; i++)
        if (strcmp(a->webhooks[i], b->webhooks[i]) != 0)
            return false;
    return true;
}

bool webhook_conf_equal(const struct webhook_conf *a, const struct webhook_conf *b)
{
    return str_eq(a->name, b->name) && str_eq(a->url, b->url) && a->format == b->format &&
           str_eq(a->secret, b->secret) && a->min_severity == b->min_severity &&
           a->events == b->events && a->timeout_ms == b->timeout_ms &&
           a->max_age_ms == b->max_age_ms && a->retry_initial_ms == b->retry_initial_ms &&
           a->retry_max_ms == b->retry_max_ms &&
           kv_equal(a->headers, a->nheaders, b->headers, b->nheaders);
}

bool target_routes_to(const struct target_conf *t, const char *webhook)
{
    if (!t->webhooks_set)
        return true;
    for (size_t i = 0; i < t->nwebhooks; i++)
        if (strcmp(t->webhooks[i], webhook) == 0)
            return true;
    return false;
}
