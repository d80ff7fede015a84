/* What one probe observed, as plain data: the shell fills it in from curl,
 * the pure core judges it. */
#ifndef UPMON_RESULT_H
#define UPMON_RESULT_H

#include <stddef.h>
#include <stdint.h>

/* Why a probe got no usable answer. One enum, one string table (relayd). */
enum probe_error {
    PERR_NONE,
    PERR_DNS,       /* the name did not resolve */
    PERR_CONNECT,   /* refused or unreachable */
    PERR_TIMEOUT,   /* no complete answer within the timeout */
    PERR_TLS,       /* handshake or certificate failure */
    PERR_RESET,     /* the connection was closed or reset before an answer */
    PERR_PROTOCOL,  /* the answer was not valid HTTP */
    PERR_BODY,      /* a content check failed, or the body could not be read */
    PERR_TOO_SLOW,  /* answered, but slower than max_latency */
    PERR_INTERNAL,  /* a local failure (out of memory, too many open files) */
    PERR_TRUNCATED, /* the body ended before the answer said it would */
};
#define PERR_COUNT 11

#define RESULT_MESSAGE_MAX   256
#define RESULT_LOCATION_MAX  512
#define RESULT_CERT_NAME_MAX 256

struct probe_result {
    int code;               /* HTTP status; 0 when no answer was read */
    enum probe_error error; /* PERR_NONE when an answer was read in full */
    /* What the site sent, made fit for every sink (text.h): */
    char message[RESULT_MESSAGE_MAX];   /* curl's message, or the failed content check's:
                                           valid UTF-8, controls escaped */
    char location[RESULT_LOCATION_MAX]; /* Location of a redirect, or "": valid UTF-8,
                                           cut between characters */
    /* The content checks (body, headers, JSON; assertion.h): -1 not
     * checked, 0 one failed, 1 all held. */
    int body_match;
    /* Timings in microseconds from the start of the probe, as curl counts
     * them: each includes the ones before it. -1 when not reached. After
     * followed redirects, those of the last request, counted from the
     * start of the first. */
    int64_t dns_us, connect_us, tls_us, ttfb_us, total_us;
    /* The certificate that ends first in the chain the server sent (its
     * own or an intermediate's): its end (Unix time, 0: unknown), and its
     * subject and issuer in RFC 2253 form ("" when unknown). */
    int64_t cert_not_after;
    char cert_subject[RESULT_CERT_NAME_MAX];
    char cert_issuer[RESULT_CERT_NAME_MAX];
    int64_t started_wall_ms; /* wall-clock start, for people */
};

const char *probe_error_name(enum probe_error e);

/* Copies n bytes of a certificate name, as OpenSSL prints it, into dst of
 * size bytes, safe to show anywhere: a byte that is not printable ASCII
 * (OpenSSL's RFC 2253 form escapes the others, so it is a stray control
 * character) becomes '?', and a name that does not fit ends in "...". */
void probe_result_name(char *dst, size_t size, const char *src, size_t n);

/* Sets r to "nothing observed yet". */
void probe_result_init(struct probe_result *r);

#endif
