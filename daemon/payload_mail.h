/* The e-mail of an alert: one whole RFC 5322 message, CRLF lines, as the
 * outbox keeps it and SMTP sends it. Headers Date (the alert's time),
 * Message-ID (from the delivery's id, so every attempt sends the same),
 * From, To, Subject (what happened, RFC 2047-encoded when not ASCII and
 * folded when long), MIME-Version, Content-Type text/plain UTF-8 and
 * quoted-printable; a body with the facts, a line each. Nothing a site
 * sent or a name holds can end a header or add one: every header value
 * is one line whatever it holds. Pure, as payload.h. */
#ifndef UPMON_PAYLOAD_MAIL_H
#define UPMON_PAYLOAD_MAIL_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "state.h"
#include "util.h"

/* The message for webhook w (from, to); id is the delivery's id and host
 * the monitor's name (Message-ID's right part), instance_location where
 * it runs (or NULL). Returns a malloc'd
 * string. */
char *payload_mail(const struct webhook_conf *w, const struct alert *a, const struct target_conf *t,
                   const char *host, const char *instance_location, const char *id);

/* An RFC 5322 date, in UTC: "Tue, 01 Dec 2026 08:44:15 +0000". */
void mail_date(int64_t wall_ms, char *out, size_t len);

/* "Name: value" CRLF as an unstructured header (RFC 5322 2.2.1): control
 * characters become spaces, a value that is not printable ASCII is
 * written as RFC 2047 encoded words (UTF-8, base64), and lines are
 * folded to at most 78 characters where the value allows. */
void mail_header(struct buf *b, const char *name, const char *value);

/* text (UTF-8, LF or CRLF lines) as quoted-printable (RFC 2045 6.7), CRLF
 * lines of at most 76 characters; a dot that begins a line is encoded
 * too, so no line can end the SMTP data. */
void mail_quoted_printable(struct buf *b, const char *text);

#endif
