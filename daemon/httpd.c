/* The HTTP server on libevent's evhttp (httpd.h).
 *
 * libevent 2.1 (Debian 12's) has no cap on connections and no hook when
 * one opens or closes, so the server keeps its own account: evhttp asks
 * it for each new connection's bufferevent (evhttp_set_bevcb); once the
 * accept callback has returned, on the same turn of the loop, the
 * bufferevent's callback argument is evhttp's connection, which gets a
 * close callback and a deadline, or is answered 503 and closed when the
 * cap is reached. evhttp's own timeouts only bound the idle time, so
 * the deadline bounds the whole: the request must arrive within
 * http.timeout, and the answer be read within http.timeout more.
 *
 * A long answer (hreply.more) goes out in HTTP/1.1 chunks, one step of
 * the handler each: the next step is made once the part before has been
 * written to the socket, on a later turn of the loop, so probes start in
 * between and only one part is held at a time. A step made after the
 * configuration was swapped would walk other targets: the connection is
 * closed without the last chunk instead, so the client sees the answer
 * broken (a scrape failed), never a short one that reads as whole. */
#include "httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event_struct.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "codes.h"
#include "log.h"
#include "route.h"
#include "text.h"

#define MAX_HEADERS_SIZE 8192 /* the request line and headers, bytes */
#define MAX_BODY_SIZE    4096 /* a request's body (adding a silence); longer: 413 */
#define LISTEN_BACKLOG   128

static const char too_many[] = "HTTP/1.1 503 Service Unavailable\r\n"
                               "Content-Type: text/plain; charset=utf-8\r\n"
                               "Content-Length: 21\r\n"
                               "Retry-After: 1\r\n"
                               "Connection: close\r\n\r\n"
                               "too many connections\n";

/* One address listened on. */
struct listener {
    char *addr; /* as configured */
    struct evhttp_bound_socket *bound;
    char *path; /* unix: the socket file made, removed when closed */
    dev_t dev;
    ino_t ino;
};

struct stream;

/* One connection accepted. */
struct conn {
    struct httpd *h;
    struct evhttp_connection *evcon;
    evutil_socket_t fd;
    struct event deadline;
    struct stream *stream; /* the answer it is sent in steps, if so */
};

/* An answer sent in steps. */
struct stream {
    struct conn *c;
    struct evhttp_request *req;
    struct hreply rp;    /* the steps (more, state) and the part being made */
    uint64_t generation; /* of the view the first part was made from */
    struct evbuffer *out;
    struct event next; /* the next step, on a later turn of the loop */
    bool failed;       /* a part could not be handed over: close unfinished */
};

struct httpd {
    struct event_base *base;
    struct evhttp *http;
    httpd_view_fn view;
    void *arg;
    struct listener *ls;
    size_t nls;
    unsigned max_conns;
    struct timeval timeout;

    struct conn **by_fd; /* open connections, by descriptor */
    size_t fd_cap;
    unsigned nconns;
    /* Bufferevents handed to evhttp for connections not yet adopted, each
     * with a reference of ours so it stays readable until then. */
    struct bufferevent **fresh;
    size_t nfresh, fresh_cap;
    struct event *adopt;

    struct route_match match; /* of the request being answered */
};

static void stream_free(struct stream *s)
{
    event_del(&s->next);
    s->c->stream = NULL;
    hreply_stop(&s->rp);
    buf_free(&s->rp.body);
    evbuffer_free(s->out);
    free(s);
}

static void closed_cb(struct evhttp_connection *evcon, void *arg)
{
    struct conn *c = arg;
    struct httpd *h = c->h;

    evhttp_connection_set_closecb(evcon, NULL, NULL);
    if (c->stream) {
        struct evhttp_request *req = c->stream->req;
        log_debug("http: a connection closed before its answer was all sent");
        stream_free(c->stream);
        /* A client gone (end of file, error, evhttp's timeout) leaves the
         * unfinished request to its handler, detached from the
         * connection; one closed by this server (the deadline, a reload,
         * the shutdown) is still attached, and goes with it. */
        if (evhttp_request_get_connection(req) == NULL)
            evhttp_request_free(req);
    }
    event_del(&c->deadline);
    if ((size_t)c->fd < h->fd_cap && h->by_fd[c->fd] == c)
        h->by_fd[c->fd] = NULL;
    h->nconns--;
    free(c);
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    (void)fd;
    (void)what;

    log_debug("http: a client took longer than http.timeout; closing its connection");
    evhttp_connection_free(c->evcon); /* runs closed_cb */
}

static void track(struct httpd *h, struct evhttp_connection *evcon, evutil_socket_t fd)
{
    struct conn *c = xcalloc(1, sizeof(*c));

    c->h = h;
    c->evcon = evcon;
    c->fd = fd;
    evtimer_assign(&c->deadline, h->base, deadline_cb, c);
    evtimer_add(&c->deadline, &h->timeout);
    evhttp_connection_set_closecb(evcon, closed_cb, c);
    if ((size_t)fd >= h->fd_cap) {
        size_t old = h->fd_cap;
        xgrow((void **)&h->by_fd, &h->fd_cap, (size_t)fd, sizeof(*h->by_fd));
        memset(h->by_fd + old, 0, (h->fd_cap - old) * sizeof(*h->by_fd));
    }
    h->by_fd[fd] = c;
    h->nconns++;
}

/* The connections accepted on this turn of the loop: counted, or refused. */
static void adopt_cb(evutil_socket_t unused, short what, void *arg)
{
    struct httpd *h = arg;
    (void)unused;
    (void)what;

    for (size_t i = 0; i < h->nfresh; i++) {
        struct bufferevent *bev = h->fresh[i];
        bufferevent_event_cb eventcb;
        void *cbarg;
        bufferevent_getcb(bev, NULL, NULL, &eventcb, &cbarg);
        evutil_socket_t fd = bufferevent_getfd(bev);
        /* evhttp clears the callbacks when it lets a connection go. */
        bool alive = eventcb != NULL && fd >= 0;
        bufferevent_decref(bev);
        if (!alive)
            continue;
        struct evhttp_connection *evcon = cbarg;
        if (evhttp_connection_get_bufferevent(evcon) != bev)
            continue;
        if (h->nconns >= h->max_conns) {
            /* Best effort: a client that has not read it sees the close. */
            (void)!send(fd, too_many, sizeof(too_many) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
            evhttp_connection_free(evcon);
            continue;
        }
        track(h, evcon, fd);
    }
    h->nfresh = 0;
}

static struct bufferevent *bev_cb(struct event_base *base, void *arg)
{
    struct httpd *h = arg;
    /* What evhttp makes when asked for nothing (no BEV_OPT_CLOSE_ON_FREE:
     * evhttp closes the socket itself). */
    struct bufferevent *bev = bufferevent_socket_new(base, -1, 0);

    if (bev == NULL)
        return NULL;
    bufferevent_incref(bev);
    xgrow((void **)&h->fresh, &h->fresh_cap, h->nfresh, sizeof(*h->fresh));
    h->fresh[h->nfresh++] = bev;
    event_active(h->adopt, EV_TIMEOUT, 1);
    return bev;
}

static void add_header(struct evkeyvalq *hd, const char *name, const char *value)
{
    evhttp_add_header(hd, name, value);
}

static void free_body(const void *data, size_t len, void *arg)
{
    (void)data;
    (void)len;
    free(arg);
}

static const char *phrase_of(int status)
{
    const char *phrase = codes_phrase(status);

    return phrase ? phrase : "Unknown";
}

static void add_headers(struct evhttp_request *req, const struct hreply *rp)
{
    struct evkeyvalq *hd = evhttp_request_get_output_headers(req);

    add_header(hd, "Content-Type",
               rp->content_type ? rp->content_type : "text/plain; charset=utf-8");
    add_header(hd, "Cache-Control", rp->cache ? rp->cache : "no-store");
    add_header(hd, "Content-Security-Policy",
               "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; "
               "form-action 'none'; frame-ancestors 'none'");
    add_header(hd, "X-Content-Type-Options", "nosniff");
    add_header(hd, "Referrer-Policy", "no-referrer");
    add_header(hd, "Connection", "close");
    if (rp->status == 405)
        add_header(hd, "Allow", rp->allow ? rp->allow : "GET, HEAD");
    if (rp->status == 401)
        add_header(hd, "WWW-Authenticate", "Bearer realm=\"upmon\"");
}

static void send_reply(struct evhttp_request *req, struct hreply *rp, bool head)
{
    struct evkeyvalq *hd = evhttp_request_get_output_headers(req);

    add_headers(req, rp);
    struct evbuffer *body = evbuffer_new();
    if (head && rp->more) {
        /* Its length is known only once it is all made: none is said. */
        hreply_stop(rp);
    } else if (head) {
        char len[32];
        snprintf(len, sizeof(len), "%zu", rp->body.len);
        add_header(hd, "Content-Length", len);
        buf_free(&rp->body);
    } else if (body && rp->body.len) {
        /* The buffer goes to libevent as it is, freed once written. */
        if (evbuffer_add_reference(body, rp->body.data, rp->body.len, free_body, rp->body.data) ==
            0)
            rp->body = (struct buf){0};
    }
    evhttp_send_reply(req, rp->status, phrase_of(rp->status), body);
    if (body)
        evbuffer_free(body);
    buf_free(&rp->body);
}

static void step_cb(evutil_socket_t fd, short what, void *arg);

static const struct timeval no_wait = {0, 0};

/* The part made is written to the socket. This runs in libevent's write
 * path: the next step waits for the next turn of the loop, behind the
 * timers due by then (the probes'). */
static void written_cb(struct evhttp_connection *evcon, void *arg)
{
    struct stream *s = arg;
    (void)evcon;

    evtimer_add(&s->next, &no_wait);
}

/* Sends the part made as a chunk; libevent frees it once written. */
static void send_part(struct stream *s, bool more)
{
    struct buf *b = &s->rp.body;

    if (b->len == 0) { /* no chunk (an empty one would end the answer) */
        if (more)
            evtimer_add(&s->next, &no_wait);
        return;
    }
    if (evbuffer_add_reference(s->out, b->data, b->len, free_body, b->data) < 0) {
        buf_free(b);
        s->failed = true;
        evtimer_add(&s->next, &no_wait);
        return;
    }
    *b = (struct buf){0};
    evhttp_send_reply_chunk_with_cb(s->req, s->out, more ? written_cb : NULL, s);
}

static void step_cb(evutil_socket_t fd, short what, void *arg)
{
    struct stream *s = arg;
    struct httpd *h = s->c->h;
    struct view v;
    (void)fd;
    (void)what;

    h->view(&v, h->arg);
    if (s->failed || v.generation != s->generation) {
        if (!s->failed)
            log_debug("http: the configuration changed while an answer was being sent; "
                      "closing it unfinished");
        evhttp_connection_free(s->c->evcon); /* runs closed_cb, which frees s */
        return;
    }
    bool more = s->rp.more(&v, &s->rp, s->rp.state);
    send_part(s, more);
    if (!more && !s->failed) {
        struct evhttp_request *req = s->req;
        stream_free(s);
        evhttp_send_reply_end(req);
    }
}

/* Sends the headers and the first part of an answer left in steps. */
static void stream_start(struct conn *c, struct evhttp_request *req, struct hreply *rp,
                         uint64_t generation)
{
    struct stream *s = xcalloc(1, sizeof(*s));

    s->c = c;
    s->req = req;
    s->rp = *rp;
    s->generation = generation;
    s->out = evbuffer_new();
    evtimer_assign(&s->next, c->h->base, step_cb, s);
    c->stream = s;
    add_headers(req, rp);
    evhttp_send_reply_start(req, rp->status, phrase_of(rp->status));
    if (s->out == NULL) {
        buf_free(&s->rp.body);
        s->failed = true;
        written_cb(NULL, s);
        return;
    }
    send_part(s, true);
}

/* Whether the connection came through a unix socket. */
static bool over_unix(evutil_socket_t fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    return fd >= 0 && getsockname(fd, (struct sockaddr *)&ss, &len) == 0 && ss.ss_family == AF_UNIX;
}

static void request_cb(struct evhttp_request *req, void *arg)
{
    struct httpd *h = arg;
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    evutil_socket_t fd = bufferevent_getfd(evhttp_connection_get_bufferevent(evcon));
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    const char *target = evhttp_request_get_uri(req);
    struct conn *c = fd >= 0 && (size_t)fd < h->fd_cap ? h->by_fd[fd] : NULL;
    struct hreply rp = {.status = 200};
    struct view v;
    char err[160];

    /* From now on the deadline is for the answer to be read. */
    if (c)
        evtimer_add(&c->deadline, &h->timeout);

    bool write = cmd == EVHTTP_REQ_POST || cmd == EVHTTP_REQ_DELETE;
    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD && !write) {
        route_error(target, 405, "only GET and HEAD", &rp);
        send_reply(req, &rp, false);
        return;
    }
    bool head = cmd == EVHTTP_REQ_HEAD;
    struct evbuffer *body = evhttp_request_get_input_buffer(req);
    if (!write && body && evbuffer_get_length(body)) {
        route_error(target, 400, "a GET or HEAD request has no body", &rp);
        send_reply(req, &rp, head);
        return;
    }
    int status = route_find(target ? target : "", &h->match, err, sizeof(err));
    if (status) {
        route_error(target, status, err, &rp);
        send_reply(req, &rp, head);
        return;
    }
    h->view(&v, h->arg);
    const struct route *r = h->match.route;
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    bool local = over_unix(fd);
    /* Changes (silences) are made through the unix socket only: its
     * permissions say who may, and a token that reads pages is not one
     * that should stop them. */
    if (write && (!route_writes(r) || !local)) {
        if (!route_writes(r))
            route_error(h->match.path, 405, "only GET and HEAD", &rp);
        else
            route_error(h->match.path, 403, "changes are made through upmond's unix socket only",
                        &rp);
        send_reply(req, &rp, false);
        return;
    }
    bool token_ok = route_token_ok(evhttp_find_header(in, "Authorization"), v.cfg->http_token);
    if (r->token && v.cfg->http_token && !local && !token_ok) {
        route_error(h->match.path, 401, "this needs the bearer token (http.token_file)", &rp);
        send_reply(req, &rp, head);
        return;
    }
    const char *accept = evhttp_find_header(in, "Accept");
    struct hrequest rq = {
        .path = h->match.path,
        .tail = h->match.tail,
        .query = &h->match.query,
        .accept = accept ? accept : "",
        .head = head,
        .trusted = local || token_ok,
        .method = cmd == EVHTTP_REQ_POST     ? HM_POST
                  : cmd == EVHTTP_REQ_DELETE ? HM_DELETE
                                             : HM_GET,
    };
    if (write && body && evbuffer_get_length(body)) {
        rq.body_len = evbuffer_get_length(body);
        rq.body = (const char *)evbuffer_pullup(body, -1);
    }
    r->handler(&v, &rq, &rp);
    if (LOG_DEBUG <= log_max_level) {
        char shown[256]; /* a path may hold any byte but controls: made text */
        text_sanitize(shown, sizeof(shown), h->match.path, strlen(h->match.path),
                      TEXT_ESCAPE | TEXT_ELLIPSIS);
        log_debug("http: %s %s: %d%s",
                  head                     ? "HEAD"
                  : rq.method == HM_POST   ? "POST"
                  : rq.method == HM_DELETE ? "DELETE"
                                           : "GET",
                  shown, rp.status, rp.more && !head ? ", in parts" : "");
    }
    if (rp.more && !head && c) {
        stream_start(c, req, &rp, v.generation);
        return;
    }
    if (!head)
        hreply_finish(&v, &rp); /* a connection not tracked is not streamed: all at once */
    send_reply(req, &rp, head);
}

static void close_listener(struct httpd *h, struct listener *l)
{
    struct stat st;

    evhttp_del_accept_socket(h->http, l->bound);
    /* Only the file this server made: another may have taken its place. */
    if (l->path && stat(l->path, &st) == 0 && st.st_dev == l->dev && st.st_ino == l->ino)
        unlink(l->path);
    log_info("http: stopped listening on %s", l->addr);
    free(l->addr);
    free(l->path);
}

/* A unix socket at path, its directory made if missing; a socket file
 * left by a process that is gone is replaced, one that answers is not. */
static int unix_socket(const char *path, struct listener *l, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    int fd = -1;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        errbuf_set(err, errlen, "the path is too long");
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    char *dir = xstrdup(path), *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
            errbuf_set(err, errlen, "cannot make %s: %s", dir, strerror(errno));
            free(dir);
            return -1;
        }
    }
    free(dir);
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            errbuf_set(err, errlen, "%s exists and is not a socket", path);
            return -1;
        }
        /* Without blocking: a full backlog (EAGAIN) is someone there too. */
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        bool answers = probe >= 0 && (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0 ||
                                      errno == EAGAIN || errno == EINPROGRESS);
        if (probe >= 0)
            close(probe);
        if (answers) {
            errbuf_set(err, errlen, "another process listens on %s", path);
            return -1;
        }
        unlink(path);
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        errbuf_set(err, errlen, "%s", strerror(errno));
        goto fail;
    }
    /* Who may open the socket may read everything: the owner and the
     * group, as the unit's RuntimeDirectory= and SupplementaryGroups= say. */
    if (chmod(path, 0660) < 0 || listen(fd, LISTEN_BACKLOG) < 0 || stat(path, &st) < 0) {
        errbuf_set(err, errlen, "%s", strerror(errno));
        unlink(path);
        goto fail;
    }
    l->path = xstrdup(path);
    l->dev = st.st_dev;
    l->ino = st.st_ino;
    return fd;
fail:
    if (fd >= 0)
        close(fd);
    return -1;
}

/* HOST:PORT with an IP address, [v6] or localhost (127.0.0.1). */
static int tcp_socket(const char *addr, char *err, size_t errlen)
{
    char host[256];
    unsigned port;
    struct sockaddr_storage ss = {0};
    socklen_t len;
    int one = 1;

    if (host_port_split(addr, host, sizeof(host), &port) < 0 || port == 0) {
        errbuf_set(err, errlen, "not HOST:PORT");
        return -1;
    }
    size_t hl = strlen(host);
    if (host[0] == '[') {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        host[hl - 1] = '\0';
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
            goto bad;
        len = sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, strcmp(host, "localhost") == 0 ? "127.0.0.1" : host,
                      &s4->sin_addr) != 1)
            goto bad;
        len = sizeof(*s4);
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        (ss.ss_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
        bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
        errbuf_set(err, errlen, "%s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
bad:
    errbuf_set(err, errlen, "the host is not an IP address");
    return -1;
}

static int open_listener(struct httpd *h, const char *addr, struct listener *l)
{
    char err[256];
    int fd;

    memset(l, 0, sizeof(*l));
    if (strncmp(addr, "unix:", 5) == 0)
        fd = unix_socket(addr + 5, l, err, sizeof(err));
    else
        fd = tcp_socket(addr, err, sizeof(err));
    if (fd >= 0 && (l->bound = evhttp_accept_socket_with_handle(h->http, fd)) == NULL) {
        errbuf_set(err, sizeof(err), "cannot watch the socket");
        close(fd);
        if (l->path)
            unlink(l->path);
        fd = -1;
    }
    if (fd < 0) {
        log_err("http: cannot listen on %s: %s", addr, err);
        free(l->path);
        return -1;
    }
    l->addr = xstrdup(addr);
    log_info("http: listening on %s", addr);
    return 0;
}

struct httpd *httpd_new(struct event_base *base, httpd_view_fn view, void *arg)
{
    struct httpd *h = xcalloc(1, sizeof(*h));

    h->base = base;
    h->view = view;
    h->arg = arg;
    h->http = evhttp_new(base);
    h->adopt = event_new(base, -1, 0, adopt_cb, h);
    if (h->http == NULL || h->adopt == NULL) {
        httpd_free(h);
        return NULL;
    }
    evhttp_set_gencb(h->http, request_cb, h);
    evhttp_set_bevcb(h->http, bev_cb, h);
    /* Every method evhttp knows reaches request_cb, which answers 405 to
     * all but GET and HEAD, and POST and DELETE on the routes that take
     * them (evhttp's own refusal would be 501). */
    evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
                                            EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    evhttp_set_max_headers_size(h->http, MAX_HEADERS_SIZE);
    evhttp_set_max_body_size(h->http, MAX_BODY_SIZE);
    return h;
}

unsigned httpd_configure(struct httpd *h, const struct config *cfg)
{
    unsigned failed = 0;
    size_t kept = 0;

    h->max_conns = cfg->http_max_connections;
    h->timeout.tv_sec = (time_t)(cfg->http_timeout_ms / 1000);
    h->timeout.tv_usec = (suseconds_t)(cfg->http_timeout_ms % 1000 * 1000);
    evhttp_set_timeout_tv(h->http, &h->timeout);

    /* Addresses no longer listed go first, so that one written another
     * way ("localhost:8080" for "127.0.0.1:8080") can be taken again. */
    for (size_t i = 0; i < h->nls; i++) {
        bool listed = false;
        for (size_t j = 0; j < cfg->nhttp_listen && !listed; j++)
            listed = strcmp(h->ls[i].addr, cfg->http_listen[j]) == 0;
        if (listed)
            h->ls[kept++] = h->ls[i];
        else
            close_listener(h, &h->ls[i]);
    }
    h->nls = kept;
    for (size_t j = 0; j < cfg->nhttp_listen; j++) {
        bool open = false;
        for (size_t i = 0; i < h->nls && !open; i++)
            open = strcmp(h->ls[i].addr, cfg->http_listen[j]) == 0;
        if (open)
            continue;
        struct listener l;
        if (open_listener(h, cfg->http_listen[j], &l) < 0) {
            failed++;
            continue;
        }
        h->ls = xreallocarray(h->ls, h->nls + 1, sizeof(*h->ls));
        h->ls[h->nls++] = l;
    }
    return failed;
}

void httpd_free(struct httpd *h)
{
    if (h == NULL)
        return;
    for (size_t i = 0; i < h->nls; i++)
        close_listener(h, &h->ls[i]);
    free(h->ls);
    for (size_t i = 0; i < h->nfresh; i++)
        bufferevent_decref(h->fresh[i]);
    h->nfresh = 0;
    if (h->http)
        evhttp_free(h->http); /* closes every connection: closed_cb for each */
    if (h->adopt)
        event_free(h->adopt);
    free(h->fresh);
    free(h->by_fd);
    free(h);
}
