/* Alerts by e-mail: the SMTP side of a delivery of format email. The
 * message is built (payload_mail.h) and kept in the outbox like any body;
 * here a curl easy handle is set up to send it, on the same loop, with
 * the same retries (retry_smtp_transient) as every other delivery. */
#ifndef UPMON_MAILER_H
#define UPMON_MAILER_H

#include <stddef.h>

#include <curl/curl.h>

#include "config.h"

/* The message as curl reads it, from the start on each attempt. */
struct mail_upload {
    const char *data;
    size_t len, off;
};

/* Sets e up to send message (a whole RFC 5322 message, CRLF lines) to
 * w's recipients through w's url: STARTTLS as w->starttls says, a login
 * when w has one. *rcpt gets the recipient list, the caller's to free
 * once the transfer is over; up must live as long. */
void mailer_setup(CURL *e, const struct webhook_conf *w, const char *message,
                  struct mail_upload *up, struct curl_slist **rcpt);

#endif
