/* Probes: one curl easy handle each, taken from a pool.
 *
 * Each probe opens a fresh connection (CURLOPT_FRESH_CONNECT and
 * FORBID_REUSE), so connect and TLS are tested every time. Redirects are
 * not followed unless the target asks; the Location is read from the
 * header. When they are, the probe follows them itself, one request
 * after another on the same handle (follow.h), so that a header whose
 * value is a secret, and basic_auth, go only to the target's own origin:
 * libcurl would send any header but Authorization and Cookie wherever a
 * redirect points. The whole answer is read, as a browser would, up to
 * max_body: a body that stalls is a timeout and one cut short is
 * truncated. With read_body false, the body is read only as far as a
 * check needs: the transfer stops at the first body byte, or when
 * body_contains is found and no other check needs the rest
 * (body_not_contains and json read it all). Such a stop, or one at
 * max_body, is deliberate and is not an error. The checks themselves are
 * judged in the pure core (assertion.h) on the body kept and the answer's
 * headers.
 *
 * Host names are looked up first, by the resolver (resolver.h), and handed
 * to curl with CURLOPT_RESOLVE, every address found, so that curl never
 * starts a resolver thread of its own for a probe's host, connect_to host
 * or proxy. The entries go to a DNS cache that only probes share. Hosts a
 * followed redirect leads to elsewhere are looked up by curl. */
#include "probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "assertion.h"
#include "clock.h"
#include "follow.h"
#include "log.h"
#include "outcome.h"
#include "redact.h"
#include "resolver.h"
#include "text.h"
#include "util.h"
#include "verdict.h"

struct probe_spec {
    const struct target_conf *t;
    CURLU *url;                 /* parsed once, not for every probe: the first request's URL
                                   (tls_server_name its host) */
    struct curl_slist *headers; /* every header: for the target's own origin */
    /* For any other origin a redirect leads to: none whose value is a
     * secret (read from a file or a credential), nor Authorization,
     * Cookie or Host, which libcurl never took to another host either. */
    struct curl_slist *cross_headers;
    /* For connect_to and tls_server_name: curl's CONNECT_TO entry. The URL
     * then carries the server name, and headers the original Host. */
    struct curl_slist *connect_to;
    bool https;
    bool want_cert; /* read the certificate's end for cert_expiry_warning */
    /* The names curl will resolve, as it asks its cache for them: the
     * URL's host or connect_to's, or a proxy's (and, through socks5, the
     * URL's too). Addresses and names curl answers itself are not here. */
    struct probe_host {
        char *name;
        unsigned port;
    } hosts[2];
    size_t nhosts;
};

struct prober {
    struct http *http;
    struct resolver *resolver;
    CURLSH *share; /* the DNS cache of probes, apart from webhooks' */
    char *user_agent;
    long dns_cache_s;
    CURL **pool; /* idle easy handles, reset before reuse */
    size_t npool, cappool;
    /* Probes ended, kept for the next: a struct probe is as large as
     * makes malloc tidy its small free chunks on every allocation. */
    struct probe **spare;
    size_t nspare, capspare;
};

/* One host's lookup for a probe. */
struct probe_lookup {
    struct probe *pr;
    const struct probe_host *host;
    struct resolve_req *req; /* while it runs */
};

struct probe {
    struct http_xfer xfer; /* first: the http callback gets this pointer */
    struct prober *p;
    const struct probe_spec *spec;
    const struct probe_callbacks *cb;
    void *arg;
    struct probe_lookup lookups[2];
    unsigned pending;           /* lookups not yet answered */
    struct curl_slist *resolve; /* CURLOPT_RESOLVE: each name's addresses */
    int64_t begun, looked_up;   /* monotonic */
    bool running;               /* the transfer is under way */
    struct buf body;            /* kept only for a body check */
    uint64_t nbody;             /* body bytes read, kept or not */
    bool stopped;               /* we ended the transfer on purpose */
    bool found;                 /* body_contains was seen while reading */
    bool cert_read;
    /* With follow_redirects: the URL of the request now made after a
     * redirect (NULL: the target's), how many were followed, and how long
     * the requests before this one took. */
    CURLU *at;
    unsigned hops;
    int64_t hops_us;
    bool as_get;            /* a redirect made the request a GET without a body */
    bool named;             /* the host asked now is a name to resolve */
    bool https;             /* and is asked over https */
    int64_t cert_not_after; /* of the certificate in the chain that ends first */
    char cert_subject[RESULT_CERT_NAME_MAX];
    char cert_issuer[RESULT_CERT_NAME_MAX];
    int64_t started_wall_ms;
    struct outcome_seen seen; /* of the answers' headers */
    char errbuf[CURL_ERROR_SIZE];
};

#ifndef CURL_WRITEFUNC_ERROR
#define CURL_WRITEFUNC_ERROR 0 /* before curl 7.87: any short count */
#endif

/* Idle handles kept for reuse (each keeps a 16 KiB buffer); beyond this
 * they are freed. Enough for the usual concurrency of a busy monitor. */
#define POOL_MAX 64

struct prober *prober_new(struct event_base *base, struct http *http)
{
    struct prober *p = xcalloc(1, sizeof(*p));

    p->http = http; /* the rest comes with the configuration */
    p->resolver = resolver_new(base);
    p->share = curl_share_init();
    if (p->resolver == NULL || p->share == NULL ||
        curl_share_setopt(p->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK) {
        prober_free(p);
        return NULL;
    }
    return p;
}

void prober_configure(struct prober *p, const struct config *cfg)
{
    free(p->user_agent);
    p->user_agent = xstrdup(cfg->user_agent);
    p->dns_cache_s = (long)((cfg->dns_cache_ms + 999) / 1000);
    resolver_configure(p->resolver, cfg->dns_cache_ms, cfg->max_lookups);
    resolver_recheck(p->resolver);
}

void prober_drain(struct prober *p)
{
    resolver_drain(p->resolver);
}

const struct dnscache_stats *prober_dns_stats(const struct prober *p)
{
    return resolver_stats(p->resolver);
}

void prober_free(struct prober *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->npool; i++)
        curl_easy_cleanup(p->pool[i]);
    free(p->pool);
    for (size_t i = 0; i < p->nspare; i++)
        free(p->spare[i]);
    free(p->spare);
    if (p->share)
        curl_share_cleanup(p->share); /* no handle uses it any more */
    resolver_free(p->resolver);
    free(p->user_agent);
    free(p);
}

/* Whether curl would ask a resolver for host: not an IPv4 (in any form
 * curl reads) or [IPv6] address, and not "localhost" or a name under
 * it, which curl answers itself. */
static bool needs_lookup(const char *host)
{
    size_t len = strlen(host);
    static const char sub[] = ".localhost";

    if (len == 0 || host[0] == '[' || strspn(host, "0123456789.") == len)
        return false;
    if (host[len - 1] == '.')
        len--;
    if ((len == 9 && strncasecmp(host, "localhost", 9) == 0) ||
        (len > sizeof(sub) - 1 &&
         strncasecmp(host + len - (sizeof(sub) - 1), sub, sizeof(sub) - 1) == 0))
        return false;
    return true;
}

static void add_host(struct probe_spec *s, const char *name, unsigned port)
{
    if (!needs_lookup(name) || s->nhosts == ARRAY_SIZE(s->hosts))
        return;
    for (size_t i = 0; i < s->nhosts; i++)
        if (s->hosts[i].port == port && strcasecmp(s->hosts[i].name, name) == 0)
            return;
    s->hosts[s->nhosts].name = xstrdup(name);
    s->hosts[s->nhosts].port = port;
    s->nhosts++;
}

#ifndef CURLU_PUNYCODE
#define CURLU_PUNYCODE 0 /* before curl 7.88: names are asked as written */
#endif

/* The names of spec->hosts: what curl will resolve to connect. */
static void plan_lookups(struct probe_spec *s, const struct target_conf *t)
{
    char *host = NULL, *port = NULL, *scheme = NULL, *pport = NULL;
    CURLU *proxy = NULL;

    /* The URL's host as curl resolves it: an IDN in punycode. */
    if (s->url == NULL ||
        curl_url_get(s->url, CURLUPART_HOST, &host, CURLU_PUNYCODE) != CURLUE_OK ||
        curl_url_get(s->url, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
        goto out;
    unsigned url_port = (unsigned)strtoul(port, NULL, 10);
    if (t->connect_to) {
        char chost[256];
        unsigned cport;
        host_port_split(t->connect_to, chost, sizeof(chost), &cport); /* validated */
        add_host(s, chost, cport ? cport : url_port);
    } else if (t->proxy) {
        char *phost = NULL;
        proxy = curl_url();
        if (proxy == NULL ||
            curl_url_set(proxy, CURLUPART_URL, t->proxy, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
            curl_url_get(proxy, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
            curl_url_get(proxy, CURLUPART_HOST, &phost, CURLU_URLDECODE | CURLU_PUNYCODE) !=
                CURLUE_OK)
            goto out;
        /* curl's defaults: 443 for an https proxy, 1080 for the rest. */
        unsigned p = curl_url_get(proxy, CURLUPART_PORT, &pport, 0) == CURLUE_OK
                         ? (unsigned)strtoul(pport, NULL, 10)
                     : strcasecmp(scheme, "https") == 0 ? 443
                                                        : 1080;
        add_host(s, phost, p);
        curl_free(phost);
        /* socks5 (not socks5h) has the URL's host resolved here too. */
        if (strcasecmp(scheme, "socks5") == 0)
            add_host(s, host, url_port);
    } else {
        add_host(s, host, url_port);
    }
out:
    curl_free(host);
    curl_free(port);
    curl_free(scheme);
    curl_free(pport);
    curl_url_cleanup(proxy);
}

static struct curl_slist *slist_add(struct curl_slist *l, const char *line, const char *what)
{
    struct curl_slist *n = curl_slist_append(l, line);

    if (n == NULL)
        log_err("out of memory building %s", what);
    return n ? n : l;
}

/* Whether a header goes only to the target's own origin: a secret, or one
 * that carries credentials or names the host. */
static bool stays_home(const struct kv *h)
{
    return h->secret || strcasecmp(h->key, "Authorization") == 0 ||
           strcasecmp(h->key, "Cookie") == 0 || strcasecmp(h->key, "Host") == 0;
}

static bool has_header(const struct target_conf *t, const char *name)
{
    for (size_t i = 0; i < t->nheaders; i++)
        if (strcasecmp(t->headers[i].key, name) == 0)
            return true;
    return false;
}

/* connect_to and tls_server_name, both through curl's CONNECT_TO: the
 * URL's host becomes the server name (the SNI and the name verified), the
 * connection goes to connect_to or else to the URL's own host, and the
 * Host header stays the URL's. */
static void plan_connection(struct probe_spec *s, const struct target_conf *t)
{
    char *host = NULL, *port = NULL, *explicit_port = NULL, *line;
    char chost[256] = "";
    unsigned cport = 0;

    if (s->url == NULL || curl_url_get(s->url, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(s->url, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
        goto out;
    if (t->connect_to)
        host_port_split(t->connect_to, chost, sizeof(chost), &cport); /* validated */
    else
        snprintf(chost, sizeof(chost), "%s", host);
    if (t->tls_server_name) {
        if (!has_header(t, "Host")) {
            line = curl_url_get(s->url, CURLUPART_PORT, &explicit_port, 0) == CURLUE_OK
                       ? xasprintf("Host: %s:%s", host, explicit_port)
                       : xasprintf("Host: %s", host);
            s->headers = slist_add(s->headers, line, "headers");
            free(line);
        }
        curl_url_set(s->url, CURLUPART_HOST, t->tls_server_name, 0);
    }
    line =
        cport ? xasprintf("%s:%s:%s:%u", t->tls_server_name ? t->tls_server_name : host, port,
                          chost, cport)
              : xasprintf("%s:%s:%s:", t->tls_server_name ? t->tls_server_name : host, port, chost);
    s->connect_to = slist_add(NULL, line, "connect_to");
    free(line);
out:
    curl_free(host);
    curl_free(port);
    curl_free(explicit_port);
}

struct probe_spec *probe_spec_new(const struct target_conf *t)
{
    struct probe_spec *s = xcalloc(1, sizeof(*s));

    s->t = t;
    for (size_t i = 0; i < t->nheaders; i++) {
        const struct kv *h = &t->headers[i];
        char *line = h->value[0] ? xasprintf("%s: %s", h->key, h->value)
                                 : xasprintf("%s;", h->key); /* curl's way to send it empty */
        s->headers = slist_add(s->headers, line, "headers");
        if (!stays_home(h))
            s->cross_headers = slist_add(s->cross_headers, line, "headers");
        explicit_bzero(line, strlen(line)); /* it may carry a token */
        free(line);
    }
    s->url = curl_url();
    if (s->url && curl_url_set(s->url, CURLUPART_URL, t->url, 0) != CURLUE_OK) {
        curl_url_cleanup(s->url); /* validated already; only memory can fail */
        s->url = NULL;
    }
    s->https = strncasecmp(t->url, "https:", 6) == 0;
    s->want_cert = s->https && t->cert_expiry_warning_ms > 0;
    plan_lookups(s, t); /* before plan_connection sets tls_server_name as the host */
    if (t->connect_to || t->tls_server_name)
        plan_connection(s, t);
    return s;
}

void probe_spec_retarget(struct probe_spec *s, const struct target_conf *t)
{
    s->t = t;
}

void probe_spec_free(struct probe_spec *s)
{
    if (s == NULL)
        return;
    curl_url_cleanup(s->url);
    curl_slist_free_all(s->headers);
    curl_slist_free_all(s->cross_headers);
    curl_slist_free_all(s->connect_to);
    for (size_t i = 0; i < s->nhosts; i++)
        free(s->hosts[i].name);
    free(s);
}

/* Whether the answer's status is one whose body is checked. Other answers
 * fail on their status alone, so their body is not read. */
static bool body_wanted(struct probe *pr)
{
    long code = 0;

    if (!assertion_needs_body(pr->spec->t))
        return false;
    curl_easy_getinfo(pr->xfer.easy, CURLINFO_RESPONSE_CODE, &code);
    return verdict_status_up(pr->spec->t, (int)code);
}

static CURLU *redirect_target(struct probe *pr);

/* Whether the answer read now is a redirect the probe follows. */
static bool will_follow(struct probe *pr)
{
    CURLU *next = pr->spec->t->follow_redirects ? redirect_target(pr) : NULL;

    curl_url_cleanup(next);
    return next != NULL;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
    struct probe *pr = arg;
    const struct target_conf *t = pr->spec->t;
    size_t len = size * nmemb;
    uint64_t room = t->max_body - pr->nbody;
    size_t take = len < room ? len : (size_t)room;

    /* The body of a redirect that is followed is not the answer. */
    if (pr->nbody == 0 && will_follow(pr)) {
        pr->stopped = true;
        return CURL_WRITEFUNC_ERROR;
    }
    if (!body_wanted(pr)) {
        if (!t->read_body) {
            pr->stopped = true; /* judged at the headers */
            return CURL_WRITEFUNC_ERROR;
        }
    } else if (!pr->found || assertion_keeps_body(t)) {
        size_t from = pr->body.len;
        buf_append(&pr->body, data, take);
        if (t->body_contains && !pr->found) {
            size_t nlen = strlen(t->body_contains);
            size_t start = from >= nlen ? from - nlen + 1 : 0;
            if (memmem(pr->body.data + start, pr->body.len - start, t->body_contains, nlen)) {
                pr->found = true;
                if (!assertion_keeps_body(t)) {
                    buf_free(&pr->body); /* all it was kept for */
                    if (!t->read_body) {
                        pr->stopped = true;
                        return CURL_WRITEFUNC_ERROR;
                    }
                }
            }
        }
    }
    pr->nbody += take;
    if (pr->nbody >= t->max_body) {
        pr->stopped = true; /* judge what we have */
        return CURL_WRITEFUNC_ERROR;
    }
    return len;
}

/* A certificate name on one line in RFC 2253 form, which escapes what is
 * not printable ASCII, bounded and made safe to show. */
static void cert_name(const X509_NAME *name, char *out, size_t len)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data = NULL;

    out[0] = '\0';
    if (b == NULL)
        return;
    if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0) {
        long n = BIO_get_mem_data(b, &data);
        if (n > 0 && data)
            probe_result_name(out, len, data, (size_t)n);
    }
    BIO_free(b);
}

/* Reads, while the connection is open, which certificate of the chain the
 * server sent ends first: the site's own, or an intermediate that ends
 * before it and takes the site down with it all the same. */
static void read_cert(struct probe *pr)
{
    struct curl_tlssessioninfo *info = NULL;
    const X509 *first = NULL;
    int64_t first_end = 0;

    if (curl_easy_getinfo(pr->xfer.easy, CURLINFO_TLS_SSL_PTR, &info) != CURLE_OK || !info ||
        info->backend != CURLSSLBACKEND_OPENSSL || info->internals == NULL)
        return; /* not yet: a proxy's answer to CONNECT comes before the handshake */
    pr->cert_read = true;
    SSL *ssl = info->internals;
    /* The chain that was verified, from the server's own certificate to
     * the trusted root: certificates a server sends beside it (an old
     * cross-signature, say) are not what clients rely on, and their end
     * is no alarm. Unverified, the chain as sent. */
    STACK_OF(X509) *chain = pr->spec->t->tls_verify ? SSL_get0_verified_chain(ssl) : NULL;
    if (chain == NULL || sk_X509_num(chain) == 0)
        chain = SSL_get_peer_cert_chain(ssl);
    X509 *leaf = chain ? NULL : SSL_get1_peer_certificate(ssl);
    int n = chain ? sk_X509_num(chain) : leaf ? 1 : 0;
    for (int i = 0; i < n; i++) {
        const X509 *c = chain ? sk_X509_value(chain, i) : leaf;
        struct tm tm;
        if (ASN1_TIME_to_tm(X509_get0_notAfter(c), &tm) != 1)
            continue;
        int64_t end = (int64_t)timegm(&tm);
        if (first == NULL || end < first_end) {
            first = c;
            first_end = end;
        }
    }
    if (first) {
        pr->cert_not_after = first_end;
        cert_name(X509_get_subject_name(first), pr->cert_subject, sizeof(pr->cert_subject));
        cert_name(X509_get_issuer_name(first), pr->cert_issuer, sizeof(pr->cert_issuer));
    }
    X509_free(leaf);
}

/* Each header line of each answer, whole. */
static size_t header_cb(char *data, size_t size, size_t nmemb, void *arg)
{
    struct probe *pr = arg;
    size_t len = size * nmemb;

    if (pr->spec->want_cert && !pr->cert_read)
        read_cert(pr);
    /* Where the answer is, for outcome_classify: a status line starts a
     * header block, a blank line ends it. */
    pr->seen.header_bytes += len;
    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0)
        pr->seen.headers_done = false;
    else if (len > 0 && (data[0] == '\r' || data[0] == '\n'))
        pr->seen.headers_done = true;
    return len;
}

/* The URL a Location of the last answer is resolved against (RFC 9110,
 * 10.2.2): the URL asked. Not followed, that is the URL configured (the one
 * asked may carry tls_server_name as its host). NULL: out of memory. */
static CURLU *location_base(struct probe *pr, bool shown)
{
    const struct probe_spec *s = pr->spec;
    CURLU *u;

    if (pr->at)
        return curl_url_dup(pr->at);
    /* To follow it, the URL asked; to show it, the URL configured. */
    if (!shown && s->t->follow_redirects && s->url)
        return curl_url_dup(s->url);
    u = curl_url();
    if (u && curl_url_set(u, CURLUPART_URL, s->t->url, 0) != CURLUE_OK) {
        curl_url_cleanup(u);
        u = NULL;
    }
    return u;
}

/* Where the last answer sends a probe that follows redirects: a redirect
 * status (follow.h) with a Location, resolved as libcurl resolves one it
 * follows (spaces and bytes beyond ASCII encoded), to an http or https
 * URL. NULL when the answer is not one to follow. */
static CURLU *redirect_target(struct probe *pr)
{
    CURL *e = pr->xfer.easy;
    struct curl_header *h = NULL;
    long code = 0;
    char *url = NULL;

    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    if (!follow_status((int)code) ||
        curl_easy_header(e, "Location", 0, CURLH_HEADER, -1, &h) != CURLHE_OK || !h->value[0])
        return NULL;
    CURLU *u = location_base(pr, false);
    if (u == NULL ||
        curl_url_set(u, CURLUPART_URL, h->value,
                     CURLU_NON_SUPPORT_SCHEME | CURLU_URLENCODE | CURLU_ALLOW_SPACE) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK || !follow_scheme_ok(url)) {
        curl_url_cleanup(u);
        u = NULL;
    }
    curl_free(url);
    return u;
}

/* The Location of the last answer, from its header, resolved against the
 * URL that was asked (location_base). curl's own REDIRECT_URL is
 * set only when a transfer completes, and a probe that has what it needs
 * stops at the first byte of the body: every real redirect has a body.
 * The values of the target's secret parameters are hidden (redact.h),
 * whichever site it points to: a site that redirects to itself often
 * repeats the token it was asked with, and one that hands a token on puts
 * it there. "" when the answer had none. */
static void redirect_location(struct probe *pr, char *out, size_t len)
{
    const struct target_conf *t = pr->spec->t;
    CURL *e = pr->xfer.easy;
    struct curl_header *h = NULL;
    char *abs = NULL;

    out[0] = '\0';
    if (curl_easy_header(e, "Location", 0, CURLH_HEADER, -1, &h) != CURLHE_OK || !h->value[0])
        return;
    CURLU *u = location_base(pr, true);
    bool resolved =
        u && curl_url_set(u, CURLUPART_URL, h->value, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
        /* A relative Location keeps the base's user and password. */
        curl_url_set(u, CURLUPART_USER, NULL, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_PASSWORD, NULL, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_URL, &abs, 0) == CURLUE_OK;
    /* Not a URL we can resolve: as sent. Hidden before it is cut to fit,
     * so that no part of a value is left; kept as valid UTF-8, cut between
     * characters, for JSON to take. */
    char *shown = redact_url(resolved ? abs : h->value, t->redact_query, t->nredact_query);
    text_sanitize(out, len, shown, strlen(shown), 0);
    free(shown);
    curl_free(abs);
    curl_url_cleanup(u);
}

/* A header of the final answer for header_matches: every field line of
 * the name, joined as RFC 9110 (5.3) combines them; NULL when none. */
static char *answer_header(void *arg, const char *name)
{
    CURL *e = arg;
    struct curl_header *h = NULL;
    struct buf b = {0};

    if (curl_easy_header(e, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
        return NULL;
    size_t amount = h->amount;
    buf_append(&b, h->value, strlen(h->value));
    for (size_t i = 1; i < amount; i++) {
        if (curl_easy_header(e, name, i, CURLH_HEADER, -1, &h) != CURLHE_OK)
            break;
        buf_append(&b, ", ", 2);
        buf_append(&b, h->value, strlen(h->value));
    }
    return b.data;
}

static void fill_result(struct probe *pr, CURLcode rc, struct probe_result *r)
{
    CURL *e = pr->xfer.easy;
    long code = 0;
    curl_off_t t;

    probe_result_init(r);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    r->code = (int)code;
    if (pr->stopped && (rc == CURLE_WRITE_ERROR || rc == CURLE_ABORTED_BY_CALLBACK))
        rc = CURLE_OK;
    /* curl waits for a final answer after a 1xx; a server that closes after
     * one has made the 1xx its final answer, which is what gets judged. */
    if (code >= 100 && code <= 199 && rc == CURLE_GOT_NOTHING)
        rc = CURLE_OK;
    const char *why;
    pr->seen.code = code;
    r->error = outcome_classify(rc, &pr->seen, &why);
    if (r->error != PERR_NONE) {
        /* curl's messages may quote what the server sent. */
        const char *m = why ? why : pr->errbuf[0] ? pr->errbuf : curl_easy_strerror(rc);
        text_sanitize(r->message, sizeof(r->message), m, strlen(m), TEXT_ESCAPE | TEXT_ELLIPSIS);
    } else if (code && (code < 100 || code > 599))
        snprintf(r->message, sizeof(r->message), "status code %ld is outside 100-599", code);
    /* HTTP/2 over TLS is offered, not forced: a server that chose
     * HTTP/1.1 has answered, just not as asked. */
    long version = 0;
    if (r->error == PERR_NONE && pr->spec->t->http_version == HTTP_2 &&
        curl_easy_getinfo(e, CURLINFO_HTTP_VERSION, &version) == CURLE_OK &&
        version != CURL_HTTP_VERSION_2_0) {
        r->error = PERR_PROTOCOL;
        snprintf(r->message, sizeof(r->message),
                 "the server answered over HTTP/1.%d, not HTTP/2 as http_version asks",
                 version == CURL_HTTP_VERSION_1_0 ? 0 : 1);
    }
    redirect_location(pr, r->location, sizeof(r->location));
    /* The timings of the last request, from the start of the probe: after
     * the lookup, which came before curl's clock started, and the time the
     * redirects before it took. */
    int64_t before = (pr->looked_up - pr->begun) + pr->hops_us;
    if (curl_easy_getinfo(e, CURLINFO_NAMELOOKUP_TIME_T, &t) == CURLE_OK) {
        r->dns_us = before + t;
        /* A host curl looked up itself (after a redirect) whose DNS
         * servers do not answer: the lookup never ended. */
        if (r->error == PERR_TIMEOUT && t == 0 && pr->named)
            r->error = PERR_DNS;
    }
    if (curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &t) == CURLE_OK && t > 0)
        r->connect_us = before + t;
    if (pr->https && curl_easy_getinfo(e, CURLINFO_APPCONNECT_TIME_T, &t) == CURLE_OK && t > 0)
        r->tls_us = before + t;
    if (curl_easy_getinfo(e, CURLINFO_STARTTRANSFER_TIME_T, &t) == CURLE_OK && t > 0)
        r->ttfb_us = before + t;
    if (curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &t) == CURLE_OK)
        r->total_us = before + t;
    r->cert_not_after = pr->cert_not_after;
    memcpy(r->cert_subject, pr->cert_subject, sizeof(r->cert_subject));
    memcpy(r->cert_issuer, pr->cert_issuer, sizeof(r->cert_issuer));

    const struct target_conf *tc = pr->spec->t;
    if (r->error == PERR_NONE && assertion_any(tc) && verdict_status_up(tc, (int)code)) {
        struct assertion_answer a = {
            .body = pr->body.data,
            .len = pr->body.len,
            .capped = pr->nbody >= tc->max_body,
            .found = pr->found,
            .header = answer_header,
            .arg = e,
        };
        r->body_match = assertion_check(tc, &a, r->message, sizeof(r->message));
    }
}

static void release_handle(struct prober *p, CURL *easy)
{
    if (p->npool < POOL_MAX) {
        xgrow((void **)&p->pool, &p->cappool, p->npool, sizeof(*p->pool));
        p->pool[p->npool++] = easy;
    } else {
        curl_easy_cleanup(easy);
    }
}

static void probe_free(struct probe *pr)
{
    for (size_t i = 0; i < ARRAY_SIZE(pr->lookups); i++)
        resolver_cancel(pr->lookups[i].req);
    if (pr->at) {
        if (pr->xfer.easy)
            curl_easy_setopt(pr->xfer.easy, CURLOPT_CURLU, NULL); /* freed next */
        curl_url_cleanup(pr->at);
    }
    if (pr->xfer.easy)
        release_handle(pr->p, pr->xfer.easy);
    curl_slist_free_all(pr->resolve);
    buf_free(&pr->body);
    struct prober *p = pr->p;
    if (p->nspare < POOL_MAX) {
        xgrow((void **)&p->spare, &p->capspare, p->nspare, sizeof(*p->spare));
        p->spare[p->nspare++] = pr;
    } else {
        free(pr);
    }
}

/* Makes the request a redirect asks for, to next, on the same handle:
 * the target's headers in full and its basic_auth only when next is of
 * the target's own origin, the method as follow.h says, within what is
 * left of the probe's timeout. CURLE_OK when it started; otherwise why
 * the probe ends here, with the answer that redirected. */
/* Whether a URL's host must be resolved: not an IPv4 or [IPv6] literal. */
static bool host_is_name(CURLU *url)
{
    char *host = NULL;
    unsigned char addr[16];
    bool named = true;

    if (url == NULL || curl_url_get(url, CURLUPART_HOST, &host, 0) != CURLUE_OK)
        return true;
    if (host[0] == '[') {
        host[strcspn(host, "]%")] = '\0';
        named = inet_pton(AF_INET6, host + 1, addr) != 1;
    } else {
        named = inet_pton(AF_INET, host, addr) != 1;
    }
    curl_free(host);
    return named;
}

/* Another host than the target's: it gets no client certificate (it
 * would tell who is probing), and it is verified against the system's
 * CAs, not a private one given for the site (a redirect to a public
 * sign-in page, say). */
static void leave_home_tls(CURL *e, const struct target_conf *t)
{
    char *cainfo = NULL, *capath = NULL;

    if (t->client_cert.data) {
        curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, NULL);
        curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, NULL);
    }
    if (t->ca_file.data || t->ca_path) {
        curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, NULL);
        /* libcurl's built-in defaults, as a fresh handle has them. */
        curl_easy_getinfo(e, CURLINFO_CAINFO, &cainfo);
        curl_easy_getinfo(e, CURLINFO_CAPATH, &capath);
        curl_easy_setopt(e, CURLOPT_CAINFO, cainfo);
        curl_easy_setopt(e, CURLOPT_CAPATH, capath);
    }
}

static CURLcode follow(struct probe *pr, CURLU *next)
{
    const struct probe_spec *s = pr->spec;
    const struct target_conf *t = s->t;
    CURL *e = pr->xfer.easy;
    long code = 0;
    curl_off_t took = 0;
    char *url = NULL;

    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &took);
    int64_t spent_us = pr->hops_us + took;
    int64_t left_ms = (int64_t)t->timeout_ms - (spent_us + pr->looked_up - pr->begun) / 1000;
    if (left_ms < 1) {
        curl_url_cleanup(next);
        snprintf(pr->errbuf, sizeof(pr->errbuf),
                 "Operation timed out after %lld milliseconds, following redirects",
                 (long long)(spent_us / 1000));
        return CURLE_OPERATION_TIMEDOUT;
    }
    if (curl_url_get(next, CURLUPART_URL, &url, 0) != CURLUE_OK) {
        curl_url_cleanup(next);
        return CURLE_OUT_OF_MEMORY;
    }
    /* The first request's URL, as a string only here: most probes never
     * follow a redirect, and 10,000 targets would keep 10,000 copies. */
    char *asked = NULL;
    if (s->url && curl_url_get(s->url, CURLUPART_URL, &asked, 0) != CURLUE_OK)
        asked = NULL;
    bool first_origin = asked && follow_same_origin(url, asked);
    bool home = first_origin || follow_same_origin(url, t->url);
    bool site = home || follow_same_host(url, t->url) || (asked && follow_same_host(url, asked));
    pr->https = strncasecmp(url, "https:", 6) == 0;
    curl_free(asked);
    curl_free(url);
    /* Where connect_to applies, its host is the one resolved. */
    pr->named = first_origin ? false : host_is_name(next); /* looked up already, or by curl */
    curl_url_cleanup(pr->at);
    pr->at = next;
    pr->hops++;
    pr->hops_us = spent_us;
    pr->stopped = false;
    pr->errbuf[0] = '\0';
    memset(&pr->seen, 0, sizeof(pr->seen)); /* each answer's headers are its own */

    curl_easy_setopt(e, CURLOPT_CURLU, next);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)left_ms);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, home ? s->headers : s->cross_headers);
    if (!site)
        leave_home_tls(e, t);
    if (t->basic_auth_user) {
        curl_easy_setopt(e, CURLOPT_USERNAME, home ? t->basic_auth_user : NULL);
        curl_easy_setopt(e, CURLOPT_PASSWORD, home ? t->basic_auth_password.data : NULL);
    }
    if (!pr->as_get && follow_as_get((int)code, t->method)) {
        pr->as_get = true;
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    }
    if (http_add(pr->p->http, &pr->xfer) == 0)
        return CURLE_OK;
    pr->hops_us -= took; /* the answer that redirected is the result */
    return CURLE_FAILED_INIT;
}

/* Whether the transfer read an answer: in full, or as far as was wanted. */
static bool answered(const struct probe *pr, CURLcode rc)
{
    return rc == CURLE_OK ||
           (pr->stopped && (rc == CURLE_WRITE_ERROR || rc == CURLE_ABORTED_BY_CALLBACK));
}

static void done_cb(struct http_xfer *x, CURLcode rc)
{
    struct probe *pr = (struct probe *)x;
    struct probe_result r;
    CURLU *next;

    if (rc == CURLE_OPERATION_TIMEDOUT && pr->hops > 0) { /* the deadline covers every hop */
        curl_off_t took = 0;
        curl_easy_getinfo(pr->xfer.easy, CURLINFO_TOTAL_TIME_T, &took);
        snprintf(pr->errbuf, sizeof(pr->errbuf),
                 "Operation timed out after %lld milliseconds, following %u redirect%s",
                 (long long)((pr->looked_up - pr->begun + pr->hops_us + took) / 1000), pr->hops,
                 pr->hops == 1 ? "" : "s");
    }
    if (pr->spec->t->follow_redirects && answered(pr, rc) && (next = redirect_target(pr))) {
        if (pr->hops < FOLLOW_MAX) {
            rc = follow(pr, next);
            if (rc == CURLE_OK)
                return;
        } else {
            curl_url_cleanup(next);
            rc = CURLE_TOO_MANY_REDIRECTS;
            snprintf(pr->errbuf, sizeof(pr->errbuf), "Maximum (%d) redirects followed", FOLLOW_MAX);
        }
    }
    fill_result(pr, rc, &r);
    r.started_wall_ms = pr->started_wall_ms;
    const struct probe_callbacks *cb = pr->cb;
    void *arg = pr->arg;
    probe_free(pr);
    cb->done(&r, arg);
}

static CURL *take_handle(struct prober *p)
{
    if (p->npool > 0) {
        CURL *e = p->pool[--p->npool];
        curl_easy_reset(e);
        return e;
    }
    return curl_easy_init();
}

static void set_blob(CURL *e, CURLoption opt, const char *pem)
{
    /* Copied: the configuration may be swapped while a probe runs. */
    struct curl_blob b = {(void *)(uintptr_t)pem, strlen(pem), CURL_BLOB_COPY};

    curl_easy_setopt(e, opt, &b);
}

/* TLS, authentication and the connection's route, as the target asks. */
static void setup_client(struct probe *pr, CURL *e, const struct target_conf *t)
{
    static const long tls_versions[] = {
        [TLS_V1_0] = CURL_SSLVERSION_TLSv1_0,
        [TLS_V1_1] = CURL_SSLVERSION_TLSv1_1,
        [TLS_V1_2] = CURL_SSLVERSION_TLSv1_2,
        [TLS_V1_3] = CURL_SSLVERSION_TLSv1_3,
    };

    if (!t->tls_verify) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    /* Set whatever the URL's scheme: a followed redirect may lead to https. */
    curl_easy_setopt(e, CURLOPT_SSLVERSION, tls_versions[t->tls_min_version]);
    /* The CAs given replace the system's, not add to them. */
    if (t->ca_file.data || t->ca_path) {
        curl_easy_setopt(e, CURLOPT_CAINFO, NULL);
        curl_easy_setopt(e, CURLOPT_CAPATH, t->ca_path);
    }
    if (t->ca_file.data)
        set_blob(e, CURLOPT_CAINFO_BLOB, t->ca_file.data);
    if (t->client_cert.data) {
        set_blob(e, CURLOPT_SSLCERT_BLOB, t->client_cert.data);
        curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
    }
    if (t->client_key.data) {
        set_blob(e, CURLOPT_SSLKEY_BLOB, t->client_key.data);
        curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
    }
    if (pr->spec->connect_to)
        curl_easy_setopt(e, CURLOPT_CONNECT_TO, pr->spec->connect_to);
    if (t->basic_auth_user) {
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(e, CURLOPT_USERNAME, t->basic_auth_user);
        curl_easy_setopt(e, CURLOPT_PASSWORD, t->basic_auth_password.data);
    }
    if (t->http_version == HTTP_1_1)
        curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    else if (t->http_version == HTTP_2)
        curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                         pr->spec->https ? (long)CURL_HTTP_VERSION_2TLS
                                         : (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
}

static void setup(struct probe *pr)
{
    const struct target_conf *t = pr->spec->t;
    CURL *e = pr->xfer.easy;

    if (pr->spec->url)
        curl_easy_setopt(e, CURLOPT_CURLU, pr->spec->url);
    else
        curl_easy_setopt(e, CURLOPT_URL, t->url);
    /* The URL's scheme was checked when the configuration was loaded. */
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    /* A probe tests the site itself, through the proxy configured or none,
     * never one named in the environment (http_proxy, no_proxy and
     * friends); curl otherwise reads those variables anew for every
     * transfer. */
    curl_easy_setopt(e, CURLOPT_PROXY, t->proxy ? t->proxy : "");
    if (t->proxy) {
        curl_easy_setopt(e, CURLOPT_NOPROXY, "");
        /* The proxy's answer to CONNECT is not the site's. */
        curl_easy_setopt(e, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    }
    /* One deadline for the whole probe (it covers the connect too), of
     * which the lookup has taken its part already. */
    int64_t left_ms = (int64_t)t->timeout_ms - (pr->looked_up - pr->begun) / 1000;
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(left_ms > 0 ? left_ms : 1));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 0L);
    /* A plain HTTP request goes out in one write, so Nagle cannot delay
     * it: skip the setsockopt. TLS handshakes keep TCP_NODELAY. */
    if (!pr->spec->https)
        curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 0L);
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, pr->p->user_agent);
    /* The probe's own names come looked up already (CURLOPT_RESOLVE).
     * Others, the hosts redirects lead to, are left to curl's resolver
     * and cache, for dns_cache. */
    curl_easy_setopt(e, CURLOPT_SHARE, pr->p->share);
    curl_easy_setopt(e, CURLOPT_DNS_CACHE_TIMEOUT, pr->p->dns_cache_s);
    if (pr->resolve)
        curl_easy_setopt(e, CURLOPT_RESOLVE, pr->resolve);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, pr->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, pr);
    /* Always: outcome_classify needs to know where the answer is. */
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, pr);
    curl_easy_setopt(e, CURLOPT_IPRESOLVE,
                     t->ip_version == IP_V4   ? CURL_IPRESOLVE_V4
                     : t->ip_version == IP_V6 ? CURL_IPRESOLVE_V6
                                              : CURL_IPRESOLVE_WHATEVER);
    setup_client(pr, e, t);
    if (pr->spec->headers)
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, pr->spec->headers);
    if (strcmp(t->method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (strcmp(t->method, "GET") != 0) {
        if (strcmp(t->method, "POST") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, t->method);
    }
    if (t->body) {
        /* Copied: the configuration may be swapped while this runs. */
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(t->body));
        curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, t->body);
        if (strcmp(t->method, "POST") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, t->method);
    } else if (strcmp(t->method, "POST") == 0) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    }
}

/* A lookup that failed ends the probe before its transfer: a dns
 * failure, timed from the probe's start. */
static void lookup_failed(struct probe *pr, const struct resolve_answer *a)
{
    struct probe_result r;

    probe_result_init(&r);
    r.error = PERR_DNS;
    snprintf(r.message, sizeof(r.message), "%s", a->message);
    r.dns_us = r.total_us = a->waited_us;
    r.started_wall_ms = pr->started_wall_ms;
    const struct probe_callbacks *cb = pr->cb;
    void *arg = pr->arg;
    probe_free(pr); /* cancels the other lookup, if one still runs */
    cb->done(&r, arg);
}

static void add_resolve(struct probe *pr, const struct probe_host *h, const char *addrs)
{
    char *line = xasprintf("%s:%u:%s", h->name, h->port, addrs);

    pr->resolve = slist_add(pr->resolve, line, "resolve");
    free(line);
}

static void lookup_cb(const struct resolve_answer *a, void *arg)
{
    struct probe_lookup *lk = arg;
    struct probe *pr = lk->pr;

    lk->req = NULL;
    if (a->addrs == NULL) {
        lookup_failed(pr, a);
        return;
    }
    add_resolve(pr, lk->host, a->addrs);
    if (--pr->pending == 0) {
        pr->looked_up = pr->begun + a->waited_us;
        pr->cb->ready(pr->arg);
    }
}

struct probe *probe_new(struct prober *p, const struct probe_spec *spec,
                        const struct probe_callbacks *cb, void *arg, int64_t now, bool *ready)
{
    struct probe *pr = p->nspare > 0 ? p->spare[--p->nspare] : xmalloc(sizeof(*pr));
    const struct target_conf *t = spec->t;

    memset(pr, 0, sizeof(*pr));

    pr->p = p;
    pr->spec = spec;
    pr->cb = cb;
    pr->arg = arg;
    pr->begun = pr->looked_up = now;
    pr->xfer.done = done_cb;
    pr->started_wall_ms = clock_wall_ms();
    pr->named = false; /* its hosts are looked up here, not by curl */
    pr->https = spec->https;
    for (size_t i = 0; i < spec->nhosts; i++) {
        struct probe_lookup *lk = &pr->lookups[i];
        struct resolve_answer a;
        lk->pr = pr;
        lk->host = &spec->hosts[i];
        if (resolver_find(p->resolver, lk->host->name, t->ip_version, now,
                          now + (int64_t)t->timeout_ms * 1000, lookup_cb, lk, &a, &lk->req))
            add_resolve(pr, lk->host, a.addrs);
        else
            pr->pending++;
    }
    *ready = pr->pending == 0;
    return pr;
}

int probe_run(struct probe *pr)
{
    pr->xfer.easy = take_handle(pr->p);
    if (pr->xfer.easy == NULL)
        return -1;
    setup(pr);
    if (http_add(pr->p->http, &pr->xfer) < 0) {
        release_handle(pr->p, pr->xfer.easy);
        pr->xfer.easy = NULL;
        return -1;
    }
    pr->running = true;
    return 0;
}

void probe_cancel(struct probe *pr)
{
    if (pr == NULL)
        return;
    if (pr->running)
        http_remove(pr->p->http, &pr->xfer);
    probe_free(pr);
}
