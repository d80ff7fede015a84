/* curl's result codes as probe error categories. */
#include "outcome.h"

/* CURLE_TOO_LARGE, from curl 8.6 on: a header line or block over curl's
 * limits. By number, as older headers do not name it. */
#define OUTCOME_CURLE_TOO_LARGE 100

/* A site's headers that curl would not take. */
static bool headers_refused(CURLcode rc, const struct outcome_seen *s)
{
    if (s->code == 0 || s->headers_done)
        return false; /* not in an answer's header block */
    if (rc == CURLE_OUT_OF_MEMORY || (int)rc == OUTCOME_CURLE_TOO_LARGE)
        return true; /* curl's buffer for a line will not grow (7.88), or says so (8.6) */
    return rc == CURLE_RECV_ERROR && s->header_bytes >= OUTCOME_HEADER_SEEN_MIN;
}

enum probe_error outcome_classify(CURLcode rc, const struct outcome_seen *seen, const char **why)
{
    *why = NULL;
    if (headers_refused(rc, seen)) {
        if (rc == CURLE_OUT_OF_MEMORY)
            *why = "a response header line is longer than curl takes (100 KiB)";
        else if ((int)rc == OUTCOME_CURLE_TOO_LARGE)
            *why = "a response header line or the header block is larger than curl takes "
                   "(100 KiB a line, 300 KiB in all)";
        return PERR_PROTOCOL;
    }
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
        /* weird reply, HTTP/0.9, too many redirects, HTTP/2 errors, and
         * from curl 8.6 on CURLE_TOO_LARGE for headers over its limits */
        return PERR_PROTOCOL;
    }
}
