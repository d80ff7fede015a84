/* A site for the benchmark that answers every request "200 OK" after a
 * fixed delay, as a distant server would, without a thread per request:
 * one libevent loop, one timer per waiting request. Listens on 127.0.0.1
 * with a kernel-chosen port, printed on stdout.
 *
 *   slowsite DELAY_MS */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

struct pending {
    struct evhttp_request *req;
    struct event *timer;
};

static void reply_cb(evutil_socket_t fd, short what, void *arg)
{
    struct pending *p = arg;
    struct evbuffer *body = evbuffer_new();
    (void)fd;
    (void)what;

    evbuffer_add(body, "ok\n", 3);
    evhttp_send_reply(p->req, 200, "OK", body);
    evbuffer_free(body);
    event_free(p->timer);
    free(p);
}

static void request_cb(struct evhttp_request *req, void *arg)
{
    const struct timeval *delay = arg;
    struct pending *p = malloc(sizeof(*p));

    if (p == NULL) {
        evhttp_send_error(req, 503, NULL);
        return;
    }
    p->req = req;
    p->timer = evtimer_new(evhttp_request_get_connection(req)
                               ? evhttp_connection_get_base(evhttp_request_get_connection(req))
                               : NULL,
                           reply_cb, p);
    evtimer_add(p->timer, delay);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: slowsite DELAY_MS\n");
        return 2;
    }
    long ms = strtol(argv[1], NULL, 10);
    struct timeval delay = {ms / 1000, (ms % 1000) * 1000};
    struct event_base *base = event_base_new();
    struct evhttp *http = evhttp_new(base);
    struct evhttp_bound_socket *sock = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);

    if (sock == NULL) {
        fprintf(stderr, "slowsite: cannot listen\n");
        return 1;
    }
    evhttp_set_gencb(http, request_cb, &delay);
    struct sockaddr_storage ss;
    ev_socklen_t len = sizeof(ss);
    getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &len);
    printf("%d\n", ntohs(((struct sockaddr_in *)&ss)->sin_port));
    fflush(stdout);
    event_base_dispatch(base);
    return 0;
}
