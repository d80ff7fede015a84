/* The configuration schema: one table per level of the configuration
 * (target, webhook, alerts, engine, the main file, a watch list), one row
 * per key. A row is the master copy of its key: name, type, bounds,
 * default, the field it fills, flags and a line of documentation. Parsing,
 * defaults, inheritance, copying, freeing, reload equality, the
 * --check-config --verbose dump and the JSON Schema all run over the rows
 * (tmux's options-table.c, Redis's standardConfig, systemd's
 * ConfigPerfItem). Only compound keys (expect, severity, headers, labels,
 * webhooks, body_regex, header_matches, json, secrets) bring hand-written
 * functions, as ops.
 *
 * Adding a plain key is one row here (in confschema.c) plus its entry in
 * upmon.yaml(5); tests hold the two to each other. */
#ifndef UPMON_SCHEMA_H
#define UPMON_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "confyaml.h"
#include "names.h"

enum opt_type {
    OPT_STRING,   /* char *: a non-empty scalar */
    OPT_TEXT,     /* char *: any scalar, empty included (a request body) */
    OPT_BOOL,     /* bool */
    OPT_UINT,     /* unsigned, within [min, max] */
    OPT_DURATION, /* uint64_t milliseconds, within [min, max] */
    OPT_SIZE,     /* uint64_t bytes, within [min, max] */
    OPT_ENUM,     /* an enum (int-sized), one of choices */
    OPT_FLAGS,    /* uint32_t, one bit per choice, written as a list of names */
    OPT_NODE,     /* const yaml_node_t *: kept for the loader to walk in its order */
    OPT_CUSTOM,   /* compound: ops do everything */
};

enum opt_flag {
    OPT_REQUIRED = 1u << 0,    /* must be given */
    OPT_NO_DEFAULTS = 1u << 1, /* not allowed in a defaults block */
    OPT_PROBE = 1u << 2,       /* changes the request: a reload restarts the probe */
    /* A secret: a dump shows where it came from (custom keys) or
     * "(secret)", never the value. */
    OPT_SECRET = 1u << 3,
    OPT_ZERO_OFF = 1u << 4, /* 0 is allowed and turns the key off */
    OPT_MERGE = 1u << 5,    /* inherited entry by entry, not replaced */
    OPT_URL = 1u << 6,      /* a dump hides its password; with OPT_SECRET, all but its origin */
};

/* A closed set of names, such as the severities, as a key takes them. */
struct choices {
    const char *noun; /* for messages: unknown NOUN "x" */
    const struct names *set;
};

struct opt;
struct schema_level;

/* The hand-written part of a compound key. base is the struct the level
 * fills (a struct target_conf, say). parse, clear, value and schema are
 * required; copy only at a level with inheritance (targets), equal only at
 * a level compared on reload (targets, webhooks). An OPT_NODE row has ops
 * only for its schema. */
struct opt_ops {
    int (*parse)(struct ctx *c, const yaml_node_t *v, const struct opt *o, void *base);
    void (*copy)(void *dst, const void *src, const struct opt *o, bool merge);
    void (*clear)(void *base, const struct opt *o);
    bool (*equal)(const void *a, const void *b, const struct opt *o);
    json_t *(*value)(const void *base, const struct opt *o); /* for the dump */
    json_t *(*schema)(const struct opt *o);                  /* JSON Schema of the value */
};

struct opt {
    const char *name;
    enum opt_type type;
    size_t offset; /* of the field it fills */
    size_t aux;    /* a second field of compound keys (a count, a compiled form) */
    unsigned flags;
    uint64_t min, max; /* bounds of OPT_UINT, OPT_DURATION (ms) and OPT_SIZE (bytes) */
    const char *def;   /* the default as written in YAML, or NULL for none */
    const struct choices *choices;
    /* An extra check of a string's value; reports its own error. */
    int (*check)(struct ctx *c, const yaml_node_t *v, const char *value);
    const struct opt_ops *ops;
    const struct schema_level *sub; /* the level of a nested mapping, or a list of them */
    const char *doc;
};

struct schema_level {
    const char *name; /* "target", "webhook", ... */
    const struct opt *opts;
    unsigned n;
};

/* The field at offset off of base. */
#define FIELD(base, off) ((char *)(base) + (off))

/* The most keys a level may have: `set` masks are 64 bits. */
#define SCHEMA_MAX_KEYS 64
#define KEY_BIT(i)      (1ull << (i))

/* What one mapping gave, key by key. */
struct given {
    uint64_t set;   /* KEY_BIT(i) for each key given, and valid */
    uint64_t given; /* KEY_BIT(i) for each key given, valid or not */
    struct pos pos[SCHEMA_MAX_KEYS];
};

extern const struct schema_level schema_target, schema_webhook, schema_alerts, schema_engine,
    schema_http, schema_history, schema_instance, schema_main, schema_watch, schema_window,
    schema_maint_rule;

/* The index of a key in its level; aborts for a name not there (a
 * programming error, caught by every test that loads a file). */
unsigned schema_index(const struct schema_level *l, const char *name);

/* Reads the keys of map into base, reporting unknown and repeated keys
 * ("unknown WHAT ..."). With defaults, OPT_NO_DEFAULTS keys are refused. */
void schema_parse(struct ctx *c, const struct schema_level *l, const yaml_node_t *map, void *base,
                  const char *what, bool defaults, struct given *g);

/* Sets every key of base that has a default to it. */
void schema_defaults(const struct schema_level *l, void *base);

/* Copies key i of src over dst; with merge, OPT_MERGE keys add to dst. */
void schema_copy(const struct schema_level *l, unsigned i, void *dst, const void *src, bool merge);
void schema_copy_all(const struct schema_level *l, void *dst, const void *src);
void schema_clear(const struct schema_level *l, void *base);

/* Whether two strings, either of them NULL, are the same. */
bool str_eq(const char *a, const char *b);

/* Whether every key whose flags include all of `flags` is equal (0: all). */
bool schema_equal(const struct schema_level *l, const void *a, const void *b, unsigned flags);

/* The values of base, key by key, as JSON (secrets as "(secret)"). */
json_t *schema_values(const struct schema_level *l, const void *base);

/* The JSON Schema of the main file or of a watch list. */
json_t *schema_json(const struct schema_level *l, const char *title);
/* Of one level's mapping; for a defaults block, without the keys it may
 * not hold and with none required. */
json_t *schema_level_json(const struct schema_level *l, bool defaults);

/* The nodes of a main file or a watch list, walked by the loader in its
 * own order (defaults before targets, whatever the file's order). */
struct doc_nodes {
    const yaml_node_t *defaults, *watch, *alerts, *engine, *http, *history, *instance, *maintenance,
        *targets;
};

/* Reads one webhook mapping into cfg (the loader, config.c). */
void config_parse_webhook(struct ctx *c, const yaml_node_t *map);

/* The JSON Schema of one of a set of names. */
json_t *schema_choices_json(const struct choices *ch);
/* Of a value the loader reads as text: YAML may have typed it a number or
 * a boolean (a webhook named 2024). */
json_t *schema_text_json(void);

/* ---- checks shared by levels (confschema.c) ---- */

/* A short text people read (a name): 1 to 200 characters, no controls;
 * key names it in the message. */
int check_short_text(struct ctx *c, const yaml_node_t *v, const char *value, const char *key);
int check_name(struct ctx *c, const yaml_node_t *v, const char *value);
/* How many names a key given as a name or a list of names holds (null:
 * none); -1, reported with kind, for anything else. */
int names_count(struct ctx *c, const yaml_node_t *n, const char *kind, size_t *count);
/* The JSON Schema of a name or a list of names. */
json_t *name_list_schema(const struct opt *o);

/* ---- readers and compound keys shared by levels (confkeys.c) ---- */

extern const struct choices severity_choices;
extern const struct opt_ops headers_ops, labels_ops, expect_ops, severity_ops;

/* ---- content checks (confassert.c) ---- */

extern const struct opt_ops header_matches_ops, json_ops;

/* ---- keys read from files (conffiles.c) ---- */

extern const struct opt_ops secret_file_ops, secret_credential_ops, cert_file_ops, key_file_ops,
    key_credential_ops, dir_ops, basic_auth_ops;

/* The path of the file a key names: as given when absolute, else from the
 * main file's directory; for a credential, in $CREDENTIALS_DIRECTORY.
 * NULL when there is none (reported at v). */
char *key_path(struct ctx *c, const yaml_node_t *v, const char *key, bool credential);

/* A header value given as {file: PATH} or {credential: NAME}, with an
 * optional prefix ("Bearer "): the file's first line. NULL when it cannot
 * be read (reported). */
char *header_value_from_file(struct ctx *c, const yaml_node_t *map, const char *header);
json_t *header_value_schema(void);

/* Whether a PEM private key belongs to the first certificate of a PEM
 * file. */
bool tls_key_matches(const char *cert_pem, const char *key_pem);

/* A field name as HTTP writes them (RFC 9110, 5.1: a token). */
bool valid_header_name(const char *s);

/* ---- maintenance windows (confwindow.c) and dependencies (confdeps.c) ---- */

extern const struct opt_ops days_ops, windows_ops, match_ops, target_names_ops, maintenance_ops;
/* A deep copy of a window as configured (dst is overwritten). */
void window_conf_copy(struct window *dst, const struct window *src);
int check_window_start(struct ctx *c, const yaml_node_t *v, const char *value);
int check_window_time(struct ctx *c, const yaml_node_t *v, const char *value);
int check_timezone(struct ctx *c, const yaml_node_t *v, const char *value);
int check_comment(struct ctx *c, const yaml_node_t *v, const char *value);

/* Reads the main file's maintenance list into cfg->maintenance. */
void config_parse_maintenance(struct ctx *c, const yaml_node_t *seq);
/* Once every target is read: the targets named by depends_on and by the
 * main file's windows exist, depends_on makes no cycle (each target of
 * one is reported, with the cycle), each target learns how many depend
 * on it, and the main file's windows join those of the targets they
 * select. depends_pos[i]: where target i's depends_on was given. */
void config_link_targets(struct ctx *c, const struct pos *depends_pos);
void config_free_maintenance(struct config *cfg);

/* A URL that libcurl's parser takes, http or https, with a host. */
int check_url(struct ctx *c, const yaml_node_t *n, const char *what);

/* A URL as people may see it: without its password, and with
 * origin_only (a Slack webhook's path is its key) without anything past
 * the origin. NULL when it is not a URL. */
char *url_shown(const char *url, bool origin_only);

/* ---- receivers besides plain webhooks (confreceivers.c) ---- */

struct webhook_conf;
extern const struct choices starttls_choices;
extern const struct opt_ops mail_to_ops;
/* A plain addr-spec (local@domain.example): nothing else goes into the
 * envelope and the headers. */
bool mail_address_valid(const char *s);
int check_mail_address(struct ctx *c, const yaml_node_t *v, const char *value);
/* check_url, or an smtp:// or smtps:// URL with a host. */
int check_webhook_url(struct ctx *c, const yaml_node_t *v, const char *value);
/* A URL's host as curl reads it (an IPv6 address in brackets), owned by
 * the caller; NULL when it does not parse. flags: curl_url_set's. */
char *url_host(const char *url, unsigned flags);
/* Whether a URL's host is localhost or a loopback address. */
bool url_is_loopback(const char *url);
/* The rules between a webhook's format and the keys of PagerDuty and
 * e-mail; -1 when one is broken (reported at the key, or at map). */
int config_check_receiver(struct ctx *c, const struct webhook_conf *w, const struct given *g,
                          const yaml_node_t *map);

/* Looks name up in a choice set, or reports it with a hint. */
int get_choice(struct ctx *c, const yaml_node_t *n, const struct choices *ch, unsigned *out);

#endif
