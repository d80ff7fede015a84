/* Looking up the host names of probes on the loop, with no thread: the
 * hosts table and the cache answer at once, and the rest are asked of the
 * name servers of /etc/resolv.conf by libevent's evdns (one UDP socket per
 * server, its own timeouts and retries), within a budget of lookups in
 * flight. dnscache.h makes the decisions; this module owns the evdns
 * base, the files and the deadlines. /etc/resolv.conf and /etc/hosts are
 * read again when they change. */
#ifndef UPMON_RESOLVER_H
#define UPMON_RESOLVER_H

#include <stdint.h>

#include <event2/event.h>

#include "config.h"
#include "dnscache.h"
#include "result.h"

struct resolver;
struct resolve_req;

struct resolve_answer {
    const char *addrs;                /* a CURLOPT_RESOLVE list, or NULL: no address */
    char message[RESULT_MESSAGE_MAX]; /* why not, as a probe result says it */
    int64_t waited_us;                /* from the request to the answer */
};

typedef void (*resolve_cb)(const struct resolve_answer *a, void *arg);

/* NULL when libevent cannot make a DNS base (out of memory). */
struct resolver *resolver_new(struct event_base *base);
/* Every request must have ended or been cancelled. */
void resolver_free(struct resolver *r);
/* Lets the loop turn until every question given up has been reported
 * back: libevent delivers cancellations on a later turn, and what it has
 * not delivered when the loop is freed is lost memory. For the end, after
 * every request was cancelled; the loop's other events run too. */
void resolver_drain(struct resolver *r);
/* Answers are kept for cache_ms; at most max_lookups are in flight. */
void resolver_configure(struct resolver *r, uint64_t cache_ms, unsigned max_lookups);
/* Reads /etc/resolv.conf and /etc/hosts again now if they changed (they
 * are otherwise looked at once a second at most, as lookups need them). */
void resolver_recheck(struct resolver *r);

/* Finds the addresses of name (ASCII: an IDN in its punycode form) for an
 * IP version. Returns 1 when the hosts table or the cache knows them:
 * answer->addrs is set, valid until the loop runs on. Otherwise returns 0
 * and sets *pending: cb runs once, from the loop, with the addresses or
 * with why there are none (a name that cannot be asked, a failure, or no
 * answer by deadline, in monotonic microseconds), unless the request is
 * cancelled first. name must outlive the request. */
int resolver_find(struct resolver *r, const char *name, enum ip_version family, int64_t now,
                  int64_t deadline, resolve_cb cb, void *arg, struct resolve_answer *answer,
                  struct resolve_req **pending);
/* The request's callback will not run. */
void resolver_cancel(struct resolve_req *q);

const struct dnscache_stats *resolver_stats(const struct resolver *r);

#endif
