/* Following redirects, as a browser does (the Fetch standard's "HTTP-
 * redirect fetch"): which answers are followed, with which method, and
 * which requests stay with the target's own origin. A probe follows
 * redirects itself, hop by hop, rather than leave it to libcurl: libcurl
 * (7.88) keeps only Authorization and Cookie from another host, and would
 * send any other header, an API key read from a credential say, wherever
 * a redirect points. Pure: the probe asks, these answer. */
#ifndef UPMON_FOLLOW_H
#define UPMON_FOLLOW_H

#include <stdbool.h>

/* The most redirects one probe follows; one more is an error. */
#define FOLLOW_MAX 10

/* Whether an answer with this status and a Location is followed: 301,
 * 302, 303, 307 and 308. Any other (300, 304, ...) is the final answer. */
bool follow_status(int code);

/* Whether the request that follows turns into a GET without a body: after
 * a 303, unless it was a GET or a HEAD, and after a 301 or 302 to a POST.
 * A 307 or a 308 repeats the request as it was. */
bool follow_as_get(int code, const char *method);

/* Whether two absolute URLs have one origin: the same scheme, host
 * (without regard to case) and port (the scheme's own when none is
 * given). False when either is not a URL. */
bool follow_same_origin(const char *a, const char *b);
/* Whether two URLs name the same host, whatever their schemes and ports:
 * the same site, for what TLS trusts (http://site leads to https://site). */
bool follow_same_host(const char *a, const char *b);

/* Whether a URL is one a probe may be redirected to: http or https. */
bool follow_scheme_ok(const char *url);

#endif
