/* upmonctl's parts (upmonctl.c, upmonctl_silence.c): the client of
 * upmond's HTTP server, and how it prints. */
#ifndef UPMON_UPMONCTL_H
#define UPMON_UPMONCTL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "util.h"

#define EXIT_FAIL  1 /* upmond could not be asked, or said no */
#define EXIT_USAGE 2

struct client {
    const char *socket, *url;
    char *token;
    bool json, color;
};

/* Asks upmond for path (GET; or method, with the JSON send): its JSON
 * when it answered 2xx (and *raw the body, for --json), or NULL having
 * said why on standard error, unless it answered quiet. *status is what
 * it answered (0: no answer). */
json_t *ask_with(const struct client *c, const char *method, const char *send, const char *path,
                 long quiet, long *status, struct buf *raw);
json_t *ask(const struct client *c, const char *path, long quiet, long *status, struct buf *raw);
/* Prints raw as it came, and frees it. */
void print_raw(struct buf *raw);
/* "2024-03-10 12:00:00" of the API's time t, or "-". */
const char *shown_time(const json_t *t, char *out, size_t len);

/* The silence commands. */
int cmd_silence_add(const struct client *c, const char *target, char **labels, size_t nlabels,
                    const char *duration, const char *comment);
int cmd_silence_list(const struct client *c);
int cmd_silence_expire(const struct client *c, const char *id);

#endif
