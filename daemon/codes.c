/* The status-code table. The seed table (tests/unit/data) is the source for
 * the codes it lists, with two corrections: its "41416" is 416 and its
 * "Satisfable" is "Satisfiable". Codes registered since (RFC 9110 and the
 * IANA registry) are added with their registered phrases. */
#include "codes.h"

#include <stddef.h>

#include "util.h"

static const struct code_info table[] = {
    {100, "Continue",
     "The server has not rejected the initial part of the request, and the client should "
     "continue."},
    {101, "Switching Protocols",
     "The server agrees with the client's request to change protocols."},
    {102, "Processing", "The server has accepted the request but has not yet completed it."},
    {103, "Early Hints", "The server sends hints about the final response ahead of it."},
    {200, "OK", "The request has succeeded."},
    {201, "Created",
     "The request has been fulfilled and resulted in a new resource being created."},
    {202, "Accepted",
     "The request has been accepted for processing, but the processing has not been "
     "completed."},
    {203, "Non-Authoritative Information",
     "The returned headers are not definitive, but are gathered from a local or a "
     "third-party copy."},
    {204, "No Content",
     "The server has fulfilled the request but does not need to return any output."},
    {205, "Reset Content",
     "The server has fulfilled the request and the client should reset the document view "
     "(primarily intended to make data-entry easier)."},
    {206, "Partial Content", "The server has fulfilled the partial GET request for the resource."},
    {207, "Multi-Status", "The body conveys the status of several independent operations."},
    {208, "Already Reported",
     "The members of a binding have already been enumerated earlier in the answer."},
    {226, "IM Used",
     "The server fulfilled a GET request with instance manipulations applied to the "
     "current instance."},
    {300, "Multiple Choices",
     "There are several resources that match this request, and the client was redirected to "
     "one of them."},
    {301, "Moved Permanently",
     "The requested resource has been assigned a new permanent URI and any future references "
     "to this resource should use the new URI."},
    {302, "Found",
     "The requested resource resides temporarily under a different URI. Since the "
     "redirection might be altered, continue to use the old URI."},
    {303, "See Other",
     "The response to the request can be found under a different URI and should be retrieved "
     "from the new URI."},
    {304, "Not Modified",
     "The document has not been modified since the last request, and the locally cached copy "
     "should be used instead."},
    {305, "Use Proxy", "The requested resource must be accessed through a proxy."},
    {306, "(Unused)", "Used in a previous version of the protocol."},
    {307, "Temporary Redirect",
     "The requested resource resides temporarily under a different URI. Since the "
     "redirection may be altered on occasion, continue to use the current URI."},
    {308, "Permanent Redirect",
     "The requested resource has been assigned a new permanent URI; the method must not "
     "change when following it."},
    {400, "Bad Request",
     "The request could not be understood by the server due to malformed syntax."},
    {401, "Unauthorized", "The request requires user authentication."},
    {402, "Payment Required", "This code is reserved for future use."},
    {403, "Forbidden",
     "The server understood the request, but is refusing to fulfill it. Typically due to file "
     "access permissions on the server."},
    {404, "Not Found", "The server has not found anything matching the URI."},
    {405, "Method Not Allowed",
     "The request method is not allowed. Typically when trying to execute a normal document "
     "or display a script."},
    {406, "Not Acceptable",
     "According to the client's request, it isn't capable of handling the response."},
    {407, "Proxy Authentication Required",
     "This code is similar to 401 (Unauthorized), but indicates that the client must first "
     "authenticate itself with the proxy."},
    {408, "Request Timeout",
     "The client did not produce a request within the time that the server was prepared to "
     "wait."},
    {409, "Conflict",
     "The request could not be completed due to a conflict with the current state of the "
     "resource. Typically only seen with clients that can manage files on the remote server."},
    {410, "Gone",
     "The requested resource is no longer available at the server and no forwarding address "
     "is known."},
    {411, "Length Required",
     "The server refuses to accept the request without a defined Content-Length header."},
    {412, "Precondition Failed",
     "The precondition given in one or more of the header fields failed when it was tested on "
     "the server."},
    {413, "Request Entity Too Large",
     "The server is refusing to process a request because the request entity is larger than "
     "the server is willing or able to process."},
    {414, "Request-URI Too Long",
     "The server is refusing to service the request because the requested URI is too long."},
    {415, "Unsupported Media Type",
     "The server is refusing to service the request because the client does not support the "
     "response format."},
    {416, "Requested Range Not Satisfiable",
     "The server could not find the range specified in the Range header."},
    {417, "Expectation Failed",
     "The server could not meet the expectation given in the Expect header."},
    {421, "Misdirected Request",
     "The request was directed at a server that is not able to produce a response."},
    {422, "Unprocessable Content",
     "The server understands the content of the request but was unable to process it."},
    {423, "Locked", "The source or destination resource of a method is locked."},
    {424, "Failed Dependency",
     "The method could not be performed because a requested action it depended on failed."},
    {425, "Too Early",
     "The server is unwilling to risk processing a request that might be replayed."},
    {426, "Upgrade Required",
     "The server refuses to perform the request using the current protocol."},
    {428, "Precondition Required", "The origin server requires the request to be conditional."},
    {429, "Too Many Requests", "The user has sent too many requests in a given amount of time."},
    {431, "Request Header Fields Too Large",
     "The server is unwilling to process the request because its header fields are too "
     "large."},
    {451, "Unavailable For Legal Reasons",
     "The server is denying access to the resource as a consequence of a legal demand."},
    {500, "Internal Server Error",
     "The server encountered an unexpected condition which prevented it from fulfilling the "
     "request."},
    {501, "Not Implemented",
     "The server does not support the functionality required to fulfill "
     "the request."},
    {502, "Bad Gateway",
     "The server is a gateway or proxy and received an invalid response from the upstream "
     "server it accessed in attempting to fulfill the request."},
    {503, "Service Unavailable",
     "The server is currently unable to handle the request due to a temporary overloading or "
     "maintenance of the server."},
    {504, "Gateway Timeout",
     "The server is a gateway or proxy and did not receive a timely response from the "
     "upstream server."},
    {505, "HTTP Version Not Supported",
     "The server does not support, or refuses to support, the HTTP protocol version that was "
     "used in the request."},
    {506, "Variant Also Negotiates",
     "The server has an internal configuration error: content negotiation loops."},
    {507, "Insufficient Storage",
     "The server is unable to store the representation needed to complete the request."},
    {508, "Loop Detected", "The server terminated an operation because it found an infinite loop."},
    {510, "Not Extended", "The policy for accessing the resource has not been met in the request."},
    {511, "Network Authentication Required",
     "The client needs to authenticate to gain network access."},
};

const struct code_info *codes_lookup(int code)
{
    size_t lo = 0, hi = ARRAY_SIZE(table);

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (table[mid].code == code)
            return &table[mid];
        if (table[mid].code < code)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *codes_phrase(int code)
{
    const struct code_info *ci = codes_lookup(code);
    return ci ? ci->phrase : NULL;
}

bool codes_valid(int code)
{
    return code >= 100 && code <= 599;
}

enum code_class codes_class(int code)
{
    if (!codes_valid(code))
        return CLASS_TRANSPORT;
    return (enum code_class)(code / 100 - 1);
}

enum severity codes_class_severity(enum code_class cls)
{
    switch (cls) {
    case CLASS_SUCCESS:
        return SEV_OK;
    case CLASS_INFORMATIONAL:
    case CLASS_REDIRECTION:
        return SEV_WARNING;
    case CLASS_CLIENT_ERROR:
    case CLASS_SERVER_ERROR:
    case CLASS_TRANSPORT:
        break;
    }
    return SEV_CRITICAL;
}

static const char *const class_name[CLASS_COUNT] = {
    [CLASS_INFORMATIONAL] = "informational", [CLASS_SUCCESS] = "success",
    [CLASS_REDIRECTION] = "redirection",     [CLASS_CLIENT_ERROR] = "client_error",
    [CLASS_SERVER_ERROR] = "server_error",   [CLASS_TRANSPORT] = "transport_error",
};
const struct names codes_class_names = {class_name, CLASS_COUNT, "transport_error"};

static const char *const severity_name[SEV_COUNT] = {
    [SEV_OK] = "ok",
    [SEV_WARNING] = "warning",
    [SEV_CRITICAL] = "critical",
};
const struct names codes_severity_names = {severity_name, SEV_COUNT, "critical"};

const char *codes_class_name(enum code_class cls)
{
    return names_get(&codes_class_names, cls);
}

const char *codes_severity_name(enum severity sev)
{
    return names_get(&codes_severity_names, sev);
}

int codes_severity_parse(const char *s, enum severity *out)
{
    int v = names_parse(&codes_severity_names, s);

    if (v < 0)
        return -1;
    *out = (enum severity)v;
    return 0;
}
