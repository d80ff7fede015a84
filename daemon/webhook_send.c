/* The transfers of webhook deliveries: an attempt as an HTTP POST or a
 * mail, at most a few per webhook at once, and what its outcome makes
 * of the delivery (delivered, refused, retried or dropped). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>

#include "clock.h"
#include "log.h"
#include "looptimer.h"
#include "mailer.h"
#include "payload.h"
#include "payload_am.h"
#include "payload_pd.h"
#include "retry.h"
#include "secret.h"
#include "util.h"
#include "webhook_impl.h"

/* max_pending is at least one more, so a delivery not in flight is
 * always there to drop. */
#define PER_WEBHOOK_IN_FLIGHT 4

static double random_unit(void)
{
    uint32_t r = 0;

    if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
        r = (uint32_t)clock_mono_us();
    return (double)r / 4294967296.0;
}

static void attempt_done(struct http_xfer *x, CURLcode rc)
{
    struct delivery *d = (struct delivery *)x;
    struct webhooks *w = d->w;
    struct hook *h = webhook_hook(w, d->webhook);
    struct hookstate *hs = d->hs;
    long code = 0;
    char why[CURL_ERROR_SIZE + 64];
    int64_t asked_ms = -1; /* the wait a Retry-After asked for */

    d->inflight = false;
    if (h)
        h->inflight--;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
    if (rc == CURLE_OK) {
        struct curl_header *hdr;
        if (curl_easy_header(x->easy, "Retry-After", 0, CURLH_HEADER, -1, &hdr) == CURLHE_OK)
            asked_ms = retry_after_ms(hdr->value, clock_wall_ms());
    }
    curl_easy_cleanup(x->easy);
    x->easy = NULL;
    curl_slist_free_all(d->headers);
    d->headers = NULL;

    /* A mail is sent when curl says so: its code is the last SMTP reply. */
    if (rc == CURLE_OK && (d->mail.data || (code >= 200 && code <= 299))) {
        log_info("webhook %s: delivered %s %s of %s (attempt %u)", d->webhook, d->event, d->id,
                 d->target, d->attempts);
        hs->delivered++;
        webhook_finish(w, d);
    } else {
        if (rc != CURLE_OK && d->mail.data && code)
            snprintf(why, sizeof(why), "%s (SMTP reply %ld)",
                     d->errbuf[0] ? d->errbuf : curl_easy_strerror(rc), code);
        else if (rc != CURLE_OK)
            snprintf(why, sizeof(why), "%s", d->errbuf[0] ? d->errbuf : curl_easy_strerror(rc));
        else
            snprintf(why, sizeof(why), "answered %ld", code);
        const struct webhook_conf *c = h ? h->conf : &w->defaults;
        uint64_t max_age = c->max_age_ms;
        if (d->mail.data ? !retry_smtp_transient(code) : !retry_transient(rc == CURLE_OK, code)) {
            struct summary *s = &hs->sum[TROUBLE_REFUSED];
            if (first_held(s))
                snprintf(s->one, sizeof(s->one),
                         "webhook %s: %s %s of %s refused (%s); not retried", d->webhook, d->event,
                         d->id, d->target, why);
            webhook_tell(s, 1, why);
            webhook_finish(w, d);
        } else {
            uint64_t delay =
                retry_backoff_ms(c->retry_initial_ms, c->retry_max_ms, d->attempts, random_unit());
            /* Not before the receiver asked, nor sooner than the back-off
             * (a Retry-After of 0 must not make a tight loop). */
            if (asked_ms > (int64_t)delay)
                delay = (uint64_t)asked_ms;
            int64_t next = clock_wall_ms() + (int64_t)delay;
            if (age_ms(d) + (int64_t)delay > (int64_t)max_age) {
                struct summary *s = &hs->sum[TROUBLE_EXPIRED];
                if (first_held(s))
                    snprintf(s->one, sizeof(s->one),
                             "webhook %s: %s %s of %s dropped after %u attempts, older than "
                             "max_age (last: %s)",
                             d->webhook, d->event, d->id, d->target, d->attempts, why);
                webhook_tell(s, 1, why);
                webhook_finish(w, d);
            } else {
                struct summary *s = &hs->sum[TROUBLE_FAILED];
                if (first_held(s))
                    snprintf(s->one, sizeof(s->one),
                             "webhook %s: %s %s of %s failed (%s); attempt %u in %.1f s",
                             d->webhook, d->event, d->id, d->target, why, d->attempts + 1,
                             (double)delay / 1000.0);
                webhook_tell(s, 1, why);
                store_outbox_update(w->store, d->id, d->attempts, next, why);
                webhook_plan(w, d, (int64_t)delay);
            }
        }
    }
    /* A webhook holds more than max_pending only while every older
     * delivery was in flight; one no longer is. */
    webhook_trim(w, hs);
    if (h)
        webhook_start_ready(w, h);
}

static size_t discard_cb(char *data, size_t size, size_t nmemb, void *arg)
{
    (void)data;
    (void)arg;
    return size * nmemb;
}

/* An HTTP POST of the delivery's body, with its headers. */
static void post_setup(struct webhooks *w, const struct webhook_conf *c, struct delivery *d,
                       CURL *e)
{
    char line[512];
    int64_t now_s = clock_wall_ms() / 1000;
    const char *body = d->body;
    char *fresh = NULL, *url = NULL;

    /* Alertmanager: its endpoint, and firing alerts that end well after
     * this attempt, however late retries made it. */
    if (c->format == WEBHOOK_ALERTMANAGER) {
        url = am_endpoint(c->url);
        fresh =
            am_refresh(d->body, d->created_ms, clock_wall_ms(), 4 * (int64_t)c->resend_every_ms);
        if (fresh)
            body = fresh;
    }
    d->headers = curl_slist_append(d->headers, "Content-Type: application/json");
    snprintf(line, sizeof(line), "webhook-id: %s", d->id);
    d->headers = curl_slist_append(d->headers, line);
    snprintf(line, sizeof(line), "webhook-timestamp: %lld", (long long)now_s);
    d->headers = curl_slist_append(d->headers, line);
    if (c->secret) {
        char sig[128];
        if (payload_sign(c->secret, d->id, now_s, body, strlen(body), sig, sizeof(sig)) == 0) {
            snprintf(line, sizeof(line), "webhook-signature: %s", sig);
            d->headers = curl_slist_append(d->headers, line);
        }
    }
    for (size_t i = 0; i < c->nheaders; i++) {
        char *hl = xasprintf("%s: %s", c->headers[i].key, c->headers[i].value);
        d->headers = curl_slist_append(d->headers, hl);
        free(hl);
    }
    curl_easy_setopt(e, CURLOPT_URL, url ? url : c->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROXY, ""); /* as probes: no proxy from the environment */
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
    curl_easy_setopt(e, CURLOPT_USERAGENT, w->user_agent);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, d->headers);
    /* PagerDuty's routing key is added at each attempt, never stored. */
    char *keyed = c->format == WEBHOOK_PAGERDUTY && c->routing_key
                      ? pagerduty_keyed(d->body, c->routing_key)
                      : NULL;
    if (keyed) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(keyed));
        curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, keyed);
        secret_free(keyed);
    } else if (fresh) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(fresh));
        curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, fresh);
    } else {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, d->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(d->body));
    }
    free(fresh);
    free(url);
}

static void attempt(struct webhooks *w, struct hook *h, struct delivery *d)
{
    const struct webhook_conf *c = h->conf;
    CURL *e = curl_easy_init();

    if (e == NULL) {
        webhook_plan(w, d, 1000);
        return;
    }
    d->attempts++;
    d->errbuf[0] = '\0';
    d->mail = (struct mail_upload){0};
    if (c->format == WEBHOOK_EMAIL)
        mailer_setup(e, c, d->body, &d->mail, &d->headers);
    else
        post_setup(w, c, d, e);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard_cb);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, d->errbuf);
    d->xfer.easy = e;
    d->xfer.done = attempt_done;
    if (http_add(w->http, &d->xfer) < 0) {
        curl_easy_cleanup(e);
        curl_slist_free_all(d->headers);
        d->headers = NULL;
        d->xfer.easy = NULL;
        d->attempts--;
        webhook_plan(w, d, 1000);
        return;
    }
    d->inflight = true;
    h->inflight++;
    log_debug("webhook %s: attempt %u of %s %s", c->name, d->attempts, d->event, d->id);
}

void webhook_start_ready(struct webhooks *w, struct hook *h)
{
    while (h->inflight < PER_WEBHOOK_IN_FLIGHT && !TAILQ_EMPTY(&h->ready)) {
        struct delivery *d = TAILQ_FIRST(&h->ready);
        TAILQ_REMOVE(&h->ready, d, ready);
        d->queued = false;
        attempt(w, h, d);
    }
}
