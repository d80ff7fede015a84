/* The HTTP status-code table: every registered code with its phrase, its
 * class and the severity an answer with that code has by default. Pure: no
 * I/O, no state. Unregistered codes in 100-599 are read as the x00 of their
 * class (RFC 9110 section 15); anything else is a protocol error. */
#ifndef UPMON_CODES_H
#define UPMON_CODES_H

#include <stdbool.h>

#include "names.h"

enum code_class {
    CLASS_INFORMATIONAL, /* 1xx */
    CLASS_SUCCESS,       /* 2xx */
    CLASS_REDIRECTION,   /* 3xx */
    CLASS_CLIENT_ERROR,  /* 4xx */
    CLASS_SERVER_ERROR,  /* 5xx */
    CLASS_TRANSPORT,     /* no (valid) HTTP answer at all */
};
#define CLASS_COUNT 6

enum severity {
    SEV_OK,
    SEV_WARNING,
    SEV_CRITICAL,
};
#define SEV_COUNT 3

struct code_info {
    int code;
    const char *phrase;
    const char *meaning;
};

/* The registered entry for code, or NULL when the code is not registered. */
const struct code_info *codes_lookup(int code);

/* Registered phrase, or NULL for an unregistered code. */
const char *codes_phrase(int code);

/* The class of a status code; CLASS_TRANSPORT outside 100-599. */
enum code_class codes_class(int code);

/* Whether code is a syntactically valid HTTP status (100-599). */
bool codes_valid(int code);

/* Default severity of an answer of the given class. */
enum severity codes_class_severity(enum code_class cls);

/* Names used in configuration, JSON and journal fields; the tables are
 * there for callers that list the names (a "did you mean" hint). */
extern const struct names codes_class_names;
extern const struct names codes_severity_names;
const char *codes_class_name(enum code_class cls);
const char *codes_severity_name(enum severity sev);
int codes_severity_parse(const char *s, enum severity *out);

#endif
