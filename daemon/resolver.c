/* Name lookups on the loop with evdns.
 *
 * A lookup asks for A, AAAA or both (ip_version), each a question of its
 * own to evdns, which sends it with its own timeouts and retries, and the
 * search domains, of /etc/resolv.conf. Once one of the two has addresses,
 * the other gets a second more: an AAAA answer a broken middlebox drops
 * must not fail a name that has IPv4 addresses.
 *
 * evdns reports every answer, and every cancellation, on a later turn of
 * the loop, so a lookup's outcome is noted in its callbacks and handled
 * from an event of this module's own: the waiters' callbacks never run
 * inside resolver_find nor inside evdns. A lookup's questions stay
 * allocated until evdns has reported each of them back, cancelled or
 * not. */
#include "resolver.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <event2/dns.h>

#include "clock.h"
#include "log.h"
#include "looptimer.h"
#include "util.h"

#define RESOLV_CONF "/etc/resolv.conf"
#define HOSTS_FILE  "/etc/hosts"
#define FILE_MAX    (16u << 20) /* read no more of either file than this */
#define RECHECK_US  1000000     /* look at the files at most this often */
#define SKEW_US     1000000     /* the other family's grace once one has answered */

/* One question of a lookup: A or AAAA. */
struct ask {
    struct question *q;
    bool asked;                /* sent, or tried to be */
    struct evdns_request *req; /* ours to cancel, until reported or given up */
    bool reported;
    int err; /* DNS_ERR_* */
    unsigned char addr[DNS_MAX_ADDRS][16];
    int naddr;
};

/* A lookup's questions to the name servers. */
struct question {
    struct resolver *r;
    struct dns_lookup *l; /* until handled */
    struct ask ask[2];    /* A, AAAA */
    unsigned owed;        /* callbacks evdns still owes */
    bool answered;        /* nothing more is wanted from evdns */
    bool queued;          /* to be handled, or handled */
    struct timerq_item skew;
    TAILQ_ENTRY(question) link; /* among those to be handled */
    LIST_ENTRY(question) all;   /* every one not yet freed */
};

struct resolve_req {
    struct dns_waiter w; /* first: dnscache_take gives this pointer */
    struct timerq_item deadline;
    struct resolver *r;
    const char *name; /* the caller's, for messages */
    enum ip_version family;
    int64_t since;
    resolve_cb cb;
    void *arg;
    bool invalid;                       /* the name cannot be asked */
    TAILQ_ENTRY(resolve_req) fail_link; /* while invalid, until told */
};

struct filestamp {
    bool exists;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
};

struct resolver {
    struct event_base *base;
    struct dnscache *cache;
    struct looptimer *timers; /* requests' deadlines, questions' grace */
    struct evdns_base *dns;
    TAILQ_HEAD(, question) answered;   /* to be handled */
    LIST_HEAD(, question) questions;   /* every one not yet freed */
    TAILQ_HEAD(, resolve_req) invalid; /* requests to fail from the loop */
    struct event *later;               /* handles those answered and invalid */
    unsigned max_lookups;
    unsigned owed; /* callbacks evdns still owes, all questions together */
    int64_t next_check;
    bool checked; /* the files have been read once */
    struct filestamp resolv_st, hosts_st;
    char *resolv_text; /* /etc/resolv.conf as last read */
};

static void evdns_log_cb(int severity, const char *msg)
{
    /* evdns logs with libevent's levels */
    if (severity == EVENT_LOG_WARN)
        log_warn("dns: %s", msg);
    else if (severity == EVENT_LOG_MSG)
        log_info("dns: %s", msg);
    else
        log_debug("dns: %s", msg);
}

static void stamp(const char *path, struct filestamp *st)
{
    struct stat s;

    memset(st, 0, sizeof(*st));
    if (stat(path, &s) < 0)
        return;
    st->exists = true;
    st->dev = s.st_dev;
    st->ino = s.st_ino;
    st->size = s.st_size;
    st->mtime = s.st_mtim;
    st->ctime = s.st_ctim;
}

static bool stamp_equal(const struct filestamp *a, const struct filestamp *b)
{
    return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
           a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/* The whole of a file, or NULL when it cannot be read (errno says why). */
static char *read_file(const char *path)
{
    FILE *f = fopen(path, "re");
    struct buf text = {0};
    char chunk[8192];
    size_t n;

    if (f == NULL)
        return NULL;
    while (text.len < FILE_MAX && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_append(&text, chunk, n);
    fclose(f);
    if (text.data == NULL)
        buf_append(&text, "", 0);
    return text.data;
}

static void load_hosts(struct resolver *r)
{
    char *text = read_file(HOSTS_FILE);

    if (text == NULL && errno != ENOENT)
        log_warn("%s: %s; names are asked of the name servers only", HOSTS_FILE, strerror(errno));
    dnscache_set_hosts(r->cache, text);
    free(text);
}

static void set_inflight(struct resolver *r)
{
    char value[16];

    /* Two questions (A and AAAA) per lookup: evdns queues none itself. */
    snprintf(value, sizeof(value), "%u", r->max_lookups * 2 + 2);
    evdns_base_set_option(r->dns, "max-inflight:", value);
}

/* Takes the name servers and options of /etc/resolv.conf as it is now.
 * evdns's own reading of /etc/hosts is left out: the hosts table answers
 * before any question is asked. */
static void load_resolv_conf(struct resolver *r)
{
    int rc = evdns_base_resolv_conf_parse(
        r->dns, DNS_OPTION_SEARCH | DNS_OPTION_NAMESERVERS | DNS_OPTION_MISC, RESOLV_CONF);
    if (rc == 1)
        log_warn("%s cannot be read: asking the name server on 127.0.0.1", RESOLV_CONF);
    else if (rc == 6)
        log_warn("%s names no name server: asking the one on 127.0.0.1", RESOLV_CONF);
    else if (rc != 0)
        log_warn("%s cannot be read (evdns error %d)", RESOLV_CONF, rc);
    /* Names are asked as written, as the C library does: some forwarders
     * do not echo a question's mixed case, and evdns would drop their
     * answers. */
    evdns_base_set_option(r->dns, "randomize-case:", "0");
    set_inflight(r);
    int n = evdns_base_count_nameservers(r->dns);
    log_debug("dns: %d name server%s from %s", n, n == 1 ? "" : "s", RESOLV_CONF);
}

/* Reads the files again if they changed (the C library looks at
 * /etc/resolv.conf before its lookups too). New name servers take over
 * the questions in flight (evdns sends them again). */
static void check_files(struct resolver *r, int64_t now, bool force)
{
    struct filestamp st;

    if (!force && r->checked && now < r->next_check)
        return;
    r->next_check = now + RECHECK_US;
    stamp(HOSTS_FILE, &st);
    if (!r->checked || !stamp_equal(&st, &r->hosts_st)) {
        if (r->checked)
            log_info("%s changed: read again", HOSTS_FILE);
        r->hosts_st = st;
        load_hosts(r);
    }
    stamp(RESOLV_CONF, &st);
    if (!r->checked || !stamp_equal(&st, &r->resolv_st)) {
        char *text = read_file(RESOLV_CONF);
        /* Written again with the same text (a DHCP lease renewed): no
         * change. */
        bool same =
            text && r->resolv_text ? strcmp(text, r->resolv_text) == 0 : text == r->resolv_text;
        if (!r->checked) {
            load_resolv_conf(r);
        } else if (!same) {
            evdns_base_clear_nameservers_and_suspend(r->dns);
            load_resolv_conf(r);
            evdns_base_resume(r->dns);
            int n = evdns_base_count_nameservers(r->dns);
            log_info("%s changed: %d name server%s", RESOLV_CONF, n, n == 1 ? "" : "s");
        }
        free(r->resolv_text);
        r->resolv_text = text;
        r->resolv_st = st;
    }
    r->checked = true;
}

static void question_free(struct question *q)
{
    looptimer_remove(q->r->timers, &q->skew);
    LIST_REMOVE(q, all);
    dnscache_lookup_free(q->l);
    free(q);
}

static void queue(struct question *q)
{
    q->queued = true;
    TAILQ_INSERT_TAIL(&q->r->answered, q, link);
    event_active(q->r->later, 0, 0);
}

/* Wants nothing more from evdns: what is still out is cancelled (evdns
 * still owes the callbacks, but the requests are not ours any more). */
static void stop_asking(struct question *q)
{
    q->answered = true;
    looptimer_remove(q->r->timers, &q->skew);
    for (size_t i = 0; i < 2; i++)
        if (q->ask[i].req) {
            evdns_cancel_request(q->r->dns, q->ask[i].req);
            q->ask[i].req = NULL;
        }
}

/* A question is answered when every part has reported back, or when one
 * has addresses and the other's grace is over. */
static void check_answered(struct question *q, int64_t now)
{
    bool all = true, some = false;

    if (q->answered)
        return;
    for (size_t i = 0; i < 2; i++) {
        all &= !q->ask[i].asked || q->ask[i].reported;
        some |= q->ask[i].naddr > 0;
    }
    if (all) {
        stop_asking(q);
        queue(q);
    } else if (some && !timerq_pending(&q->skew)) {
        looptimer_add(q->r->timers, &q->skew, now + SKEW_US);
    }
}

static void skew_cb(struct timerq_item *it, int64_t now)
{
    struct question *q = TIMERQ_OWNER(it, struct question, skew);
    (void)now;

    stop_asking(q);
    queue(q);
}

static void got_cb(int result, char type, int count, int ttl, void *addresses, void *arg)
{
    struct ask *a = arg;
    struct question *q = a->q;
    size_t len = type == DNS_IPv4_A ? 4 : 16;
    (void)ttl;

    q->owed--;
    q->r->owed--;
    a->req = NULL;
    if (q->answered) {
        /* Cancelled, or come meanwhile: not needed. Handled already, or
         * given up, the question waited only for the last of these. */
        if (q->owed == 0 && q->l == NULL)
            question_free(q);
        else if (q->owed == 0 && !q->queued)
            queue(q);
        return;
    }
    a->reported = true;
    a->err = result;
    for (int i = 0; result == DNS_ERR_NONE && i < count && a->naddr < DNS_MAX_ADDRS; i++)
        memcpy(a->addr[a->naddr++], (const unsigned char *)addresses + (size_t)i * len, len);
    check_answered(q, clock_mono_us());
}

/* Sends the questions of the lookups that may start now. */
static void start_lookups(struct resolver *r, int64_t now)
{
    struct dns_lookup *l;

    check_files(r, now, false);
    while ((l = dnscache_next(r->cache, now)) != NULL) {
        struct question *q = xcalloc(1, sizeof(*q));
        q->r = r;
        q->l = l;
        l->io = q;
        timerq_item_init(&q->skew, skew_cb);
        LIST_INSERT_HEAD(&r->questions, q, all);
        for (size_t i = 0; i < 2; i++) {
            struct ask *a = &q->ask[i];
            if (l->family == (i == 0 ? IP_V6 : IP_V4))
                continue;
            a->q = q;
            a->asked = true;
            a->req = i == 0 ? evdns_base_resolve_ipv4(r->dns, l->name, 0, got_cb, a)
                            : evdns_base_resolve_ipv6(r->dns, l->name, 0, got_cb, a);
            if (a->req) {
                q->owed++;
                r->owed++;
            } else { /* evdns could not make the question */
                a->reported = true;
                a->err = DNS_ERR_FORMAT;
            }
        }
        check_answered(q, now);
    }
}

/* Why a lookup found no address; true when for want of an answer (the
 * name is slow then), not for the name servers' word. */
static bool why_not(const struct question *q, char *out, size_t len, const char *name)
{
    const char *why = NULL;
    bool empty = true;

    for (size_t i = 0; i < 2; i++) {
        const struct ask *a = &q->ask[i];
        if (a->asked && a->err == DNS_ERR_NOTEXIST)
            why = "no such name";
        else if (a->asked && a->err != DNS_ERR_NONE && a->err != DNS_ERR_NODATA)
            empty = false;
    }
    if (why == NULL && empty) {
        why = !q->ask[1].asked   ? "no IPv4 address"
              : !q->ask[0].asked ? "no IPv6 address"
                                 : "no address";
    }
    bool no_answer = why == NULL;
    for (size_t i = 0; i < 2 && why == NULL; i++) {
        int err = q->ask[i].err;
        if (!q->ask[i].asked || err == DNS_ERR_NONE || err == DNS_ERR_NODATA)
            continue;
        why = err == DNS_ERR_TIMEOUT        ? "the name servers did not answer"
              : err == DNS_ERR_SERVERFAILED ? "the name server failed (SERVFAIL)"
              : err == DNS_ERR_REFUSED      ? "the name server refused the question"
              : err == DNS_ERR_FORMAT       ? "the name cannot be asked"
                                            : evdns_err_to_string(err);
    }
    snprintf(out, len, "Could not resolve host: %s (%s)", name, why);
    return no_answer;
}

static void req_free(struct resolve_req *q)
{
    looptimer_remove(q->r->timers, &q->deadline);
    free(q);
}

/* An answered question: its lookup's waiters hear the answer. */
static void handle(struct resolver *r, struct question *q, int64_t now)
{
    struct dns_lookup *l = q->l;
    struct buf addrs = {0};

    for (size_t i = 0; i < 2; i++)
        for (int k = 0; k < q->ask[i].naddr; k++)
            dns_addrs_add(&addrs, i == 0 ? AF_INET : AF_INET6, q->ask[i].addr[k]);
    if (l->state == DNS_RUNNING) {
        char why[RESULT_MESSAGE_MAX];
        bool no_answer = addrs.data ? false : why_not(q, why, sizeof(why), l->name);
        dnscache_done(r->cache, l, addrs.data, no_answer, now);
        struct dns_waiter *w;
        while ((w = dnscache_take(l)) != NULL) {
            struct resolve_req *req = (struct resolve_req *)w;
            struct resolve_answer a = {.addrs = addrs.data, .waited_us = now - req->since};
            if (!addrs.data)
                why_not(q, a.message, sizeof(a.message), req->name);
            resolve_cb cb = req->cb;
            void *arg = req->arg;
            req_free(req);
            cb(&a, arg);
        }
    }
    /* else given up: nobody is left to tell */
    buf_free(&addrs);
    dnscache_lookup_free(l);
    q->l = NULL;
    if (q->owed == 0)
        question_free(q);
}

static void later_cb(evutil_socket_t fd, short what, void *arg)
{
    struct resolver *r = arg;
    struct question *q;
    struct resolve_req *req;
    int64_t now = clock_mono_us();
    (void)fd;
    (void)what;

    while ((q = TAILQ_FIRST(&r->answered)) != NULL) {
        TAILQ_REMOVE(&r->answered, q, link);
        handle(r, q, now);
    }
    while ((req = TAILQ_FIRST(&r->invalid)) != NULL) {
        TAILQ_REMOVE(&r->invalid, req, fail_link);
        struct resolve_answer a = {.waited_us = now - req->since};
        snprintf(a.message, sizeof(a.message),
                 "Could not resolve host: %.160s (not a valid host name)", req->name);
        resolve_cb cb = req->cb;
        void *cbarg = req->arg;
        req_free(req);
        cb(&a, cbarg);
    }
    start_lookups(r, now);
}

/* A lookup nobody waits for any more: its questions are cancelled, and it
 * is freed when evdns has reported them all back. One answered already is
 * freed when handled. */
static void give_up(struct dns_lookup *l)
{
    struct question *q = l ? l->io : NULL;

    if (q == NULL || q->answered)
        return;
    stop_asking(q);
    if (q->owed == 0)
        queue(q);
}

static void deadline_cb(struct timerq_item *it, int64_t now)
{
    struct resolve_req *req = TIMERQ_OWNER(it, struct resolve_req, deadline);
    struct resolver *r = req->r;
    struct resolve_answer a = {.waited_us = now - req->since};
    const struct dns_lookup *l = req->w.lookup;
    /* Where the time went: mostly in the queue, or with the question out. */
    int64_t queued = !l ? 0 : l->state == DNS_QUEUED ? a.waited_us : l->started - req->since;
    bool in_queue = queued * 2 > a.waited_us;

    if (in_queue)
        snprintf(a.message, sizeof(a.message),
                 "Resolving %s timed out after %lld ms waiting for a free lookup "
                 "(engine.max_lookups: %u)",
                 req->name, (long long)(a.waited_us / 1000), r->max_lookups);
    else
        snprintf(a.message, sizeof(a.message),
                 "Resolving %s timed out after %lld ms: no answer from the name servers", req->name,
                 (long long)(a.waited_us / 1000));
    /* The name is slow if its question was out most of the time. */
    give_up(dnscache_leave(r->cache, &req->w, !in_queue, now));
    resolve_cb cb = req->cb;
    void *arg = req->arg;
    free(req); /* its timer has run: it is out of the queue */
    cb(&a, arg);
    /* Lookups start once every deadline due now has run, not for
     * waiters about to give up in the same turn. */
    event_active(r->later, 0, 0);
}

struct resolver *resolver_new(struct event_base *base)
{
    struct resolver *r = xcalloc(1, sizeof(*r));

    r->base = base;
    r->max_lookups = 1;
    TAILQ_INIT(&r->answered);
    LIST_INIT(&r->questions);
    TAILQ_INIT(&r->invalid);
    evdns_set_log_fn(evdns_log_cb);
    r->cache = dnscache_new();
    r->timers = looptimer_new(base, 0); /* a deadline is never early */
    r->later = event_new(base, -1, 0, later_cb, r);
    /* With no question out, evdns keeps no event on the loop (a loop
     * with nothing else to do may end, as --once does). */
    if (r->timers && r->later)
        r->dns = evdns_base_new(base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (r->dns == NULL) {
        resolver_free(r);
        return NULL;
    }
    check_files(r, clock_mono_us(), true);
    return r;
}

void resolver_free(struct resolver *r)
{
    if (r == NULL)
        return;
    /* Questions still out are dropped without their callbacks, and those
     * answered but not handled go unheard: nobody waits any more. (What
     * evdns has yet to deliver stays with libevent: see resolver_drain.) */
    if (r->dns)
        evdns_base_free(r->dns, 0);
    dnscache_free(r->cache);
    struct question *q;
    while ((q = LIST_FIRST(&r->questions)) != NULL)
        question_free(q);
    free(r->resolv_text);
    if (r->later)
        event_free(r->later);
    looptimer_free(r->timers);
    free(r);
}

void resolver_drain(struct resolver *r)
{
    /* Each turn delivers what the one before left; a bounded wait, as
     * every question was cancelled and nothing waits for the network. */
    for (int i = 0; i < 100 && (r->owed > 0 || !TAILQ_EMPTY(&r->answered)); i++)
        event_base_loop(r->base, EVLOOP_NONBLOCK);
}

void resolver_configure(struct resolver *r, uint64_t cache_ms, unsigned max_lookups)
{
    r->max_lookups = max_lookups ? max_lookups : 1;
    dnscache_configure(r->cache, (int64_t)cache_ms * 1000, r->max_lookups);
    set_inflight(r);
    /* A larger budget lets queued lookups start at once. */
    event_active(r->later, 0, 0);
}

void resolver_recheck(struct resolver *r)
{
    check_files(r, clock_mono_us(), true);
}

int resolver_find(struct resolver *r, const char *name, enum ip_version family, int64_t now,
                  int64_t deadline, resolve_cb cb, void *arg, struct resolve_answer *answer,
                  struct resolve_req **pending)
{
    bool valid = dns_name_valid(name);

    memset(answer, 0, sizeof(*answer));
    *pending = NULL;
    check_files(r, now, false);
    answer->addrs = valid ? dnscache_find(r->cache, name, family, now) : NULL;
    if (answer->addrs)
        return 1;
    struct resolve_req *q = xcalloc(1, sizeof(*q));
    q->r = r;
    q->name = name;
    q->family = family;
    q->since = now;
    q->cb = cb;
    q->arg = arg;
    timerq_item_init(&q->deadline, deadline_cb);
    if (valid) {
        dnscache_wait(r->cache, name, family, &q->w, now);
        looptimer_add(r->timers, &q->deadline, deadline);
    } else {
        q->invalid = true;
        TAILQ_INSERT_TAIL(&r->invalid, q, fail_link);
    }
    /* From the loop, so that an answer at once still comes later. */
    event_active(r->later, 0, 0);
    *pending = q;
    return 0;
}

void resolver_cancel(struct resolve_req *q)
{
    if (q == NULL)
        return;
    struct resolver *r = q->r;
    if (q->invalid)
        TAILQ_REMOVE(&r->invalid, q, fail_link);
    give_up(dnscache_leave(r->cache, &q->w, false, clock_mono_us()));
    req_free(q);
    /* A slot given up, or a queued lookup dropped, may let another start. */
    event_active(r->later, 0, 0);
}

const struct dnscache_stats *resolver_stats(const struct resolver *r)
{
    return dnscache_stats(r->cache);
}
