/* The e-mail of an alert. */
#include "payload_mail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "codes.h"
#include "duration.h"
#include "report.h"
#include "schema.h"
#include "text.h"

/* RFC 5322 2.1.1: lines SHOULD be at most 78 characters; RFC 2047 2: an
 * encoded word at most 75. */
#define LINE_MAX_CHARS 78
#define WORD_MAX_CHARS 75
/* Of the subject: the summary line, cut, is enough to tell what happened. */
#define SUBJECT_MAX 200

void mail_date(int64_t wall_ms, char *out, size_t len)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t s = (time_t)(wall_ms / 1000);
    struct tm tm;

    /* By hand, not strftime: %a and %b follow the locale. */
    if (gmtime_r(&s, &tm) == NULL)
        memset(&tm, 0, sizeof(tm));
    snprintf(out, len, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7], tm.tm_mday,
             months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static bool printable_ascii(const char *s)
{
    for (; *s; s++)
        if (*s < 0x20 || *s > 0x7e)
            return false;
    return true;
}

/* The length of the UTF-8 character that starts at s (valid UTF-8). */
static size_t char_len(const unsigned char *s)
{
    if (*s < 0x80)
        return 1;
    if ((*s & 0xe0) == 0xc0)
        return 2;
    if ((*s & 0xf0) == 0xe0)
        return 3;
    return 4;
}

/* Folds printable ASCII at spaces: a line breaks before the last space
 * that keeps it within LINE_MAX_CHARS (a word longer than a line stays
 * whole). col: what the line holds already. */
static void fold_ascii(struct buf *b, const char *v, size_t col)
{
    size_t n = strlen(v);

    while (col + n > LINE_MAX_CHARS) {
        size_t room = LINE_MAX_CHARS - col, cut = 0;
        for (size_t i = 1; i <= room && i < n; i++)
            if (v[i] == ' ')
                cut = i;
        if (cut == 0) /* no space within the line: after the word, if any */
            for (size_t i = room + 1; i < n && cut == 0; i++)
                if (v[i] == ' ')
                    cut = i;
        if (cut == 0)
            break;
        buf_append(b, v, cut);
        buf_append(b, "\r\n", 2);
        v += cut; /* the space begins the next line: folding white space */
        n -= cut;
        col = 0;
    }
    buf_append(b, v, n);
}

/* Encoded words, each on its own line after the first, each whole
 * characters (RFC 2047 5: a character is not split between words). */
static void encode_words(struct buf *b, const char *v, size_t col)
{
    const unsigned char *p = (const unsigned char *)v;
    size_t n = strlen(v);

    while (n > 0) {
        /* "=?UTF-8?B?" and "?=" take 12 characters; base64 is 4 per 3. */
        size_t room = col + WORD_MAX_CHARS <= LINE_MAX_CHARS || col + 24 > LINE_MAX_CHARS
                          ? WORD_MAX_CHARS - 12
                          : LINE_MAX_CHARS - col - 12;
        size_t max_bytes = room / 4 * 3, take = 0;
        while (take < n && take + char_len(p + take) <= max_bytes)
            take += char_len(p + take);
        if (take == 0)
            take = char_len(p) <= n ? char_len(p) : n;
        char *out = buf_reserve(b, 12 + 4 * ((take + 2) / 3) + 1);
        memcpy(out, "=?UTF-8?B?", 10);
        int enc = EVP_EncodeBlock((unsigned char *)out + 10, p, (int)take);
        memcpy(out + 10 + enc, "?=", 2);
        b->len += 12 + (size_t)enc;
        b->data[b->len] = '\0';
        p += take;
        n -= take;
        if (n > 0) {
            buf_append(b, "\r\n ", 3);
            col = 1;
        }
    }
}

void mail_header(struct buf *b, const char *name, const char *value)
{
    size_t n = strlen(value);
    char *v = xmalloc(3 * n + 1);

    /* Valid UTF-8 first, then every control character a space: nothing
     * can end the line or the header. */
    text_sanitize(v, 3 * n + 1, value, n, 0);
    for (char *p = v; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    buf_printf(b, "%s: ", name);
    /* An ASCII value that looks like an encoded word is encoded too, so
     * a reader does not decode what a site wrote. */
    if (printable_ascii(v) && strstr(v, "=?") == NULL)
        fold_ascii(b, v, strlen(name) + 2);
    else
        encode_words(b, v, strlen(name) + 2);
    buf_append(b, "\r\n", 2);
    free(v);
}

void mail_quoted_printable(struct buf *b, const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t col = 0;

    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p == '\r' && p[1] == '\n')
            continue;
        if (*p == '\n') {
            buf_append(b, "\r\n", 2);
            col = 0;
            continue;
        }
        bool at_end = p[1] == '\0' || p[1] == '\n' || (p[1] == '\r' && p[2] == '\n');
        bool plain = (*p >= 0x21 && *p <= 0x7e && *p != '=' && !(*p == '.' && col == 0)) ||
                     ((*p == ' ' || *p == '\t') && !at_end);
        size_t w = plain ? 1 : 3;
        /* Room for a soft break "=" after it, unless the line ends here. */
        if (col + w > (at_end ? 76 : 75)) {
            buf_append(b, "=\r\n", 3);
            col = 0;
            if (*p == '.')
                plain = false, w = 3;
        }
        if (plain) {
            buf_append(b, (const char *)p, 1);
        } else {
            char enc[3] = {'=', hex[*p >> 4], hex[*p & 15]};
            buf_append(b, enc, 3);
        }
        col += w;
    }
}

/* One line of the body: "Name: value", the value on one line. */
static void fact(struct buf *b, const char *name, const char *value)
{
    size_t n = strlen(value);
    char *v = xmalloc(4 * n + 1);

    text_sanitize(v, 4 * n + 1, value, n, TEXT_ESCAPE);
    buf_printf(b, "%-12s %s\n", name, v);
    free(v);
}

/* Message-ID's right part: the host's name, as far as it is a domain. */
static void id_domain(const char *host, char *out, size_t len)
{
    size_t k = 0;

    for (const char *p = host; *p && k + 1 < len; p++)
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.')
            out[k++] = *p;
    out[k] = '\0';
    if (k == 0 || out[0] == '.' || out[k - 1] == '.')
        snprintf(out, len, "upmon.invalid");
}

static void body_text(struct buf *t, const struct alert *a, const struct target_conf *tc,
                      const char *host, const char *instance_location)
{
    char summary[1024], detail[ALERT_DETAIL_MAX], when[40], line[256], dur[32];
    const struct code_info *ci = a->code ? codes_lookup(a->code) : NULL;

    alert_message(a, tc, summary, sizeof(summary));
    buf_printf(t, "%s\n\n", summary);
    fact(t, "Target:", tc->name);
    fact(t, "URL:", tc->shown_url);
    fact(t, "Event:", eventtype_name(a->type));
    snprintf(line, sizeof(line), "%s (was %s)", state_name(a->state),
             alert_previous_name(a->previous));
    fact(t, "State:", line);
    fact(t, "Severity:", codes_severity_name(a->severity));
    alert_detail(a, detail, sizeof(detail));
    fact(t, "Answer:", detail);
    if (ci && ci->meaning)
        fact(t, "Meaning:", ci->meaning);
    if (a->error != PERR_NONE) {
        fact(t, "Error:", probe_error_name(a->error));
        if (a->message[0])
            fact(t, "Message:", a->message);
    }
    if (a->location[0])
        fact(t, "Location:", a->location);
    if (a->since_ms > 0) {
        report_time(a->since_ms, when, sizeof(when));
        duration_format(a->duration_ms > 0 ? (uint64_t)(a->duration_ms + 500) / 1000 * 1000 : 0,
                        dur, sizeof(dur));
        snprintf(line, sizeof(line), "%s (%s ago)", when, dur);
        fact(t, "Since:", line);
    }
    report_time(a->time_ms, when, sizeof(when));
    fact(t, "Time:", when);
    if (a->cert_not_after > 0) {
        report_time(a->cert_not_after * 1000, when, sizeof(when));
        fact(t, "Cert ends:", when);
        if (a->cert_subject[0])
            fact(t, "Cert subject:", a->cert_subject);
        if (a->cert_issuer[0])
            fact(t, "Cert issuer:", a->cert_issuer);
    }
    for (size_t i = 0; i < tc->nlabels; i++) {
        char *kv = xasprintf("%s=%s", tc->labels[i].key, tc->labels[i].value);
        fact(t, i == 0 ? "Labels:" : "", kv);
        free(kv);
    }
    fact(t, "Monitor:", host);
    if (instance_location)
        fact(t, "Probed from:", instance_location);
    buf_printf(t, "\n-- \nupmon\n");
}

char *payload_mail(const struct webhook_conf *w, const struct alert *a, const struct target_conf *t,
                   const char *host, const char *instance_location, const char *id)
{
    struct buf b = {0}, to = {0}, text = {0};
    char date[64], domain[256], summary[SUBJECT_MAX], *subject;

    mail_date(a->time_ms, date, sizeof(date));
    buf_printf(&b, "Date: %s\r\n", date);
    id_domain(host, domain, sizeof(domain));
    /* The delivery's id is "msg_" and hex: an atom as it is. */
    buf_printf(&b, "Message-ID: <%s@%s>\r\n", id, domain);
    /* Addresses were checked when the configuration was read; one that is
     * not plain would be left out, never written. */
    if (w->mail_from && mail_address_valid(w->mail_from))
        buf_printf(&b, "From: %s\r\n", w->mail_from);
    for (size_t i = 0; i < w->nmail_to; i++) {
        if (!mail_address_valid(w->mail_to[i]))
            continue;
        if (to.len)
            buf_append(&to, ",\r\n ", 4); /* one address a line: each fits */
        buf_append(&to, w->mail_to[i], strlen(w->mail_to[i]));
    }
    if (to.len)
        buf_printf(&b, "To: %s\r\n", to.data);
    alert_message(a, t, summary, sizeof(summary));
    subject = xasprintf("[upmon] %s", summary);
    mail_header(&b, "Subject", subject);
    free(subject);
    buf_printf(&b, "Auto-Submitted: auto-generated\r\n");
    mail_header(&b, "X-Upmon-Target", t->name);
    buf_printf(&b, "X-Upmon-Event: %s\r\n", eventtype_name(a->type));
    buf_printf(&b, "MIME-Version: 1.0\r\n"
                   "Content-Type: text/plain; charset=utf-8\r\n"
                   "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
    body_text(&text, a, t, host, instance_location);
    mail_quoted_printable(&b, text.data);
    buf_free(&text);
    buf_free(&to);
    return b.data;
}
