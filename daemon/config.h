/* Configuration: the main YAML file, the watch lists it pulls in by glob, and
 * their validation. config_load() returns a complete, valid configuration or
 * NULL with every problem found, each as "FILE:LINE:COL: message". It reads
 * files but keeps no state: a reload builds a new configuration beside the
 * old one and the caller swaps only on success. */
#ifndef UPMON_CONFIG_H
#define UPMON_CONFIG_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "assertion.h"
#include "codes.h"
#include "shard.h"
#include "window.h"

#ifndef UPMON_CONFIG_PATH
#define UPMON_CONFIG_PATH "/etc/upmon/upmon.yaml"
#endif
#define CONFIG_DEFAULT_PATH UPMON_CONFIG_PATH

/* Diagnostics collected while loading, sorted by file and position. */
struct diags {
    char **msgs;
    size_t n, cap;
};

void diags_free(struct diags *d);

struct kv {
    char *key;
    char *value;
    /* A header's value read from a file or a credential: a secret, sent
     * only to the target's own origin (probe.c). */
    bool secret;
};

/* Whether s may name a label: letters, digits and underscores, not
 * starting with a digit, at most 48 bytes. */
bool label_name_valid(const char *s);

/* A status code or a whole class: 404 is {404, 404}, 4xx is {400, 499}. */
struct code_range {
    uint16_t lo, hi;
};

struct severity_rule {
    struct code_range codes;
    enum severity severity;
};

/* Which IP version a probe may connect over. */
enum ip_version {
    IP_ANY,
    IP_V4,
    IP_V6,
};

/* The least TLS version a probe accepts. */
enum tls_version {
    TLS_V1_0,
    TLS_V1_1,
    TLS_V1_2,
    TLS_V1_3,
};

/* The HTTP version a probe speaks: curl's choice (HTTP/2 over TLS when the
 * server offers it), HTTP/1.1 only, or HTTP/2 only. */
enum http_version {
    HTTP_AUTO,
    HTTP_1_1,
    HTTP_2,
};

/* A file's content, read when the configuration is loaded, and the name it
 * was given by (for messages and the dump). A key it holds is a secret. */
struct file_data {
    char *data;
    char *source; /* "PATH", or "credential NAME" */
};

/* What a target is, as configured. Runtime state lives elsewhere, so a reload
 * can swap this and keep the state. */
struct target_conf {
    char *name;
    char *url;
    /* url without its password or the values of its secret parameters:
     * what people see (url itself when nothing is hidden) */
    char *shown_url;
    char **redact_query; /* query parameter names hidden besides the usual ones */
    size_t nredact_query;
    char *method; /* GET, HEAD, POST, ... */
    struct kv *headers;
    size_t nheaders;
    char *body; /* request body, or NULL */

    uint64_t interval_ms;
    uint64_t timeout_ms;
    uint64_t max_latency_ms;         /* 0: no latency check */
    uint64_t cert_expiry_warning_ms; /* 0: no certificate check */
    uint64_t remind_every_ms;        /* 0: never remind */
    uint64_t retry_interval_ms;      /* 0: a change waits for the next planned probe */
    unsigned failure_threshold;
    unsigned recovery_threshold;
    unsigned flap_threshold; /* state changes within flap_window that mean flapping; 0: off */
    unsigned flap_window;    /* in probes */

    struct code_range *expect; /* what counts as up; none: any 2xx */
    size_t nexpect;
    struct severity_rule *severity;
    size_t nseverity;

    bool follow_redirects;
    bool tls_verify;
    bool enabled;
    enum ip_version ip_version;
    bool read_body;    /* read the whole answer, not only as far as a check needs */
    uint64_t max_body; /* bytes of a body read at most */

    /* How the probe reaches and talks to the site. */
    struct file_data ca_file;     /* PEM certificates trusted instead of the system's */
    char *ca_path;                /* a directory of hashed CA certificates */
    struct file_data client_cert; /* PEM certificate (and chain) presented */
    struct file_data client_key;  /* its PEM private key */
    char *connect_to;             /* "HOST[:PORT]" connected to instead of the URL's */
    char *proxy;                  /* proxy URL, or NULL for none */
    char *basic_auth_user;
    struct file_data basic_auth_password;
    enum tls_version tls_min_version;
    char *tls_server_name; /* SNI and the name verified, instead of the URL's host */
    enum http_version http_version;

    char *body_contains;
    char *body_regex_src;
    regex_t *body_regex; /* compiled body_regex_src, or NULL */
    char *body_not_contains;
    struct header_assertion *header_matches; /* response headers that must match */
    size_t nheader_matches;
    struct json_assertion *json; /* values of a JSON body that must be as given */
    size_t njson;

    struct kv *labels;
    size_t nlabels;
    char **webhooks; /* names to route to */
    size_t nwebhooks;
    bool webhooks_set; /* false: route to every webhook */

    /* Maintenance windows: its own, then those of the main file that
     * select it. */
    struct window *windows;
    size_t nwindows;
    char **depends_on; /* names of the targets it sits behind */
    size_t ndepends_on;
    unsigned ndependents; /* targets behind it, directly or through others */

    const char *file; /* where it is defined; owned by struct config */
    unsigned line, col;
};

enum webhook_format {
    WEBHOOK_STANDARD,
    WEBHOOK_SLACK,
    WEBHOOK_ALERTMANAGER,         /* alerts pushed into Alertmanager's /api/v2/alerts */
    WEBHOOK_ALERTMANAGER_WEBHOOK, /* the notification Alertmanager sends its receivers */
    WEBHOOK_PAGERDUTY,            /* PagerDuty Events API v2 (payload_pd.h) */
    WEBHOOK_EMAIL,                /* a mail through SMTP (payload_mail.h, mailer.h) */
};

/* How an smtp:// URL is secured: STARTTLS or nothing sent (required),
 * STARTTLS when the server offers it (optional), or plain text (off). */
enum starttls {
    STARTTLS_REQUIRED,
    STARTTLS_OPTIONAL,
    STARTTLS_OFF,
};

struct webhook_conf {
    char *name;
    char *url;
    enum webhook_format format;
    char *secret;        /* the secret itself (never logged), or NULL */
    char *secret_source; /* where it came from, for messages */
    enum severity min_severity;
    uint32_t events; /* bit per enum event_type */
    uint64_t timeout_ms;
    uint64_t max_age_ms;       /* a delivery older than this is dropped */
    unsigned max_pending;      /* deliveries that may wait; the oldest beyond go */
    uint64_t retry_initial_ms; /* first back-off; doubles per attempt */
    uint64_t retry_max_ms;     /* longest back-off */
    uint64_t resend_every_ms;  /* format alertmanager: a firing alert is sent again this often */
    struct kv *headers;
    size_t nheaders;
    /* How a slack-format message is posted (Slack, Mattermost, Rocket.Chat
     * take the same keys); NULL: the receiver's own setting. */
    char *username;
    char *icon_url;
    char *icon_emoji;
    /* format pagerduty: the integration's routing key (never logged, not
     * in the outbox: added at each attempt). */
    char *routing_key;
    char *routing_key_source;
    /* format email: the envelope and header sender and recipients (plain
     * addresses), and the SMTP login (username above, password). */
    char *mail_from;
    char **mail_to;
    size_t nmail_to;
    enum starttls starttls;
    char *password;
    char *password_source;
    const char *file;
    unsigned line, col;
};

/* A maintenance window of the main file, for the targets it selects: by
 * their labels, or by name. */
struct maint_rule {
    struct window w; /* first: the window's keys are read into it */
    struct kv *match_labels;
    size_t nmatch_labels;
    char **targets;
    size_t ntargets;
    size_t file; /* where its targets or match key is, for errors */
    unsigned line, col;
};

struct config {
    char *path;   /* the main file */
    char **files; /* every file read, main first */
    size_t nfiles;

    struct target_conf *targets;
    size_t ntargets;

    bool journald;
    struct webhook_conf *webhooks;
    size_t nwebhooks;

    struct maint_rule *maintenance;
    size_t nmaintenance;

    unsigned max_concurrent; /* probes in flight at once */
    char *user_agent;        /* of probes and webhook deliveries */
    uint64_t dns_cache_ms;   /* how long a resolved name is reused */
    unsigned max_lookups;    /* name lookups in flight at once */

    /* The HTTP server: status page, JSON API, /metrics. Nothing listens
     * when http_listen is empty. */
    char **http_listen; /* "HOST:PORT" or "unix:PATH" */
    size_t nhttp_listen;
    char *http_token;        /* bearer token the API and /metrics ask for, or NULL */
    char *http_token_source; /* where it came from, for messages */
    char *http_title;        /* of the status page */
    char *http_group_by;     /* label the status page groups by; NULL: watch file */
    unsigned http_max_connections;
    uint64_t http_timeout_ms; /* to read a request, and to write an answer */
    uint64_t http_refresh_ms; /* how often the status page reloads itself */
    char *http_external_url;  /* where people reach the status page (links in alerts), or NULL */

    /* History: per-minute buckets, hourly after compact_after, kept for
     * retention; incidents as long. */
    bool history;
    uint64_t history_retention_ms;
    uint64_t history_compact_after_ms;

    /* This instance among several: where it runs (a label on every metric
     * and alert; NULL: unset) and its shard of the watch list. Only the
     * targets the shard owns are kept, out of ntargets_all validated. */
    char *location;
    char *shard_spec; /* "I/N" as given (or by --shard), NULL: unsharded */
    struct shard shard;
    size_t ntargets_all;
};

/* What the loader takes from the environment, passed in so tests control it. */
struct config_env {
    const char *credentials_dir; /* $CREDENTIALS_DIRECTORY, or NULL */
    struct shard shard;          /* --shard, over instance.shard; count 0: not given */
};

struct config *config_load(const char *path, const struct config_env *env, struct diags *diags);
void config_free(struct config *cfg);

/* One line: "N targets (D disabled) from W watch files, H webhooks". */
void config_summary(const struct config *cfg, char *out, size_t len);

/* Number of watch-list files (every file but the main one). */
size_t config_watch_files(const struct config *cfg);

/* Whether two configurations are the same in every key (where each is
 * defined aside). */
bool target_conf_equal(const struct target_conf *a, const struct target_conf *b);
bool webhook_conf_equal(const struct webhook_conf *a, const struct webhook_conf *b);

/* Whether two targets send the same request on the same plan: only then
 * may a reload keep a probe in flight and the target's schedule. Keys
 * that only change how answers are judged and alerted do not count. */
bool target_conf_probe_equal(const struct target_conf *a, const struct target_conf *b);

/* The effective configuration, every key of every level after
 * inheritance, for people to read (--check-config --verbose). Secrets
 * are shown by where they come from, never by value. */
json_t *config_values(const struct config *cfg);

/* The JSON Schema (draft 2020-12) of the main file, or of a watch list,
 * from the same tables the loader reads with: for editors that check and
 * complete YAML as people type. */
json_t *config_json_schema(bool watch_list);

/* Sets every key of w to its default (names and URL: none). */
void webhook_conf_defaults(struct webhook_conf *w);

/* Whether the target is allowed to send to the named webhook. */
bool target_routes_to(const struct target_conf *t, const char *webhook);

const char *webhook_format_name(enum webhook_format f);

#endif
