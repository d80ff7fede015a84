/* What the configuration loader (config.c) and the rules between keys
 * (confrules.c) share. Not for other modules. */
#ifndef UPMON_CONFIG_IMPL_H
#define UPMON_CONFIG_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "schema.h"

/* A target, or a defaults block, as far as it has been given. */
struct partial {
    struct target_conf t;
    struct given g;
};

/* Where the rules between keys find their keys in the tables. Filled once,
 * by the first load (on the main thread, before any reload runs on another),
 * from the tables by name, so the rows stay the only list of keys. */
struct config_keys {
    bool known;
    unsigned name, url, method, interval, timeout, max_latency, body_contains, body_regex,
        body_not_contains, json, webhooks, remind_every, flap_threshold, flap_window, client_cert,
        client_key, client_key_credential, connect_to, proxy, tls_server_name, depends_on,
        retry_interval, ip_version;
};
extern struct config_keys config_keys;
/* As the rules read: K.timeout, K.interval. */
#define K config_keys

/* Fills config_keys (and the webhook's keys) once. */
void config_keys_init(void);
/* Rules between keys. Each is reported only where one of its keys is given
 * at this level (own), so an error in defaults is not repeated per target. */
int config_cross_check(struct ctx *c, const struct partial *merged, uint64_t own, bool clamped);

#endif
