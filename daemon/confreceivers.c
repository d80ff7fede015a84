/* The keys of the receivers that are not plain webhooks: PagerDuty's
 * routing key and e-mail's SMTP URL, addresses, STARTTLS and login, and
 * the rules between them and the format, checked once a webhook's
 * mapping is read. */
#include "schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "config.h"
#include "util.h"

static const char *const starttls_list[] = {"required", "optional", "off"};
static const struct names starttls_names = {starttls_list, ARRAY_SIZE(starttls_list), "required"};
const struct choices starttls_choices = {"starttls setting", &starttls_names};

/* An address goes into the SMTP envelope and into From: and To: as it
 * is, so only a plain addr-spec is taken (no display name, no comment, no
 * quoted local part): nothing in it can end a header or a command. */
#define MAIL_ADDRESS_MAX 254

bool mail_address_valid(const char *s)
{
    const char *at = strrchr(s, '@');
    size_t n = strlen(s);

    if (at == NULL || at == s || at[1] == '\0' || n > MAIL_ADDRESS_MAX)
        return false;
    for (const char *p = s; p < at; p++)
        if (*p <= ' ' || *p >= 0x7f || strchr("<>()[]\\,;:\"@", *p))
            return false;
    for (const char *p = at + 1; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '.'))
            return false;
    return at[1] != '.' && s[n - 1] != '.';
}

int check_mail_address(struct ctx *c, const yaml_node_t *v, const char *value)
{
    if (mail_address_valid(value))
        return 0;
    err_at(c, v, "\"%s\" is not a plain e-mail address such as alerts@example.com", value);
    return -1;
}

/* The url of a webhook: http or https, or for format email smtp or smtps
 * (which format goes with which scheme is checked with the format). */
int check_webhook_url(struct ctx *c, const yaml_node_t *v, const char *value)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    int rc = -1;

    if (u == NULL) {
        err_at(c, v, "url: out of memory");
        return -1;
    }
    if (curl_url_set(u, CURLUPART_URL, value, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        (strcmp(scheme, "smtp") == 0 || strcmp(scheme, "smtps") == 0)) {
        if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host == NULL || !host[0])
            err_at(c, v, "url \"%s\" has no host", value);
        else
            rc = 0;
    } else {
        rc = check_url(c, v, "url");
    }
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

/* ---- to: one address or a list: char ** at offset, count at aux ---- */

#define ADDRS(base, o)  ((char ***)FIELD(base, (o)->offset))
#define NADDRS(base, o) ((size_t *)FIELD(base, (o)->aux))

/* More recipients than this belong in a mailing list. */
#define MAIL_TO_MAX 50

static void addrs_clear(void *base, const struct opt *o)
{
    for (size_t i = 0; i < *NADDRS(base, o); i++)
        free((*ADDRS(base, o))[i]);
    free(*ADDRS(base, o));
    *ADDRS(base, o) = NULL;
    *NADDRS(base, o) = 0;
}

static int addrs_parse(struct ctx *c, const yaml_node_t *n, const struct opt *o, void *base)
{
    char **v = NULL;
    size_t nv = 0, count;
    int rc = 0;

    if (names_count(c, n, "to must be an e-mail address or a list of them", &count) < 0)
        return -1;
    if (count > MAIL_TO_MAX) {
        err_at(c, n, "to: at most %d addresses (use a mailing list)", MAIL_TO_MAX);
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        const yaml_node_t *it =
            n->type == YAML_SEQUENCE_NODE ? node(c, n->data.sequence.items.start[i]) : n;
        if (!want_scalar(c, it, "an e-mail address") || check_mail_address(c, it, scalar(it)) < 0) {
            rc = -1;
            continue;
        }
        v = xreallocarray(v, nv + 1, sizeof(*v));
        v[nv++] = xstrdup(scalar(it));
    }
    addrs_clear(base, o);
    *ADDRS(base, o) = v;
    *NADDRS(base, o) = nv;
    return rc;
}

static void addrs_copy(void *dst, const void *src, const struct opt *o, bool merge)
{
    size_t n = *NADDRS(src, o);

    (void)merge;
    addrs_clear(dst, o);
    if (n == 0)
        return;
    *ADDRS(dst, o) = xcalloc(n, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        (*ADDRS(dst, o))[i] = xstrdup((*ADDRS(src, o))[i]);
    *NADDRS(dst, o) = n;
}

static bool addrs_eq(const void *a, const void *b, const struct opt *o)
{
    if (*NADDRS(a, o) != *NADDRS(b, o))
        return false;
    for (size_t i = 0; i < *NADDRS(a, o); i++)
        if (strcmp((*ADDRS(a, o))[i], (*ADDRS(b, o))[i]) != 0)
            return false;
    return true;
}

static json_t *addrs_value(const void *base, const struct opt *o)
{
    json_t *a = json_array();

    for (size_t i = 0; i < *NADDRS(base, o); i++)
        json_array_append_new(a, json_string((*ADDRS(base, o))[i]));
    return a;
}

const struct opt_ops mail_to_ops = {addrs_parse, addrs_copy,  addrs_clear,
                                    addrs_eq,    addrs_value, name_list_schema};

/* ---- between the keys of one receiver ---- */

static bool given(const struct given *g, const char *key)
{
    return (g->set & KEY_BIT(schema_index(&schema_webhook, key))) != 0;
}

static struct pos pos_of_key(const struct given *g, const char *key)
{
    return g->pos[schema_index(&schema_webhook, key)];
}

/* The first of keys given, or NULL. */
static const char *first_given(const struct given *g, const char *const *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (given(g, keys[i]))
            return keys[i];
    return NULL;
}

static bool is_smtp_url(const char *url)
{
    return strncmp(url, "smtp://", 7) == 0 || strncmp(url, "smtps://", 8) == 0;
}

static const char *const pagerduty_keys[] = {"routing_key_file", "routing_key_credential"};
static const char *const email_keys[] = {"from", "to", "starttls", "password_file",
                                         "password_credential"};

int config_check_receiver(struct ctx *c, const struct webhook_conf *w, const struct given *g,
                          const yaml_node_t *map)
{
    const char *name = webhook_format_name(w->format);
    const char *k;

    if (given(g, "routing_key_file") && given(g, "routing_key_credential")) {
        err_pos(c, pos_of_key(g, "routing_key_credential"),
                "give routing_key_file or routing_key_credential, not both");
        return -1;
    }
    if (given(g, "password_file") && given(g, "password_credential")) {
        err_pos(c, pos_of_key(g, "password_credential"),
                "give password_file or password_credential, not both");
        return -1;
    }
    if (w->format != WEBHOOK_PAGERDUTY &&
        (k = first_given(g, pagerduty_keys, ARRAY_SIZE(pagerduty_keys))) != NULL) {
        err_pos(c, pos_of_key(g, k), "%s applies only to format: pagerduty", k);
        return -1;
    }
    if (w->format != WEBHOOK_EMAIL &&
        (k = first_given(g, email_keys, ARRAY_SIZE(email_keys))) != NULL) {
        err_pos(c, pos_of_key(g, k), "%s applies only to format: email", k);
        return -1;
    }
    if (w->format != WEBHOOK_EMAIL && is_smtp_url(w->url)) {
        err_pos(c, pos_of_key(g, "url"), "webhook %s: an smtp or smtps url needs format: email",
                w->name);
        return -1;
    }
    if (w->format == WEBHOOK_PAGERDUTY && w->routing_key == NULL) {
        err_at(c, map,
               "webhook %s: format pagerduty needs routing_key_file or routing_key_credential",
               w->name);
        return -1;
    }
    if (w->format != WEBHOOK_EMAIL)
        return 0;
    if (!is_smtp_url(w->url)) {
        err_pos(c, pos_of_key(g, "url"),
                "webhook %s: format email needs an smtp:// or smtps:// url", w->name);
        return -1;
    }
    if (w->mail_from == NULL || w->nmail_to == 0) {
        err_at(c, map, "webhook %s: format %s needs from and to", w->name, name);
        return -1;
    }
    if ((k = given(g, "headers") ? "headers" : NULL) != NULL) {
        err_pos(c, pos_of_key(g, k), "headers apply only to the http formats");
        return -1;
    }
    if ((w->username == NULL) != (w->password == NULL)) {
        err_at(c, map, "webhook %s: give both username and password_file (or password_credential)",
               w->name);
        return -1;
    }
    /* A password in clear over the network is not sent: STARTTLS must be
     * required unless the server is on this host (a local relay, tests). */
    if (w->password && strncmp(w->url, "smtp://", 7) == 0 && w->starttls != STARTTLS_REQUIRED &&
        !url_is_loopback(w->url)) {
        err_pos(c, pos_of_key(g, "starttls"),
                "webhook %s: a password is only sent to a remote server with starttls: required "
                "or over smtps://",
                w->name);
        return -1;
    }
    if (given(g, "starttls") && strncmp(w->url, "smtps://", 8) == 0) {
        err_pos(c, pos_of_key(g, "starttls"),
                "starttls applies only to smtp:// (smtps:// is TLS "
                "from the start)");
        return -1;
    }
    return 0;
}

char *url_host(const char *url, unsigned flags)
{
    CURLU *u = curl_url();
    char *host = NULL, *copy = NULL;

    if (u && curl_url_set(u, CURLUPART_URL, url, flags) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
        copy = xstrdup(host);
    curl_free(host);
    curl_url_cleanup(u);
    return copy;
}

bool url_is_loopback(const char *url)
{
    char *host = url_host(url, 0);
    bool rc = host && (strcmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 ||
                       strcmp(host, "[::1]") == 0);

    free(host);
    return rc;
}
