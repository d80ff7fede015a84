/* SMTP transfers of alert e-mails. */
#include "mailer.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

static size_t read_cb(char *out, size_t size, size_t nmemb, void *arg)
{
    struct mail_upload *up = arg;
    size_t n = up->len - up->off;

    if (n > size * nmemb)
        n = size * nmemb;
    memcpy(out, up->data + up->off, n);
    up->off += n;
    return n;
}

static long use_ssl(enum starttls s)
{
    switch (s) {
    case STARTTLS_OPTIONAL:
        return CURLUSESSL_TRY;
    case STARTTLS_OFF:
        return CURLUSESSL_NONE;
    case STARTTLS_REQUIRED:
        break;
    }
    return CURLUSESSL_ALL;
}

void mailer_setup(CURL *e, const struct webhook_conf *w, const char *message,
                  struct mail_upload *up, struct curl_slist **rcpt)
{
    char *from = xasprintf("<%s>", w->mail_from);

    *up = (struct mail_upload){message, strlen(message), 0};
    for (size_t i = 0; i < w->nmail_to; i++) {
        char *to = xasprintf("<%s>", w->mail_to[i]);
        *rcpt = curl_slist_append(*rcpt, to);
        free(to);
    }
    curl_easy_setopt(e, CURLOPT_URL, w->url);
    /* Nothing but mail, whatever the URL says or a server answers. */
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)w->timeout_ms);
    /* smtps:// is TLS from the start whatever this says. */
    curl_easy_setopt(e, CURLOPT_USE_SSL, use_ssl(w->starttls));
    curl_easy_setopt(e, CURLOPT_MAIL_FROM, from); /* curl copies it */
    curl_easy_setopt(e, CURLOPT_MAIL_RCPT, *rcpt);
    /* One address the server refuses (a mailbox gone) does not keep the
     * message from the others; only all refused fails it. */
#if CURL_AT_LEAST_VERSION(8, 2, 0)
    curl_easy_setopt(e, CURLOPT_MAIL_RCPT_ALLOWFAILS, 1L);
#else
    curl_easy_setopt(e, CURLOPT_MAIL_RCPT_ALLLOWFAILS, 1L); /* its name before curl 8.2 */
#endif
    if (w->username && w->password) {
        curl_easy_setopt(e, CURLOPT_USERNAME, w->username);
        curl_easy_setopt(e, CURLOPT_PASSWORD, w->password);
    }
    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(e, CURLOPT_READDATA, up);
    curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)up->len);
    free(from);
}
