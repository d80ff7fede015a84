/* Silences: holds on alerts made by hand, while the daemon runs, for one
 * target by name or for every target whose labels match, for a while
 * (`upmonctl silence add`). A silence holds a target's alerts exactly as
 * a maintenance window does (hold.h); it ends at its time, or earlier
 * when expired by hand, and an ended one is still listed for a day.
 *
 * Pure: the request's JSON read and checked, the matching, the JSON the
 * API shows, and the API's handlers, which reach the daemon's list
 * through the view (view.h). Adding and expiring are only answered on the
 * daemon's unix socket: whoever may open it may change what pages people
 * (httpd.c refuses them over TCP, whatever the token).
 *
 * A silence must hold something when it is made: a target that is not
 * configured, or labels no target has, are refused (a typo would
 * otherwise silence nothing, unseen). One whose targets go away later
 * simply matches nothing. */
#ifndef UPMON_SILENCE_H
#define UPMON_SILENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "view.h"

#define SILENCE_MIN_MS      ((int64_t)60 * 1000)             /* shortest: a minute */
#define SILENCE_MAX_MS      ((int64_t)30 * 24 * 3600 * 1000) /* longest: 30 days */
#define SILENCE_KEEP_MS     ((int64_t)24 * 3600 * 1000)      /* listed this long after it ends */
#define SILENCE_COMMENT_MAX 200                              /* bytes */
#define SILENCE_LABELS_MAX  8                                /* label matchers */
#define SILENCE_VALUE_MAX   256  /* bytes of a target's name or a label's value */
#define SILENCE_COUNT_MAX   1000 /* silences kept at once, ended ones too */
#define SILENCE_BODY_MAX    4096 /* bytes of a request that adds one */

struct silence_label {
    char *key, *value;
};

struct silence {
    uint64_t id;
    char *target; /* by name; NULL: by labels */
    struct silence_label *labels;
    size_t nlabels; /* every one must match */
    char *comment;
    int64_t start_ms, end_ms; /* wall clock */
    bool expired;             /* ended by hand, at end_ms */
};

void silence_free(struct silence *s);
/* A copy of s whose strings are its own. */
void silence_copy(struct silence *dst, const struct silence *s);

/* Whether it holds alerts at now_ms. */
bool silence_active(const struct silence *s, int64_t now_ms);

/* Whether it is for target t (in force or not). */
bool silence_matches(const struct silence *s, const struct target_conf *t);

/* Of the silences in force at now_ms that are for t, the one that ends
 * last (what holds t longest), or NULL. */
const struct silence *silence_holding(const struct silence *ss, size_t n,
                                      const struct target_conf *t, int64_t now_ms);

/* Reads a request to add a silence, the body of POST /api/v1/silences:
 * {"target": NAME} or {"labels": {"KEY": "VALUE", ...}}, with
 * "duration": "2h" (a duration as in configuration, from a minute to 30
 * days) and "comment": "..." (1 to SILENCE_COMMENT_MAX bytes of UTF-8
 * without control characters). Unknown keys are refused. Returns 0 with
 * s filled (its id 0, from now_ms on), or -1 with why in err. */
int silence_parse(const char *body, size_t len, int64_t now_ms, struct silence *s, char *err,
                  size_t errlen);

/* The labels as the store keeps them (a JSON object), and back: -1 when
 * text is not such an object. */
char *silence_labels_text(const struct silence *s);
int silence_labels_parse(const char *text, struct silence *s);

/* A silence as the API shows it. */
json_t *silence_json(const struct silence *s, int64_t now_ms);

/* The ids of the silences holding t's alerts now, for /api/v1/targets/NAME. */
json_t *silence_ids_json(const struct silence *ss, size_t n, const struct target_conf *t,
                         int64_t now_ms);

/* The API (see api.h):
 *   GET    /api/v1/silences           those in force and those ended lately
 *   POST   /api/v1/silences           adds one (silence_parse): 201
 *   GET    /api/v1/silences/ID        one
 *   DELETE /api/v1/silences/ID        expires it now
 *   POST   /api/v1/silences/ID/expire the same, for clients without DELETE */
void api_silences_handler(const struct view *v, const struct hrequest *rq, struct hreply *rp);
void api_silence_handler(const struct view *v, const struct hrequest *rq, struct hreply *rp);
void api_silence_expire_handler(const struct view *v, const struct hrequest *rq, struct hreply *rp);

#endif
