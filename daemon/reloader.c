/* Loads a configuration on a worker thread; see reloader.h. */
#include "reloader.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

struct reloader {
    struct event_base *base;
    const char *path;
    const struct config_env *env;
    reload_done_cb cb;
    void *arg;

    int pipe[2];      /* the worker writes one byte when it is done */
    struct event *ev; /* on pipe[0] */
    pthread_t thread;
    bool running; /* a worker exists and has not been joined */
    bool pending; /* another request came while it ran */

    /* Written by the worker before its byte, read by the loop after. */
    struct config *cfg;
    struct diags diags;
};

static void *worker(void *arg)
{
    struct reloader *r = arg;
    char byte = 1;

    r->cfg = config_load(r->path, r->env, &r->diags);
    while (write(r->pipe[1], &byte, 1) < 0 && errno == EINTR)
        ;
    return NULL;
}

static bool start(struct reloader *r)
{
    int rc;

    memset(&r->diags, 0, sizeof(r->diags));
    r->cfg = NULL;
    rc = pthread_create(&r->thread, NULL, worker, r);
    if (rc != 0) {
        log_err("reload: cannot start a thread to load the configuration: %s", strerror(rc));
        return false;
    }
    r->running = true;
    return true;
}

/* Joins the worker; its result is in r. */
static void join(struct reloader *r)
{
    char buf[16];

    pthread_join(r->thread, NULL);
    r->running = false;
    while (read(r->pipe[0], buf, sizeof(buf)) > 0)
        ;
}

static void done_cb(evutil_socket_t fd, short what, void *arg)
{
    struct reloader *r = arg;
    struct config *cfg;
    struct diags diags;

    (void)fd;
    (void)what;
    if (!r->running)
        return;
    join(r);
    cfg = r->cfg;
    diags = r->diags;
    r->cfg = NULL;
    memset(&r->diags, 0, sizeof(r->diags));
    /* A request that came meanwhile may have seen files newer than this
     * load read: load again. This result is used all the same, so that
     * signals that never stop cannot keep every reload from taking
     * effect. */
    bool more = r->pending;
    r->pending = false;
    r->cb(cfg, &diags, !more, r->arg);
    diags_free(&diags);
    if (more && !start(r))
        r->cb(NULL, &(struct diags){0}, true, r->arg);
}

struct reloader *reloader_new(struct event_base *base, const char *path,
                              const struct config_env *env, reload_done_cb cb, void *arg)
{
    struct reloader *r = xcalloc(1, sizeof(*r));

    r->base = base;
    r->path = path;
    r->env = env;
    r->cb = cb;
    r->arg = arg;
    if (pipe2(r->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        free(r);
        return NULL;
    }
    r->ev = event_new(base, r->pipe[0], EV_READ | EV_PERSIST, done_cb, r);
    if (r->ev == NULL || event_add(r->ev, NULL) < 0) {
        reloader_free(r);
        return NULL;
    }
    return r;
}

bool reloader_request(struct reloader *r)
{
    if (r->running) {
        r->pending = true;
        return false;
    }
    return start(r);
}

bool reloader_busy(const struct reloader *r)
{
    return r->running;
}

void reloader_free(struct reloader *r)
{
    if (r == NULL)
        return;
    if (r->running) {
        join(r);
        config_free(r->cfg);
        diags_free(&r->diags);
    }
    if (r->ev)
        event_free(r->ev);
    close(r->pipe[0]);
    close(r->pipe[1]);
    free(r);
}
