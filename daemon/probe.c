/* Probes: one curl easy handle each, taken from a pool.
 *
 * Each probe opens a fresh connection (CURLOPT_FRESH_CONNECT and
 * FORBID_REUSE), so connect and TLS are tested every time. Redirects are
 * not followed unless the target asks; the Location is read from the
 * header. The whole answer is read, as a browser would, up to max_body:
 * a body that stalls is a timeout and one cut short is truncated. With
 * read_body false, the body is read only as far as a check needs: the
 * transfer stops at the first body byte, or when body_contains is found
 * and no other check needs the rest (body_not_contains and json read it
 * all). Such a stop, or one at max_body, is deliberate and
 * is not an error. The checks themselves are judged in the pure core
 * (assertion.h) on the body kept and the answer's headers.
 *
 * Host names are looked up first, by the resolver (resolver.h), and handed
 * to curl with CURLOPT_RESOLVE, every address found, so that curl never
 * starts a resolver thread of its own for a probe's host, connect_to host
 * or proxy. The entries go to a DNS cache that only probes share. */
#include "probe.h"

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
#include "log.h"
#include "resolver.h"
#include "util.h"
#include "verdict.h"

struct probe_spec {
    const struct target_conf *t;
    CURLU *url; /* parsed once, not for every probe */
    struct curl_slist *headers;
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
    int64_t cert_not_after; /* of the certificate in the chain that ends first */
    char cert_subject[RESULT_CERT_NAME_MAX];
    char cert_issuer[RESULT_CERT_NAME_MAX];
    int64_t started_wall_ms;
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
        char *line = t->headers[i].value[0]
                         ? xasprintf("%s: %s", t->headers[i].key, t->headers[i].value)
                         : xasprintf("%s;", t->headers[i].key); /* curl's way to send it empty */
        s->headers = slist_add(s->headers, line, "headers");
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

static size_t write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
    struct probe *pr = arg;
    const struct target_conf *t = pr->spec->t;
    size_t len = size * nmemb;
    uint64_t room = t->max_body - pr->nbody;
    size_t take = len < room ? len : (size_t)room;

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

    pr->cert_read = true;
    if (curl_easy_getinfo(pr->xfer.easy, CURLINFO_TLS_SSL_PTR, &info) != CURLE_OK || !info ||
        info->backend != CURLSSLBACKEND_OPENSSL || info->internals == NULL)
        return;
    SSL *ssl = info->internals;
    /* On a client, the chain as sent, the server's own certificate first. */
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
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

static size_t header_cb(char *data, size_t size, size_t nmemb, void *arg)
{
    struct probe *pr = arg;
    (void)data;

    if (!pr->cert_read)
        read_cert(pr);
    return size * nmemb;
}

static enum probe_error classify(CURLcode rc)
{
    switch (rc) {
    case CURLE_OK:
        return PERR_NONE;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return PERR_DNS;
    case CURLE_COULDNT_CONNECT:
        return PERR_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        return PERR_TIMEOUT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
        return PERR_TLS;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
        return PERR_RESET;
    case CURLE_PARTIAL_FILE:
        return PERR_TRUNCATED;
    case CURLE_BAD_CONTENT_ENCODING:
        return PERR_BODY;
    case CURLE_OUT_OF_MEMORY:
    case CURLE_FAILED_INIT:
        return PERR_INTERNAL;
    default:
        return PERR_PROTOCOL; /* weird reply, HTTP/0.9, too many redirects, HTTP/2 errors */
    }
}

/* The Location of the last answer, from its header, resolved against the
 * URL that was asked (RFC 9110 section 10.2.2). curl's own REDIRECT_URL is
 * set only when a transfer completes, and a probe that has what it needs
 * stops at the first byte of the body: every real redirect has a body.
 * "" when the answer had none. */
static void redirect_location(struct probe *pr, char *out, size_t len)
{
    CURL *e = pr->xfer.easy;
    struct curl_header *h = NULL;
    const char *base = NULL;
    char *abs = NULL;

    out[0] = '\0';
    if (curl_easy_header(e, "Location", 0, CURLH_HEADER, -1, &h) != CURLHE_OK || !h->value[0])
        return;
    /* Not followed, the answer is to the URL configured (the effective
     * one may carry tls_server_name as its host). */
    if (pr->spec->t->follow_redirects)
        curl_easy_getinfo(e, CURLINFO_EFFECTIVE_URL, &base);
    else
        base = pr->spec->t->url;
    CURLU *u = curl_url();
    if (u && base && curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_URL, h->value, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
        /* A relative Location keeps the base's user and password. */
        curl_url_set(u, CURLUPART_USER, NULL, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_URL, &abs, 0) == CURLUE_OK)
        snprintf(out, len, "%s", abs);
    else
        snprintf(out, len, "%s", h->value); /* not a URL we can resolve: as sent */
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
    r->error = classify(rc);
    if (r->error != PERR_NONE)
        snprintf(r->message, sizeof(r->message), "%s",
                 pr->errbuf[0] ? pr->errbuf : curl_easy_strerror(rc));
    else if (code && (code < 100 || code > 599))
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
    /* The lookup came before curl's clock started: every time includes it. */
    int64_t looked = pr->looked_up - pr->begun;
    if (curl_easy_getinfo(e, CURLINFO_NAMELOOKUP_TIME_T, &t) == CURLE_OK)
        r->dns_us = looked + t;
    if (curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &t) == CURLE_OK && t > 0)
        r->connect_us = looked + t;
    if (pr->spec->https && curl_easy_getinfo(e, CURLINFO_APPCONNECT_TIME_T, &t) == CURLE_OK &&
        t > 0)
        r->tls_us = looked + t;
    if (curl_easy_getinfo(e, CURLINFO_STARTTRANSFER_TIME_T, &t) == CURLE_OK && t > 0)
        r->ttfb_us = looked + t;
    if (curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &t) == CURLE_OK)
        r->total_us = looked + t;
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
    if (pr->xfer.easy)
        release_handle(pr->p, pr->xfer.easy);
    curl_slist_free_all(pr->resolve);
    buf_free(&pr->body);
    free(pr);
}

static void done_cb(struct http_xfer *x, CURLcode rc)
{
    struct probe *pr = (struct probe *)x;
    struct probe_result r;

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
    if (pr->spec->https) {
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
    if (t->proxy)
        curl_easy_setopt(e, CURLOPT_NOPROXY, "");
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
    if (pr->spec->want_cert) {
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
        curl_easy_setopt(e, CURLOPT_HEADERDATA, pr);
    }
    if (t->follow_redirects) {
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
        curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    }
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
    struct probe *pr = xcalloc(1, sizeof(*pr));
    const struct target_conf *t = spec->t;

    pr->p = p;
    pr->spec = spec;
    pr->cb = cb;
    pr->arg = arg;
    pr->begun = pr->looked_up = now;
    pr->xfer.done = done_cb;
    pr->started_wall_ms = clock_wall_ms();
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
