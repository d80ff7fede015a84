/* curl multi-socket glue. Rules kept here (STYLE.md):
 *   - the timer callback only (re)arms or deletes the one libevent timer, it
 *     never calls libcurl;
 *   - the socket callback only maps curl's wishes onto libevent events;
 *   - finished transfers are drained with curl_multi_info_read after every
 *     curl_multi_socket_action, and each CURLMsg is read before its handle
 *     is removed; owners' callbacks run only then, outside any curl callback,
 *     so they may start new transfers. */
#include "http.h"

#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "log.h"
#include "util.h"

struct http {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    bool open_socket; /* set CURLOPT_OPENSOCKETFUNCTION (open_socket) */
};

/* One per socket curl asks us to watch. */
struct sock {
    struct event *ev;
    struct http *h;
};

static void check_done(struct http *h)
{
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *easy = msg->easy_handle;
        CURLcode rc = msg->data.result; /* read before the handle is removed */
        struct http_xfer *x = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
        curl_multi_remove_handle(h->multi, easy);
        if (x == NULL)
            continue;
        x->active = 0;
        x->done(x, rc);
    }
}

static void socket_action(struct http *h, curl_socket_t fd, int what)
{
    int running;
    CURLMcode mc = curl_multi_socket_action(h->multi, fd, what, &running);

    if (mc != CURLM_OK)
        log_err("curl_multi_socket_action: %s", curl_multi_strerror(mc));
    check_done(h);
}

static void event_cb(evutil_socket_t fd, short kind, void *arg)
{
    struct sock *s = arg;
    int what =
        ((kind & EV_READ) ? CURL_CSELECT_IN : 0) | ((kind & EV_WRITE) ? CURL_CSELECT_OUT : 0);

    socket_action(s->h, fd, what);
}

static void timer_cb(evutil_socket_t fd, short kind, void *arg)
{
    (void)fd;
    (void)kind;
    socket_action(arg, CURL_SOCKET_TIMEOUT, 0);
}

/* CURLMOPT_TIMERFUNCTION: -1 deletes the timer, anything else re-arms
 * it. 0, which curl asks for whenever a transfer is added, makes the timer
 * active at once: it then runs in this pass of the loop, after the
 * callback under way, where a timer due now would only run after one more
 * epoll_wait, with a timeout of 0, for every batch of probes started. */
static int timer_func(CURLM *multi, long timeout_ms, void *arg)
{
    struct http *h = arg;
    (void)multi;

    if (timeout_ms < 0) {
        evtimer_del(h->timer);
    } else if (timeout_ms == 0) {
        evtimer_del(h->timer); /* no later run of the deadline it replaces */
        event_active(h->timer, EV_TIMEOUT, 0);
    } else {
        struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
        evtimer_add(h->timer, &tv);
    }
    return 0;
}

/* CURLMOPT_SOCKETFUNCTION. */
static int socket_func(CURL *easy, curl_socket_t fd, int what, void *arg, void *sockp)
{
    struct http *h = arg;
    struct sock *s = sockp;
    (void)easy;

    if (what == CURL_POLL_REMOVE) {
        if (s) {
            event_free(s->ev);
            free(s);
            curl_multi_assign(h->multi, fd, NULL);
        }
        return 0;
    }
    short kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
                 ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
    if (s == NULL) {
        s = xcalloc(1, sizeof(*s));
        s->h = h;
        s->ev = event_new(h->base, fd, kind, event_cb, s);
        if (s->ev == NULL) {
            free(s);
            return -1;
        }
        curl_multi_assign(h->multi, fd, s);
    } else {
        event_del(s->ev);
        event_assign(s->ev, h->base, fd, kind, event_cb, s);
    }
    if (event_add(s->ev, NULL) < 0)
        return -1;
    return 0;
}

struct event_base *http_loop_new(void)
{
    struct event_config *cfg = event_config_new();
    struct event_base *base;

    if (cfg == NULL)
        return NULL;
    /* One thread: no locks. Syscalls are most of what a probe costs, so:
     * the epoll changelist folds the interest changes curl asks for within
     * one pass into as few epoll_ctl calls as possible, and timers use
     * epoll_wait's millisecond timeout rather than a timerfd that would be
     * re-armed on nearly every pass (plans are kept to the millisecond,
     * well within what a monitor needs). */
    event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK | EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    return base;
}

struct http *http_new(struct event_base *base)
{
    struct http *h = xcalloc(1, sizeof(*h));

    h->base = base;
    h->multi = curl_multi_init();
    h->timer = evtimer_new(base, timer_cb, h);
    if (h->multi == NULL || h->timer == NULL) {
        if (h->multi)
            curl_multi_cleanup(h->multi);
        if (h->timer)
            event_free(h->timer);
        free(h);
        return NULL;
    }
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, socket_func);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_func);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    h->open_socket = curl_version_info(CURLVERSION_NOW)->version_num < 0x080900;
    return h;
}

void http_free(struct http *h)
{
    if (h == NULL)
        return;
    /* Handles are gone already (owners removed them); cleaning up the multi
     * handle closes what it cached, which may still call socket_func, so the
     * libevent objects go last. */
    curl_multi_cleanup(h->multi);
    event_free(h->timer);
    free(h);
}

/* CURLOPT_OPENSOCKETFUNCTION, for a libcurl that makes its sockets
 * without flags: made non-blocking and close-on-exec in the socket call
 * itself, so no descriptor of a transfer is ever open without
 * close-on-exec. (libcurl before 8.9 still sets O_NONBLOCK with its two
 * fcntl calls; newer ones pass SOCK_NONBLOCK themselves unless a callback
 * is set, and SOCK_CLOEXEC from 8.19 on, so they are left alone.) */
static curl_socket_t open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
    (void)arg;
    (void)purpose;
    return socket(a->family, a->socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->protocol);
}

int http_add(struct http *h, struct http_xfer *x)
{
    curl_easy_setopt(x->easy, CURLOPT_PRIVATE, (char *)x);
    if (h->open_socket)
        curl_easy_setopt(x->easy, CURLOPT_OPENSOCKETFUNCTION, open_socket);
#if CURL_AT_LEAST_VERSION(7, 87, 0)
    /* A transfer that ends (by its timeout, a reload or shutdown) while
     * its name is still being resolved must not make curl wait for the
     * resolver thread: that would stop the loop for as long as the DNS
     * server keeps silent. The thread is left to finish on its own. */
    curl_easy_setopt(x->easy, CURLOPT_QUICK_EXIT, 1L);
#endif
    CURLMcode mc = curl_multi_add_handle(h->multi, x->easy);
    if (mc != CURLM_OK) {
        log_err("curl_multi_add_handle: %s", curl_multi_strerror(mc));
        return -1;
    }
    x->active = 1;
    return 0;
}

void http_remove(struct http *h, struct http_xfer *x)
{
    if (!x->active)
        return;
    curl_multi_remove_handle(h->multi, x->easy);
    x->active = 0;
}
