/* Reading, checking and decoding secrets. */
#include "secret.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "confyaml.h"
#include "util.h"

/* Reads a whole regular file of at most max bytes into a new string;
 * NULL with why in err. The buffer is wiped: the file may hold a key. */
static char *read_small(const char *path, size_t max, size_t *lenp, char *err, size_t errlen)
{
    struct stat st;
    const char *why;
    FILE *f = open_regular(path, &st, &why);

    if (f == NULL) {
        errbuf_set(err, errlen, "cannot read %s: %s", path, why);
        return NULL;
    }
    char *buf = xmalloc(max + 1);
    size_t n = fread(buf, 1, max + 1, f);
    bool failed = ferror(f);
    fclose(f);
    if (failed || n > max || memchr(buf, '\0', n)) {
        if (failed)
            errbuf_set(err, errlen, "cannot read %s", path);
        else if (n > max)
            errbuf_set(err, errlen, "%s is larger than %zu bytes", path, max);
        else
            errbuf_set(err, errlen, "%s holds a NUL byte", path);
        explicit_bzero(buf, n < max + 1 ? n : max + 1);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *lenp = n;
    return buf;
}

char *secret_read(const char *path, char *err, size_t errlen)
{
    size_t n;
    char *buf = read_small(path, SECRET_FILE_MAX, &n, err, errlen);

    if (buf == NULL)
        return NULL;
    char *s = buf;
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t len = strcspn(s, "\r\n");
    while (len > 0 && isspace((unsigned char)s[len - 1]))
        len--;
    char *secret = len ? xstrndup(s, len) : NULL;
    explicit_bzero(buf, n);
    free(buf);
    if (secret == NULL)
        errbuf_set(err, errlen, "%s is empty", path);
    return secret;
}

char *secret_read_all(const char *path, char *err, size_t errlen)
{
    size_t n;
    char *buf = read_small(path, SECRET_PEM_MAX, &n, err, errlen);

    if (buf && n == 0) {
        free(buf);
        errbuf_set(err, errlen, "%s is empty", path);
        return NULL;
    }
    return buf;
}

int secret_decode(const char *secret, unsigned char *key, size_t keymax)
{
    const char *b64;
    size_t len;

    if (strncmp(secret, "whsec_", 6) != 0)
        return -1;
    b64 = secret + 6;
    len = strlen(b64);
    if (len == 0 || len % 4 != 0 || len / 4 * 3 > keymax)
        return -1;
    int n = EVP_DecodeBlock(key, (const unsigned char *)b64, (int)len);
    if (n < 0)
        return -1;
    /* EVP_DecodeBlock counts padding as zero bytes. */
    if (b64[len - 1] == '=')
        n--;
    if (b64[len - 2] == '=')
        n--;
    return n > 0 ? n : -1;
}

bool secret_valid(const char *secret)
{
    unsigned char key[512];
    int n = secret_decode(secret, key, sizeof(key));

    OPENSSL_cleanse(key, sizeof(key));
    return n > 0;
}

void secret_free(char *secret)
{
    if (secret)
        explicit_bzero(secret, strlen(secret));
    free(secret);
}
