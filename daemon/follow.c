/* The rules of following redirects (see follow.h), on libcurl's URL
 * parser, the one that fetches the URLs. */
#include "follow.h"

#include <string.h>
#include <strings.h>

#include <curl/curl.h>

bool follow_status(int code)
{
    return code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
}

bool follow_as_get(int code, const char *method)
{
    if (code == 303)
        return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
    return (code == 301 || code == 302) && strcmp(method, "POST") == 0;
}

/* Scheme, host and port of url, or -1. */
static int origin_of(const char *url, char **scheme, char **host, char **port)
{
    CURLU *u = curl_url();
    int rc = -1;

    *scheme = *host = *port = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, port, CURLU_DEFAULT_PORT) == CURLUE_OK)
        rc = 0;
    curl_url_cleanup(u);
    return rc;
}

static bool same(const char *a, const char *b, bool host_only)
{
    char *sa = NULL, *ha = NULL, *pa = NULL, *sb = NULL, *hb = NULL, *pb = NULL;
    bool same = false;

    if (origin_of(a, &sa, &ha, &pa) == 0 && origin_of(b, &sb, &hb, &pb) == 0)
        same = strcasecmp(ha, hb) == 0 &&
               (host_only || (strcasecmp(sa, sb) == 0 && strcmp(pa, pb) == 0));
    curl_free(sa);
    curl_free(ha);
    curl_free(pa);
    curl_free(sb);
    curl_free(hb);
    curl_free(pb);
    return same;
}

bool follow_same_origin(const char *a, const char *b)
{
    return same(a, b, false);
}

bool follow_same_host(const char *a, const char *b)
{
    return same(a, b, true);
}

bool follow_scheme_ok(const char *url)
{
    return strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
}
