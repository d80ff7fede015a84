/* Reading configuration YAML: diagnostics with positions, node helpers,
 * and loading one file into a libyaml document (which resolves anchors and
 * aliases and keeps each node's position). */
#include "confyaml.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FILE_SIZE (64u << 20)

/* ---- diagnostics ---- */

struct diag_item {
    size_t file; /* index into cfg->files, or SIZE_MAX for none */
    unsigned line, col;
    size_t seq;
    char *msg;
};

struct file_id file_id_of(const char *path)
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

bool same_id(const struct file_id *a, const struct file_id *b)
{
    return a->known && b->known && a->dev == b->dev && a->ino == b->ino;
}

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
void PRINTF_LIKE(3, 4) err_at(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vdiag(c, c->fileidx, (unsigned)n->start_mark.line + 1, (unsigned)n->start_mark.column + 1, fmt,
          ap);
    va_end(ap);
}

/* An error about a whole file, or about nothing in particular. */
void PRINTF_LIKE(3, 4) err_file(struct ctx *c, size_t fileidx, const char *fmt, ...)
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

struct pos pos_of(const struct ctx *c, const yaml_node_t *n)
{
    struct pos p = {c->fileidx, (unsigned)n->start_mark.line + 1,
                    (unsigned)n->start_mark.column + 1};
    return p;
}

void PRINTF_LIKE(3, 4) err_pos(struct ctx *c, struct pos p, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vdiag(c, p.file, p.line, p.col, fmt, ap);
    va_end(ap);
}

size_t ctx_take_diags(struct ctx *c, struct diags *diags)
{
    struct strmap said = {0};
    size_t n = c->nitems;

    if (c->nitems > 1)
        qsort(c->items, c->nitems, sizeof(*c->items), diag_cmp);
    for (size_t i = 0; i < c->nitems; i++) {
        /* A YAML alias repeats a node, and with it the node's errors. */
        if (strmap_get(&said, c->items[i].msg)) {
            free(c->items[i].msg);
        } else {
            strmap_put(&said, c->items[i].msg, c->items[i].msg);
            diags_push(diags, c->items[i].msg);
        }
    }
    strmap_free(&said);
    free(c->items);
    c->items = NULL;
    c->nitems = c->capitems = 0;
    return n;
}

size_t ctx_add_file(struct ctx *c, const char *path)
{
    struct config *cfg = c->cfg;

    cfg->files = xreallocarray(cfg->files, cfg->nfiles + 1, sizeof(*cfg->files));
    cfg->files[cfg->nfiles] = xstrdup(path);
    return cfg->nfiles++;
}

int parse_uint(const char *s, unsigned long long *out)
{
    char *end;

    if (!isdigit((unsigned char)s[0]))
        return -1;
    errno = 0;
    *out = strtoull(s, &end, 10);
    return (errno || *end) ? -1 : 0;
}

/* ---- YAML node helpers ---- */

yaml_node_t *node(struct ctx *c, int idx)
{
    return yaml_document_get_node(c->doc, idx);
}

const char *node_kind(const yaml_node_t *n)
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

bool is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *s = (const char *)n->data.scalar.value;
    return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0;
}

const char *scalar(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

bool want_mapping(struct ctx *c, const yaml_node_t *n, const char *what)
{
    if (n->type == YAML_MAPPING_NODE)
        return true;
    err_at(c, n, "%s must be a mapping, not %s", what, node_kind(n));
    return false;
}

bool want_scalar(struct ctx *c, const yaml_node_t *n, const char *what)
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
bool has_control_chars(const char *s)
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

/* "did you mean" for a misspelt word among candidates. */
const char *closest(const char *word, const char *const *cands, size_t n)
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

void err_unknown(struct ctx *c, const yaml_node_t *n, const char *what, const char *word,
                 const char *const *cands, size_t ncands)
{
    const char *hint = closest(word, cands, ncands);

    if (hint)
        err_at(c, n, "unknown %s \"%s\" (did you mean \"%s\"?)", what, word, hint);
    else
        err_at(c, n, "unknown %s \"%s\"", what, word);
}

/* Whether an earlier key of map equals this pair's (a repeat is reported). */
bool repeated_key(struct ctx *c, const yaml_node_t *map, const yaml_node_pair_t *pair,
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

const char not_regular[] = "not a regular file";

/* Opens a regular file to read. A directory, FIFO or device is refused at
 * once, not waited on (opening a FIFO blocks until a writer comes). On
 * failure, NULL and *why says what went wrong: not_regular, or the
 * error of open(2). */
FILE *open_regular(const char *path, struct stat *st, const char **why)
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

int load_document(struct ctx *c, size_t fileidx, yaml_document_t *doc)
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
