/* Content negotiation: which of the media types a handler can answer with
 * an Accept header prefers (RFC 9110, 12.5.1). Pure. */
#ifndef UPMON_ACCEPT_H
#define UPMON_ACCEPT_H

#include <stddef.h>

/* A media type a handler offers, such as text/plain; version=0.0.4. */
struct accept_offer {
    const char *type, *subtype;
    const char *version; /* its version parameter; NULL: none */
};

/* The index of the offer accept prefers. Each offer takes the q of the
 * most specific range that matches it: its type, subtype and version;
 * its type and subtype with no version (a range that names another
 * version does not match); its type with any subtype; any type. The
 * highest q wins, then the range listed first, then the offer listed
 * first. Malformed ranges count for nothing. When no offer is acceptable
 * (no header, nothing matches, q=0) the first is chosen: an answer the
 * client may not want beats none. At most 8 offers are weighed. */
size_t accept_choose(const char *accept, const struct accept_offer *offers, size_t n);

#endif
