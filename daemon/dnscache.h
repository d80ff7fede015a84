/* Host names looked up for probes: the decisions of the resolver
 * (resolver.h sends the questions). Pure: time is an argument, in
 * microseconds of the monotonic clock, and /etc/hosts is handed in as text.
 *
 *   - A name is answered by the hosts table first, then by the cache,
 *     where an answer stays for the cache time (engine.dns_cache) from
 *     when it came. Failures are not kept.
 *   - One lookup runs per name and IP version at a time, however many
 *     probes wait for it.
 *   - At most max_running lookups are in flight; the rest wait their turn:
 *     names that answered last time first, then first come first served.
 *     Names whose last lookup got no answer in time ("slow" names) may
 *     hold at most half of the slots, so that names that answer always
 *     find room beside a silent name server.
 *   - A lookup nobody waits for any more is dropped, or, in flight, given
 *     up: its slot is free at once. */
#ifndef UPMON_DNSCACHE_H
#define UPMON_DNSCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "config.h"
#include "util.h"

/* Addresses kept per answer at most (curl tries them in turn). */
#define DNS_MAX_ADDRS 16

struct dnscache;
struct dns_lookup;

/* Embedded in whoever waits for a lookup. */
struct dns_waiter {
    struct dns_lookup *lookup; /* NULL when not waiting */
    TAILQ_ENTRY(dns_waiter) link;
};

enum dns_lookup_state {
    DNS_QUEUED,    /* waiting for a free slot */
    DNS_RUNNING,   /* its question is out */
    DNS_ABANDONED, /* out, but nobody waits for it any more: being cancelled */
    DNS_DONE,      /* answered; its waiters are being told */
};

struct dns_lookup {
    char *name; /* lower case */
    enum ip_version family;
    enum dns_lookup_state state;
    bool slow;       /* the name's last lookup got no answer in time */
    bool known;      /* the name's last lookup got an answer */
    int64_t queued;  /* when it was asked for */
    int64_t started; /* when its question went out */
    TAILQ_HEAD(, dns_waiter) waiters;
    TAILQ_ENTRY(dns_lookup) link; /* in its queue, while queued */
    struct dns_name *owner;       /* the name's record, while queued or running */
    void *io;                     /* the resolver's question */
};

struct dnscache_stats {
    uint64_t hosts;     /* answers from /etc/hosts */
    uint64_t hits;      /* answers from the cache */
    uint64_t lookups;   /* lookups started */
    uint64_t failed;    /* lookups that ended without an address */
    uint64_t abandoned; /* lookups given up in flight: nobody waited any more */
    unsigned running;   /* in flight now */
    unsigned running_slow;
    unsigned queued; /* waiting for a free slot now */
    size_t names;    /* names remembered (answers and slow names) */
};

struct dnscache *dnscache_new(void);
/* Every waiter must be gone. Lookups in flight are the caller's to free. */
void dnscache_free(struct dnscache *c);
/* ttl_us 0 keeps no answer (every probe asks anew). A smaller max_running
 * applies as lookups end. */
void dnscache_configure(struct dnscache *c, int64_t ttl_us, unsigned max_running);
/* Replaces the hosts table with what text (the contents of /etc/hosts)
 * says; NULL empties it. */
void dnscache_set_hosts(struct dnscache *c, const char *text);

/* Whether name can be asked at all: labels of 1 to 63 letters, digits,
 * hyphens and underscores, at most 253 characters (a final dot aside). */
bool dns_name_valid(const char *name);

/* Appends one address (af AF_INET or AF_INET6, addr its bytes) to a list
 * of them as curl's CURLOPT_RESOLVE takes it: "192.0.2.1,[2001:db8::1]".
 * An address already there, or one past DNS_MAX_ADDRS, is left out. */
void dns_addrs_add(struct buf *list, int af, const void *addr);

/* The addresses of name for family known now, from the hosts table or
 * the cache, as a CURLOPT_RESOLVE list, valid until c next changes; NULL
 * when a lookup is needed. name must be valid (dns_name_valid). */
const char *dnscache_find(struct dnscache *c, const char *name, enum ip_version family,
                          int64_t now);

/* w waits for name: it joins the lookup of the name queued or in flight,
 * or a new one is queued. dnscache_next says when one may start. */
void dnscache_wait(struct dnscache *c, const char *name, enum ip_version family,
                   struct dns_waiter *w, int64_t now);

/* A lookup that may start now, marked running; NULL when none is queued
 * or there is no free slot for the next in line. */
struct dns_lookup *dnscache_next(struct dnscache *c, int64_t now);

/* A running lookup got its answer: addrs (a CURLOPT_RESOLVE list) or NULL
 * when the name did not resolve; no_answer when the name servers did not
 * answer (the name becomes slow). The caller then takes its waiters
 * (dnscache_take) and frees it (dnscache_lookup_free). */
void dnscache_done(struct dnscache *c, struct dns_lookup *l, const char *addrs, bool no_answer,
                   int64_t now);
/* The next waiter of a lookup, taken off it; NULL when none is left. */
struct dns_waiter *dnscache_take(struct dns_lookup *l);
void dnscache_lookup_free(struct dns_lookup *l);

/* w stops waiting: its deadline passed (timed_out) or its probe was
 * stopped. A queued lookup left with no waiter is dropped. A running one
 * is abandoned and returned: the caller cancels its question and frees it
 * when the question reports back. If w timed out while it ran, the name
 * becomes slow. Returns NULL otherwise. */
struct dns_lookup *dnscache_leave(struct dnscache *c, struct dns_waiter *w, bool timed_out,
                                  int64_t now);

const struct dnscache_stats *dnscache_stats(const struct dnscache *c);

#endif
