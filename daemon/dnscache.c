/* The hosts table, the cache of answers, and the account of lookups queued
 * and in flight. */
#include "dnscache.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* A name nobody asked for this long is forgotten (its answer, if any,
 * has ended); the table is swept for such names once a minute. */
#define FORGET_US (10 * 60 * INT64_C(1000000))
#define SWEEP_US  (60 * INT64_C(1000000))

/* "4 example.com": the IP version asked ('*', '4' or '6') and the name. */
#define KEY_MAX 260

struct dns_name {
    char key[KEY_MAX];
    char *addrs;     /* the answer, while it lasts; NULL when none */
    int64_t expires; /* when the answer ends */
    int64_t used;    /* when the name was last asked for */
    bool slow;       /* its last lookup got no answer in time */
    bool answered;   /* its last lookup got an answer (addresses or not) */
    struct dns_lookup *lookup;
};

struct hosts_entry {
    char *name;
    struct buf v4, v6, all;
};

TAILQ_HEAD(lookupq, dns_lookup);

struct dnscache {
    struct strmap names; /* key -> struct dns_name */
    struct strmap hosts; /* name -> struct hosts_entry */
    struct lookupq known_queue, queue, slow_queue;
    int64_t ttl;
    unsigned max_running;
    int64_t next_sweep;
    struct dnscache_stats stats;
};

struct dnscache *dnscache_new(void)
{
    struct dnscache *c = xcalloc(1, sizeof(*c));

    TAILQ_INIT(&c->queue);
    TAILQ_INIT(&c->known_queue);
    TAILQ_INIT(&c->slow_queue);
    c->max_running = 1;
    return c;
}

static void free_hosts(struct strmap *hosts)
{
    for (size_t i = 0; i < hosts->cap; i++) {
        struct hosts_entry *e = hosts->slots[i].value;
        if (e == NULL)
            continue;
        buf_free(&e->v4);
        buf_free(&e->v6);
        buf_free(&e->all);
        free(e->name);
        free(e);
    }
    strmap_free(hosts);
}

void dnscache_free(struct dnscache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->names.cap; i++) {
        struct dns_name *n = c->names.slots[i].value;
        if (n == NULL)
            continue;
        /* A queued lookup goes with it; one with a question out stays
         * with whoever sent the question. */
        if (n->lookup && n->lookup->state == DNS_QUEUED)
            dnscache_lookup_free(n->lookup);
        else if (n->lookup)
            n->lookup->owner = NULL;
        free(n->addrs);
        free(n);
    }
    strmap_free(&c->names);
    free_hosts(&c->hosts);
    free(c);
}

void dnscache_configure(struct dnscache *c, int64_t ttl_us, unsigned max_running)
{
    c->ttl = ttl_us;
    c->max_running = max_running ? max_running : 1;
}

bool dns_name_valid(const char *name)
{
    size_t len = strlen(name), label = 0;

    if (len > 0 && name[len - 1] == '.')
        len--;
    if (len == 0 || len > 253)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (ch == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else if (isalnum(ch) || ch == '-' || ch == '_') {
            if (++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return label > 0;
}

void dns_addrs_add(struct buf *list, int af, const void *addr)
{
    char text[INET6_ADDRSTRLEN + 2], *p = text;
    size_t count = 0;

    if (af == AF_INET6)
        *p++ = '[';
    if (inet_ntop(af, addr, p, INET6_ADDRSTRLEN) == NULL)
        return;
    if (af == AF_INET6)
        strcat(text, "]");
    size_t len = strlen(text);
    for (const char *s = list->data; s && *s; count++) {
        size_t n = strcspn(s, ",");
        if (n == len && memcmp(s, text, len) == 0)
            return;
        s += n + (s[n] == ',');
    }
    if (count >= DNS_MAX_ADDRS)
        return;
    if (list->len)
        buf_append(list, ",", 1);
    buf_append(list, text, len);
}

/* Lower case, or "" when the name does not fit (it is not valid then). */
static void lower(char *out, size_t outlen, const char *name)
{
    size_t n = strlen(name);

    if (n >= outlen)
        n = 0;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)name[i]);
    out[n] = '\0';
}

static void make_key(char *key, const char *name, enum ip_version family)
{
    key[0] = family == IP_V4 ? '4' : family == IP_V6 ? '6' : '*';
    key[1] = ' ';
    lower(key + 2, KEY_MAX - 2, name);
}

void dnscache_set_hosts(struct dnscache *c, const char *text)
{
    free_hosts(&c->hosts);
    while (text && *text) {
        size_t linelen = strcspn(text, "\n");
        char *line = xstrndup(text, linelen), *save = NULL;
        text += linelen + (text[linelen] == '\n');
        line[strcspn(line, "#")] = '\0';
        const char *word = strtok_r(line, " \t\r", &save);
        unsigned char addr[16];
        int af = 0;
        /* A scoped address (fe80::1%eth0) cannot be handed to curl. */
        if (word && inet_pton(AF_INET, word, addr) == 1)
            af = AF_INET;
        else if (word && inet_pton(AF_INET6, word, addr) == 1)
            af = AF_INET6;
        while (af && (word = strtok_r(NULL, " \t\r", &save)) != NULL) {
            char name[KEY_MAX];
            lower(name, sizeof(name), word);
            if (!dns_name_valid(name))
                continue;
            struct hosts_entry *e = strmap_get(&c->hosts, name);
            if (e == NULL) {
                e = xcalloc(1, sizeof(*e));
                e->name = xstrdup(name);
                strmap_put(&c->hosts, e->name, e);
            }
            dns_addrs_add(af == AF_INET ? &e->v4 : &e->v6, af, addr);
            dns_addrs_add(&e->all, af, addr);
        }
        free(line);
    }
}

/* Forgets the names nobody asked for a while that have no answer left
 * and no lookup, so that the table holds only the names in use. */
static void sweep(struct dnscache *c, int64_t now)
{
    struct dns_name **gone = NULL;
    size_t ngone = 0, cap = 0;

    c->next_sweep = now + SWEEP_US;
    for (size_t i = 0; i < c->names.cap; i++) {
        struct dns_name *n = c->names.slots[i].value;
        if (n && n->lookup == NULL && (n->addrs == NULL || n->expires <= now) &&
            now - n->used >= FORGET_US) {
            xgrow((void **)&gone, &cap, ngone, sizeof(*gone));
            gone[ngone++] = n;
        }
    }
    for (size_t i = 0; i < ngone; i++) {
        strmap_del(&c->names, gone[i]->key);
        free(gone[i]->addrs);
        free(gone[i]);
    }
    free(gone);
    c->stats.names = c->names.n;
}

const char *dnscache_find(struct dnscache *c, const char *name, enum ip_version family, int64_t now)
{
    char key[KEY_MAX];

    if (now >= c->next_sweep)
        sweep(c, now);
    make_key(key, name, family);
    const struct hosts_entry *e = strmap_get(&c->hosts, key + 2);
    const struct buf *list = !e                ? NULL
                             : family == IP_V4 ? &e->v4
                             : family == IP_V6 ? &e->v6
                                               : &e->all;
    /* A name the file gives only other addresses for is asked of the
     * name servers, as the C library does ("hosts: files dns"). */
    if (list && list->len) {
        c->stats.hosts++;
        return list->data;
    }
    struct dns_name *n = strmap_get(&c->names, key);
    if (n == NULL)
        return NULL;
    n->used = now;
    if (n->addrs && now < n->expires) {
        c->stats.hits++;
        return n->addrs;
    }
    free(n->addrs);
    n->addrs = NULL;
    return NULL;
}

static struct lookupq *queue_of(struct dnscache *c, const struct dns_lookup *l)
{
    return l->slow ? &c->slow_queue : l->known ? &c->known_queue : &c->queue;
}

void dnscache_wait(struct dnscache *c, const char *name, enum ip_version family,
                   struct dns_waiter *w, int64_t now)
{
    char key[KEY_MAX];

    make_key(key, name, family);
    struct dns_name *n = strmap_get(&c->names, key);
    if (n == NULL) {
        n = xcalloc(1, sizeof(*n));
        memcpy(n->key, key, sizeof(key));
        strmap_put(&c->names, n->key, n);
        c->stats.names = c->names.n;
    }
    n->used = now;
    struct dns_lookup *l = n->lookup;
    if (l == NULL) {
        l = xcalloc(1, sizeof(*l));
        l->name = xstrdup(key + 2);
        l->family = family;
        l->state = DNS_QUEUED;
        l->slow = n->slow;
        l->known = n->answered;
        l->queued = now;
        l->owner = n;
        TAILQ_INIT(&l->waiters);
        TAILQ_INSERT_TAIL(queue_of(c, l), l, link);
        c->stats.queued++;
        n->lookup = l;
    }
    w->lookup = l;
    TAILQ_INSERT_TAIL(&l->waiters, w, link);
}

struct dns_lookup *dnscache_next(struct dnscache *c, int64_t now)
{
    unsigned slow_max = c->max_running / 2 ? c->max_running / 2 : 1;

    if (c->stats.running >= c->max_running)
        return NULL;
    /* Names that answered last time first: they answer quickly, and their
     * probes must not miss a run behind names never heard of. Then
     * whichever waited longer, as far as the slow names' share allows. */
    struct dns_lookup *l = TAILQ_FIRST(&c->known_queue);
    if (l == NULL) {
        l = TAILQ_FIRST(&c->queue);
        struct dns_lookup *s =
            c->stats.running_slow < slow_max ? TAILQ_FIRST(&c->slow_queue) : NULL;
        if (l == NULL || (s && s->queued < l->queued))
            l = s;
    }
    if (l == NULL)
        return NULL;
    TAILQ_REMOVE(queue_of(c, l), l, link);
    l->state = DNS_RUNNING;
    l->started = now;
    c->stats.queued--;
    c->stats.running++;
    c->stats.running_slow += l->slow;
    c->stats.lookups++;
    return l;
}

/* A lookup leaves the slots it was counted in. */
static void stop_running(struct dnscache *c, struct dns_lookup *l)
{
    c->stats.running--;
    c->stats.running_slow -= l->slow;
    if (l->owner)
        l->owner->lookup = NULL;
}

void dnscache_done(struct dnscache *c, struct dns_lookup *l, const char *addrs, bool no_answer,
                   int64_t now)
{
    struct dns_name *n = l->owner;

    stop_running(c, l);
    l->state = DNS_DONE;
    l->owner = NULL;
    if (!addrs)
        c->stats.failed++;
    free(n->addrs);
    n->addrs = NULL;
    n->slow = no_answer;
    n->answered = !no_answer;
    n->used = now;
    if (addrs && c->ttl > 0) {
        n->addrs = xstrdup(addrs);
        n->expires = now + c->ttl;
    }
}

struct dns_waiter *dnscache_take(struct dns_lookup *l)
{
    struct dns_waiter *w = TAILQ_FIRST(&l->waiters);

    if (w) {
        TAILQ_REMOVE(&l->waiters, w, link);
        w->lookup = NULL;
    }
    return w;
}

void dnscache_lookup_free(struct dns_lookup *l)
{
    if (l == NULL)
        return;
    free(l->name);
    free(l);
}

struct dns_lookup *dnscache_leave(struct dnscache *c, struct dns_waiter *w, bool timed_out,
                                  int64_t now)
{
    struct dns_lookup *l = w->lookup;

    if (l == NULL)
        return NULL;
    TAILQ_REMOVE(&l->waiters, w, link);
    w->lookup = NULL;
    if (!TAILQ_EMPTY(&l->waiters) || (l->state != DNS_QUEUED && l->state != DNS_RUNNING))
        return NULL;
    if (l->state == DNS_QUEUED) {
        TAILQ_REMOVE(queue_of(c, l), l, link);
        c->stats.queued--;
        l->owner->lookup = NULL;
        l->owner->used = now;
        dnscache_lookup_free(l);
        return NULL;
    }
    stop_running(c, l);
    if (timed_out) {
        l->owner->slow = true;
        l->owner->answered = false;
    }
    l->owner->used = now;
    l->owner = NULL;
    l->state = DNS_ABANDONED;
    c->stats.abandoned++;
    return l;
}

const struct dnscache_stats *dnscache_stats(const struct dnscache *c)
{
    return &c->stats;
}
