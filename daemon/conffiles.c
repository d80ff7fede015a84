/* Keys whose values are files, read when the configuration is loaded: the
 * signing secrets of webhooks, the CA certificates, client certificate and
 * key of a probe, a basic_auth password and header values kept out of
 * watch lists. Reading at load means every mistake is reported at its
 * node, a reload picks up a renewed file, and the daemon never opens them
 * again while it runs. Whatever may be a secret is wiped when freed and
 * shown by where it came from, never by value. */
#include "schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "secret.h"

char *key_path(struct ctx *c, const yaml_node_t *v, const char *key, bool credential)
{
    const char *s = scalar(v);

    if (!credential)
        return s[0] == '/' ? xstrdup(s) : xasprintf("%s/%s", c->basedir, s); /* like watch */
    if (strchr(s, '/') || s[0] == '.') {
        err_at(c, v, "%s must be a credential name, not a path", key);
        return NULL;
    }
    if (c->env == NULL || c->env->credentials_dir == NULL) {
        err_at(c, v,
               "%s %s: $CREDENTIALS_DIRECTORY is not set (give it with LoadCredential= in the "
               "unit, or name a file instead)",
               key, s);
        return NULL;
    }
    return xasprintf("%s/%s", c->env->credentials_dir, s);
}

/* What a file must hold. */
enum file_kind {
    FILE_LINE,  /* its first line is the value (a secret, a password, a token) */
    FILE_CERTS, /* PEM certificates */
    FILE_KEY,   /* a PEM private key, not encrypted */
};

/* Never ask for a passphrase on a terminal: a daemon has none. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static size_t pem_certs(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *x;
    size_t n = 0;

    while (bio && (x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL)) != NULL) {
        X509_free(x);
        n++;
    }
    BIO_free(bio);
    ERR_clear_error();
    return n;
}

static EVP_PKEY *pem_key(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;

    BIO_free(bio);
    ERR_clear_error();
    return k;
}

bool tls_key_matches(const char *cert_pem, const char *key_pem)
{
    BIO *bio = BIO_new_mem_buf(cert_pem, -1);
    X509 *x = bio ? PEM_read_bio_X509(bio, NULL, no_passphrase, NULL) : NULL;
    EVP_PKEY *k = pem_key(key_pem);
    bool ok = x && k && X509_check_private_key(x, k) == 1;

    X509_free(x);
    EVP_PKEY_free(k);
    BIO_free(bio);
    ERR_clear_error();
    return ok;
}

/* Reads the file v names into a new string, checked for what it must hold;
 * NULL when it cannot (reported at v). */
static char *read_value(struct ctx *c, const yaml_node_t *v, const char *key, bool credential,
                        enum file_kind kind)
{
    char err[512];
    char *path, *data;

    if (!want_scalar(c, v, key) || (path = key_path(c, v, key, credential)) == NULL)
        return NULL;
    data = kind == FILE_LINE ? secret_read(path, err, sizeof(err))
                             : secret_read_all(path, err, sizeof(err));
    if (data == NULL) {
        err_at(c, v, "%s: %s", key, err);
    } else if (kind == FILE_CERTS && pem_certs(data) == 0) {
        err_at(c, v, "%s: %s holds no PEM certificate", key, path);
        secret_free(data);
        data = NULL;
    } else if (kind == FILE_KEY) {
        EVP_PKEY *k = pem_key(data);
        if (k == NULL) {
            err_at(c, v, "%s: %s holds no PEM private key that can be read without a passphrase",
                   key, path);
            secret_free(data);
            data = NULL;
        }
        EVP_PKEY_free(k);
    }
    free(path);
    return data;
}

/* ---- a value and where it came from: data at offset, source at aux ---- */

#define DATA(base, o)   ((char **)FIELD(base, (o)->offset))
#define SOURCE(base, o) ((char **)FIELD(base, (o)->aux))

static void sourced_clear(void *base, const struct opt *o)
{
    secret_free(*DATA(base, o));
    *DATA(base, o) = NULL;
    free(*SOURCE(base, o));
    *SOURCE(base, o) = NULL;
}

static void sourced_copy(void *dst, const void *src, const struct opt *o, bool merge)
{
    const char *d = *DATA(src, o), *s = *SOURCE(src, o);

    (void)merge;
    sourced_clear(dst, o);
    *DATA(dst, o) = d ? xstrdup(d) : NULL;
    *SOURCE(dst, o) = s ? xstrdup(s) : NULL;
}

/* By content: a renewed certificate or a new password is a change. */
static bool sourced_eq(const void *a, const void *b, const struct opt *o)
{
    return str_eq(*DATA(a, o), *DATA(b, o));
}

/* Where it came from, if this key (of the two that may fill a field) gave
 * it; never what it is. */
static json_t *sourced_value(const void *base, const struct opt *o)
{
    const char *source = *SOURCE(base, o);
    size_t len = strlen(o->name);

    if (source && strncmp(source, o->name, len) == 0 && source[len] == ' ')
        return json_string(source + len + 1);
    return json_null();
}

static int sourced_read(struct ctx *c, const yaml_node_t *v, const struct opt *o, void *base,
                        bool credential, enum file_kind kind)
{
    char *data = read_value(c, v, o->name, credential, kind);

    if (data == NULL)
        return -1;
    sourced_clear(base, o);
    *DATA(base, o) = data;
    *SOURCE(base, o) = xasprintf("%s %s", o->name, scalar(v));
    return 0;
}

static json_t *path_schema(const struct opt *o)
{
    (void)o;
    return schema_text_json();
}

#define SOURCED_OPS(name, credential, kind)                                                        \
    static int name##_parse(struct ctx *c, const yaml_node_t *v, const struct opt *o, void *base)  \
    {                                                                                              \
        return sourced_read(c, v, o, base, credential, kind);                                      \
    }                                                                                              \
    const struct opt_ops name##_ops = {name##_parse, sourced_copy,  sourced_clear,                 \
                                       sourced_eq,   sourced_value, path_schema}

SOURCED_OPS(secret_file, false, FILE_LINE);
SOURCED_OPS(secret_credential, true, FILE_LINE);
SOURCED_OPS(cert_file, false, FILE_CERTS);
SOURCED_OPS(key_file, false, FILE_KEY);
SOURCED_OPS(key_credential, true, FILE_KEY);

/* ---- ca_path: a directory, kept by its path ---- */

static int dir_parse(struct ctx *c, const yaml_node_t *v, const struct opt *o, void *base)
{
    char **field = DATA(base, o), *path;
    struct stat st;

    if (!want_scalar(c, v, o->name) || (path = key_path(c, v, o->name, false)) == NULL)
        return -1;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        err_at(c, v, "%s: %s is not a directory", o->name, path);
        free(path);
        return -1;
    }
    free(*field);
    *field = path;
    return 0;
}

static void dir_clear(void *base, const struct opt *o)
{
    free(*DATA(base, o));
    *DATA(base, o) = NULL;
}

static void dir_copy(void *dst, const void *src, const struct opt *o, bool merge)
{
    const char *s = *DATA(src, o);

    (void)merge;
    dir_clear(dst, o);
    *DATA(dst, o) = s ? xstrdup(s) : NULL;
}

static json_t *dir_value(const void *base, const struct opt *o)
{
    const char *s = *DATA(base, o);

    return s ? json_string(s) : json_null();
}

const struct opt_ops dir_ops = {dir_parse, dir_copy, dir_clear, sourced_eq, dir_value, path_schema};

/* ---- basic_auth: username at offset, the password (struct file_data) at aux ---- */

#define USER(base, o) ((char **)FIELD(base, (o)->offset))

static const struct opt password_opt_file = {.name = "password_file",
                                             .offset = offsetof(struct file_data, data),
                                             .aux = offsetof(struct file_data, source)};
static const struct opt password_opt_credential = {.name = "password_credential",
                                                   .offset = offsetof(struct file_data, data),
                                                   .aux = offsetof(struct file_data, source)};

static void *password_of(void *base, const struct opt *o)
{
    return FIELD(base, o->aux);
}

static void basic_auth_clear(void *base, const struct opt *o)
{
    free(*USER(base, o));
    *USER(base, o) = NULL;
    sourced_clear(password_of(base, o), &password_opt_file);
}

static int basic_auth_parse(struct ctx *c, const yaml_node_t *v, const struct opt *o, void *base)
{
    static const char *const keys[] = {"username", "password_file", "password_credential"};
    const yaml_node_t *user = NULL, *pw = NULL;
    const struct opt *pw_opt = NULL;
    int rc = 0;

    if (!want_mapping(c, v, o->name))
        return -1;
    MAPPING_FOREACH(c, v, pair)
    {
        const yaml_node_t *k = node(c, pair->key), *val = node(c, pair->value);
        if (!want_scalar(c, k, "a basic_auth key") || repeated_key(c, v, pair, false)) {
            rc = -1;
        } else if (strcmp(scalar(k), "username") == 0) {
            user = val;
        } else if (strcmp(scalar(k), "password_file") == 0 ||
                   strcmp(scalar(k), "password_credential") == 0) {
            if (pw) {
                err_at(c, k, "give password_file or password_credential, not both");
                rc = -1;
            }
            pw = val;
            pw_opt = scalar(k)[9] == 'f' ? &password_opt_file : &password_opt_credential;
        } else {
            err_unknown(c, k, "basic_auth key", scalar(k), keys, ARRAY_SIZE(keys));
            rc = -1;
        }
    }
    if (user == NULL) {
        err_at(c, v, "basic_auth needs a username");
        rc = -1;
    } else if (want_scalar(c, user, "username") &&
               (strchr(scalar(user), ':') || has_control_chars(scalar(user)))) {
        err_at(c, user, "username must not contain a colon or control characters");
        rc = -1;
    } else if (user->type != YAML_SCALAR_NODE || is_null(user)) {
        rc = -1;
    }
    if (pw == NULL) {
        err_at(c, v, "basic_auth needs password_file or password_credential");
        rc = -1;
    }
    if (rc != 0)
        return -1;
    char *password = read_value(c, pw, pw_opt->name, pw_opt == &password_opt_credential, FILE_LINE);
    if (password == NULL)
        return -1;
    basic_auth_clear(base, o);
    *USER(base, o) = xstrdup(scalar(user));
    struct file_data *fd = password_of(base, o);
    fd->data = password;
    fd->source = xasprintf("%s %s", pw_opt->name, scalar(pw));
    return 0;
}

static void basic_auth_copy(void *dst, const void *src, const struct opt *o, bool merge)
{
    const char *u = *USER(src, o);

    (void)merge;
    basic_auth_clear(dst, o);
    *USER(dst, o) = u ? xstrdup(u) : NULL;
    sourced_copy(password_of(dst, o), password_of((void *)src, o), &password_opt_file, false);
}

static bool basic_auth_eq(const void *a, const void *b, const struct opt *o)
{
    return str_eq(*USER(a, o), *USER(b, o)) &&
           sourced_eq(password_of((void *)a, o), password_of((void *)b, o), &password_opt_file);
}

static json_t *basic_auth_value(const void *base, const struct opt *o)
{
    const char *u = *USER(base, o);
    void *pw = password_of((void *)base, o);
    json_t *j;

    if (u == NULL)
        return json_null();
    j = json_pack("{s:s}", "username", u);
    json_object_set_new(j, "password_file", sourced_value(pw, &password_opt_file));
    json_object_set_new(j, "password_credential", sourced_value(pw, &password_opt_credential));
    return j;
}

static json_t *basic_auth_schema(const struct opt *o)
{
    (void)o;
    return json_pack("{s:s, s:{s:{s:s, s:i, s:s}, s:o, s:o}, s:[s], s:b, s:[{s:[s]}, {s:[s]}]}",
                     "type", "object", "properties", "username", "type", "string", "minLength", 1,
                     "pattern", "^[^:]*$", "password_file", schema_text_json(),
                     "password_credential", schema_text_json(), "required", "username",
                     "additionalProperties", 0, "oneOf", "required", "password_file", "required",
                     "password_credential");
}

const struct opt_ops basic_auth_ops = {basic_auth_parse, basic_auth_copy,  basic_auth_clear,
                                       basic_auth_eq,    basic_auth_value, basic_auth_schema};

/* ---- a header value kept in a file ---- */

char *header_value_from_file(struct ctx *c, const yaml_node_t *map, const char *header)
{
    static const char *const keys[] = {"file", "credential", "prefix"};
    const yaml_node_t *from = NULL, *prefix = NULL;
    bool credential = false;
    int rc = 0;

    MAPPING_FOREACH(c, map, pair)
    {
        const yaml_node_t *k = node(c, pair->key), *val = node(c, pair->value);
        if (!want_scalar(c, k, "a header value key") || repeated_key(c, map, pair, false)) {
            rc = -1;
        } else if (strcmp(scalar(k), "file") == 0 || strcmp(scalar(k), "credential") == 0) {
            if (from) {
                err_at(c, k, "header %s: give file or credential, not both", header);
                rc = -1;
            }
            from = val;
            credential = scalar(k)[0] == 'c';
        } else if (strcmp(scalar(k), "prefix") == 0) {
            if (val->type != YAML_SCALAR_NODE || has_control_chars(scalar(val))) {
                err_at(c, val, "prefix must be text without control characters");
                rc = -1;
            }
            prefix = val;
        } else {
            err_unknown(c, k, "header value key", scalar(k), keys, ARRAY_SIZE(keys));
            rc = -1;
        }
    }
    if (from == NULL) {
        err_at(c, map, "header %s: give its value, or file or credential to read it from", header);
        rc = -1;
    }
    if (rc != 0)
        return NULL;
    char what[128];
    snprintf(what, sizeof(what), "header %s", header);
    char *value = read_value(c, from, what, credential, FILE_LINE);
    if (value == NULL)
        return NULL;
    if (has_control_chars(value)) {
        err_at(c, from, "%s: the file's first line holds control characters", what);
        secret_free(value);
        return NULL;
    }
    if (prefix && scalar(prefix)[0]) {
        char *full = xasprintf("%s%s", scalar(prefix), value);
        secret_free(value);
        value = full;
    }
    return value;
}

json_t *header_value_schema(void)
{
    return json_pack("{s:s, s:{s:o, s:o, s:o}, s:b, s:[{s:[s]}, {s:[s]}]}", "type", "object",
                     "properties", "file", schema_text_json(), "credential", schema_text_json(),
                     "prefix", schema_text_json(), "additionalProperties", 0, "oneOf", "required",
                     "file", "required", "credential");
}
