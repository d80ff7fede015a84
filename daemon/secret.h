/* Secrets: reading one from a file or a systemd credential, telling a
 * valid Standard Webhooks secret ("whsec_" and base64) from a mistake,
 * and decoding its key for signing. Secrets are wiped before they are
 * freed and never put into a message. */
#ifndef UPMON_SECRET_H
#define UPMON_SECRET_H

#include <stdbool.h>
#include <stddef.h>

/* The most bytes a secret file may hold. */
#define SECRET_FILE_MAX 4096

/* Reads the first line of a regular file, without surrounding blanks. On
 * failure returns NULL and writes why (never the content) into err. */
char *secret_read(const char *path, char *err, size_t errlen);

/* The most bytes a PEM file (certificates, a key) may hold. */
#define SECRET_PEM_MAX (256 * 1024)

/* Reads a whole regular file, such as a PEM key, the same way. */
char *secret_read_all(const char *path, char *err, size_t errlen);

/* Decodes the base64 after "whsec_" into key; returns its length, or -1
 * when the secret is not "whsec_" followed by valid, non-empty base64. */
int secret_decode(const char *secret, unsigned char *key, size_t keymax);

bool secret_valid(const char *secret);

/* Wipes and frees. */
void secret_free(char *secret);

#endif
