/* How a finished curl transfer reads as a probe error. Pure: curl's code
 * and what the probe saw of the answer's headers go in. */
#ifndef UPMON_OUTCOME_H
#define UPMON_OUTCOME_H

#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "result.h"

/* What the probe saw of the answers' header blocks, from its header
 * callback: curl reports a site's oversized headers with the codes of
 * local failures and of resets, and only these tell them apart. */
struct outcome_seen {
    long code;             /* the status of the last answer; 0 when none was read */
    bool headers_done;     /* the last answer's header block ended (a blank line) */
    uint64_t header_bytes; /* the header lines curl passed on, of every answer */
};

/* curl refuses a header block past 300 KiB (MAX_HTTP_RESP_HEADER_SIZE,
 * not public) and a header line past CURL_MAX_HTTP_HEADER (100 KiB): when
 * the block is refused, the lines passed on before the one that crossed
 * make at least the difference. */
#define OUTCOME_HEADER_BLOCK_MAX (300 * 1024)
#define OUTCOME_HEADER_SEEN_MIN  (OUTCOME_HEADER_BLOCK_MAX - CURL_MAX_HTTP_HEADER)

/* The category of rc. A header line over curl's limit comes back as
 * CURLE_OUT_OF_MEMORY and a header block over it as CURLE_RECV_ERROR (curl
 * 7.88 and on); both are the site's, protocol, while an out of memory
 * before an answer or once its headers were read stays internal and a
 * connection closed in the headers stays reset. *why is set to a message
 * to use instead of curl's when curl's would mislead, else to NULL. */
enum probe_error outcome_classify(CURLcode rc, const struct outcome_seen *seen, const char **why);

#endif
