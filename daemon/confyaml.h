/* Reading configuration YAML: the loader's context, diagnostics with their
 * positions, node helpers and the scalar readers every key is built from.
 * Internal to the configuration modules (config, schema, secret); the
 * rest of the daemon sees only config.h. Each reader reports its own error
 * at the node and returns -1, so the caller just goes on to the next key:
 * one run reports every mistake. */
#ifndef UPMON_CONFYAML_H
#define UPMON_CONFYAML_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#include <yaml.h>

#include "config.h"
#include "util.h"

/* A file told apart from others by device and inode, whatever its path
 * ("./x.yaml" or a link is still x.yaml). */
struct file_id {
    bool known; /* stat(2) succeeded */
    dev_t dev;
    ino_t ino;
};

struct file_id file_id_of(const char *path);
bool same_id(const struct file_id *a, const struct file_id *b);

struct diag_item;

/* One load of the configuration: where it is, and what went wrong so far. */
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

/* Where a value was written, so an error can point at it later. */
struct pos {
    size_t file; /* index into cfg->files */
    unsigned line, col;
};

struct pos pos_of(const struct ctx *c, const yaml_node_t *n);

/* An error at a node of the current document. */
void err_at(struct ctx *c, const yaml_node_t *n, const char *fmt, ...) PRINTF_LIKE(3, 4);
/* An error at a position kept from earlier. */
void err_pos(struct ctx *c, struct pos p, const char *fmt, ...) PRINTF_LIKE(3, 4);
/* An error about a whole file (SIZE_MAX: about nothing in particular). */
void err_file(struct ctx *c, size_t fileidx, const char *fmt, ...) PRINTF_LIKE(3, 4);

/* Moves the errors into diags, sorted by file and position, each said
 * once (a YAML alias repeats a node, and with it the node's errors).
 * Returns how many there were before the repeats went. */
size_t ctx_take_diags(struct ctx *c, struct diags *diags);

/* ---- nodes ---- */

yaml_node_t *node(struct ctx *c, int idx);
const char *node_kind(const yaml_node_t *n); /* "a scalar", "a list", ... */
bool is_null(const yaml_node_t *n);
const char *scalar(const yaml_node_t *n);
bool want_mapping(struct ctx *c, const yaml_node_t *n, const char *what);
bool want_scalar(struct ctx *c, const yaml_node_t *n, const char *what);

#define MAPPING_FOREACH(c, map, pair)                                                              \
    for (yaml_node_pair_t *pair = (map)->data.mapping.pairs.start;                                 \
         pair < (map)->data.mapping.pairs.top; pair++)

#define SEQUENCE_FOREACH(c, seq, item)                                                             \
    for (yaml_node_item_t *item = (seq)->data.sequence.items.start;                                \
         item < (seq)->data.sequence.items.top; item++)

/* Control characters, C1 controls and the Unicode line and paragraph
 * separators: none belongs in a name or a header. */
bool has_control_chars(const char *s);

/* A decimal number and nothing else. */
int parse_uint(const char *s, unsigned long long *out);

/* "did you mean" for a misspelt word among candidates (NULLs skipped). */
const char *closest(const char *word, const char *const *cands, size_t n);
void err_unknown(struct ctx *c, const yaml_node_t *n, const char *what, const char *word,
                 const char *const *cands, size_t ncands);

/* Whether an earlier key of map equals this pair's (a repeat is reported). */
bool repeated_key(struct ctx *c, const yaml_node_t *map, const yaml_node_pair_t *pair,
                  bool ignore_case);

/* ---- files ---- */

/* Adds a file to cfg->files and returns its index. */
size_t ctx_add_file(struct ctx *c, const char *path);

/* Opens a regular file to read, never waiting on a FIFO or device. On
 * failure, NULL and *why says what went wrong (not_regular, or strerror). */
FILE *open_regular(const char *path, struct stat *st, const char **why);
extern const char not_regular[];

/* Loads one file of cfg->files into doc; on failure reports why and
 * returns -1 (an empty file, or more than one document, is an error). */
int load_document(struct ctx *c, size_t fileidx, yaml_document_t *doc);

#endif
