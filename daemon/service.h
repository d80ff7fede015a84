/* The long-running daemon: the loop, the monitor, signals, and everything
 * that happens to results. */
#ifndef UPMON_SERVICE_H
#define UPMON_SERVICE_H

#include <stdbool.h>

#include "config.h"

struct service_opts {
    const char *config_path;
    const char *state_dir;
    struct config_env env;
    bool stats; /* print the statistics as JSON on stdout at exit */
};

/* Holds back (or lets through) the signals the daemon handles, so that
 * one arriving while it starts waits for the loop instead of taking its
 * default action (SIGHUP and SIGUSR1 would end the process). Called with
 * true first thing; service_run lets them through once it handles them. */
void service_hold_signals(bool hold);

/* Runs until SIGTERM or SIGINT. Takes ownership of cfg. Returns an exit
 * status. */
int service_run(struct config *cfg, const struct service_opts *opts);

#endif
