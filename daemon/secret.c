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

char *secret_read(const char *path, char *err, size_t errlen)
{
    char buf[SECRET_FILE_MAX + 1];
    size_t n;
    struct stat st;
    const char *why;
    FILE *f = open_regular(path, &st, &why);

    if (f == NULL) {
        errbuf_set(err, errlen, "cannot read %s: %s", path, why);
        return NULL;
    }
    n = fread(buf, 1, SECRET_FILE_MAX + 1, f);
    bool failed = ferror(f);
    fclose(f);
    if (failed) {
        explicit_bzero(buf, sizeof(buf));
        errbuf_set(err, errlen, "cannot read %s", path);
        return NULL;
    }
    if (n > SECRET_FILE_MAX) {
        explicit_bzero(buf, sizeof(buf));
        errbuf_set(err, errlen, "%s is larger than %d bytes", path, SECRET_FILE_MAX);
        return NULL;
    }
    if (memchr(buf, '\0', n)) {
        explicit_bzero(buf, sizeof(buf));
        errbuf_set(err, errlen, "%s holds a NUL byte", path);
        return NULL;
    }
    buf[n] = '\0';
    char *s = buf;
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t len = strcspn(s, "\r\n");
    while (len > 0 && isspace((unsigned char)s[len - 1]))
        len--;
    if (len == 0) {
        errbuf_set(err, errlen, "%s is empty", path);
        return NULL;
    }
    char *secret = xstrndup(s, len);
    explicit_bzero(buf, sizeof(buf));
    return secret;
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
