/* A target's rows on the status page. Every text that came from the
 * configuration or a site goes through markup_text. */
#include "pagerow.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "codes.h"
#include "history.h"
#include "markup.h"
#include "report.h"
#include "result.h"
#include "state.h"

#define DAY_MS  86400000LL
#define HOUR_MS 3600000LL

/* Uptime windows of the full row, as the column heads name them. */
static const struct uptime_span {
    const char *head, *title;
    int64_t ms;
} windows[] = {
    {"24 h", "Uptime over the last 24 hours", 24 * HOUR_MS},
    {"7 d", "Uptime over the last 7 days", 7 * DAY_MS},
    {"30 d", "Uptime over the last 30 days", 30 * DAY_MS},
};

/* How many closed incidents a row lists; the rest are in the API. */
#define ROW_INCIDENTS 3

static void put(struct buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

static void utc(int64_t wall_ms, const char *fmt, char *out, size_t len)
{
    time_t secs = (time_t)(wall_ms / 1000);
    struct tm tm;

    gmtime_r(&secs, &tm);
    strftime(out, len, fmt, &tm);
}

void pagerow_time(struct buf *b, int64_t wall_ms, int64_t now_ms)
{
    char iso[40], shown[40];

    report_time(wall_ms, iso, sizeof(iso));
    if (wall_ms / DAY_MS == now_ms / DAY_MS)
        utc(wall_ms, "%H:%M UTC", shown, sizeof(shown));
    else
        utc(wall_ms, "%Y-%m-%d %H:%M UTC", shown, sizeof(shown));
    buf_printf(b, "<time datetime=\"%s\">%s</time>", iso, shown);
}

static void tag(struct buf *b, enum markup_tier tier, const char *word)
{
    buf_printf(b, "<span class=\"tag t-%s\">%s</span>", markup_tier_name(tier), word);
}

static enum target_state confirmed(const struct view_target *t)
{
    return t->ts ? t->ts->s.state : ST_UNKNOWN;
}

static void name_cell(struct buf *b, const struct view_target *t)
{
    const char *url = t->conf->shown_url;

    put(b, "<th scope=\"row\"><span class=\"name\">");
    markup_text(b, t->conf->name);
    put(b, "</span>");
    /* A link only to what a browser would fetch as a page anyway. */
    if (url && (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0)) {
        put(b, "<a class=\"url\" href=\"");
        markup_text(b, url);
        put(b, "\" rel=\"noreferrer\">");
        markup_text(b, url);
        put(b, "</a>");
    }
    put(b, "</th>");
}

/* The window that holds the target's alerts now, or the next one if it
 * comes within a day. */
static void maintenance(struct buf *b, const struct view *v, const struct view_target *t)
{
    struct view_maint m;
    const struct window *w;

    if (!view_maintenance(t->conf, v->now_ms, &m))
        return;
    if (m.now) {
        w = m.now;
        tag(b, TIER_NONE, "maintenance");
        put(b, "<small>alerts held until ");
        pagerow_time(b, m.now_until, v->now_ms);
    } else if (m.next && m.next_span.start_ms - v->now_ms < 24 * 3600 * 1000LL) {
        w = m.next;
        put(b, "<small>maintenance from ");
        pagerow_time(b, m.next_span.start_ms, v->now_ms);
        put(b, " to ");
        pagerow_time(b, m.next_span.end_ms, v->now_ms);
    } else {
        return;
    }
    if (w->name) {
        put(b, " (");
        markup_text(b, w->name);
        put(b, ")");
    }
    put(b, "</small>");
}

static void state_cell(struct buf *b, const struct view *v, const struct view_target *t)
{
    enum target_state s = confirmed(t);
    char dur[32];

    put(b, "<td>");
    tag(b, markup_tier(s), markup_state_label(s));
    if (t->ts && t->ts->s.slow)
        tag(b, TIER_WARN, "slow");
    if (t->ts && t->ts->s.flapping)
        tag(b, TIER_WARN, "flapping");
    if (t->ts && t->ts->s.since_ms > 0 && s != ST_UNKNOWN) {
        put(b, "<small>since ");
        pagerow_time(b, t->ts->s.since_ms, v->now_ms);
        markup_duration(v->now_ms - t->ts->s.since_ms, dur, sizeof(dur));
        buf_printf(b, " (%s)</small>", dur);
    } else if (s == ST_UNKNOWN) {
        put(b, "<small>not probed yet</small>");
    }
    maintenance(b, v, t);
    put(b, "</td>");
}

/* The last answer: its code, phrase and meaning, or why there was none;
 * with what the site said when it was not up. */
static void answer_cell(struct buf *b, const struct view_target *t)
{
    const struct htarget *h = t->hist;
    const struct code_info *info;
    int code;

    put(b, "<td>");
    if (!h || h->last.wall_ms == 0) {
        put(b, "<span class=\"muted\">no probe yet</span></td>");
        return;
    }
    code = h->last.code;
    info = codes_lookup(code);
    if (info) {
        buf_printf(b, "<strong>%d ", code);
        markup_text(b, info->phrase);
        put(b, "</strong><small>");
        markup_text(b, info->meaning);
        put(b, "</small>");
    } else if (codes_valid(code)) {
        /* Unregistered: read as the x00 of its class (RFC 9110). */
        info = codes_lookup(code / 100 * 100);
        buf_printf(b, "<strong>%d</strong><small>Unregistered, read as %d ", code,
                   code / 100 * 100);
        markup_text(b, info ? info->phrase : "");
        put(b, ": ");
        markup_text(b, info ? info->meaning : "");
        put(b, "</small>");
    } else {
        buf_printf(b, "<strong>No answer: %s</strong>",
                   probe_error_name((enum probe_error)h->last.error));
    }
    if (h->last.state != ST_UP && h->message && h->message[0]) {
        put(b, "<small class=\"msg\">");
        markup_text(b, h->message);
        put(b, "</small>");
    }
    if (h->last.state == ST_REDIRECTING && h->location && h->location[0]) {
        put(b, "<small class=\"msg\">to ");
        markup_text(b, h->location);
        put(b, "</small>");
    }
    put(b, "</td>");
}

static void latency_cell(struct buf *b, const struct view_target *t)
{
    const struct htarget *h = t->hist;

    if (!h || h->last.wall_ms == 0 || h->last.total_us < 0)
        put(b, "<td class=\"num muted\">none</td>");
    else
        buf_printf(b, "<td class=\"num\">%.0f ms</td>", report_ms(h->last.total_us));
}

static void uptime_cells(struct buf *b, const struct view *v, const struct view_target *t)
{
    char pct[16];

    for (size_t i = 0; i < ARRAY_SIZE(windows); i++) {
        double u = t->hist ? htarget_uptime(t->hist, windows[i].ms, v->now_ms) : -1;

        if (markup_uptime(u, pct, sizeof(pct)))
            buf_printf(b, "<td class=\"num\">%s</td>", pct);
        else
            buf_printf(b, "<td class=\"num muted\">%s</td>", pct);
    }
}

/* The 90-day strip: one bar per UTC day, oldest first, coloured by the
 * worst state of the day, its figures in a hover title, and the count of
 * each colour in words beside it (colour is not the only cue). */
static void days_cell(struct buf *b, const struct view *v, const struct view_target *t)
{
    struct hspan days[HIST_DAYS];
    unsigned tiers[4] = {0};
    int64_t today = v->now_ms / DAY_MS;

    if (t->hist)
        htarget_days(t->hist, v->now_ms, days, HIST_DAYS);
    else
        memset(days, 0, sizeof(days));
    put(b, "<td><ol class=\"days\" aria-label=\"Worst state of each of the last 90 days, oldest "
           "first\">");
    for (size_t i = 0; i < HIST_DAYS; i++) {
        const struct hspan *d = &days[i];
        enum target_state worst = d->probes ? (enum target_state)d->worst : ST_UNKNOWN;
        enum markup_tier tier = d->probes ? markup_tier(worst) : TIER_NONE;
        char date[16], pct[16];

        /* A day with probes but no failing state is up, however it was
         * judged; unknown there means no verdict came. */
        if (d->probes && tier == TIER_NONE)
            tier = d->failures ? TIER_DOWN : TIER_OK;
        tiers[tier]++;
        utc((today - (int64_t)(HIST_DAYS - 1 - i)) * DAY_MS, "%Y-%m-%d", date, sizeof(date));
        if (!d->probes) {
            buf_printf(b, "<li class=\"t-none\" title=\"%s: no data\"></li>", date);
            continue;
        }
        markup_uptime(1.0 - (double)d->failures / d->probes, pct, sizeof(pct));
        buf_printf(b, "<li class=\"t-%s\" title=\"%s: %s up, worst %s\"></li>",
                   markup_tier_name(tier), date, pct, markup_state_label(worst));
    }
    put(b, "</ol><small>");
    buf_printf(b, "%u up", tiers[TIER_OK]);
    if (tiers[TIER_WARN])
        buf_printf(b, " · %u redirecting", tiers[TIER_WARN]);
    if (tiers[TIER_DOWN])
        buf_printf(b, " · %u failing", tiers[TIER_DOWN]);
    if (tiers[TIER_NONE])
        buf_printf(b, " · %u no data", tiers[TIER_NONE]);
    put(b, "</small></td>");
}

/* What an incident saw: its worst state, codes and errors. */
static void incident_what(struct buf *b, const struct incident *in)
{
    put(b, markup_state_label((enum target_state)in->worst));
    for (unsigned i = 0; i < in->ncodes && i < INCIDENT_CODES; i++)
        buf_printf(b, "%s%u", i ? ", " : " · ", in->codes[i]);
    for (unsigned e = 1, first = 1; e < PERR_COUNT; e++) {
        if (!(in->errors & (1u << e)))
            continue;
        buf_printf(b, "%s%s", first ? " · " : ", ", probe_error_name((enum probe_error)e));
        first = 0;
    }
}

static void incidents_cell(struct buf *b, const struct view *v, const struct view_target *t)
{
    const struct htarget *h = t->hist;
    unsigned n = h ? (h->nclosed < ROW_INCIDENTS ? h->nclosed : ROW_INCIDENTS) : 0;
    char dur[32];

    put(b, "<td>");
    if (h && h->open) {
        put(b, "<p class=\"open\">");
        tag(b, TIER_DOWN, "open");
        put(b, " since ");
        pagerow_time(b, h->open->start_ms, v->now_ms);
        markup_duration(v->now_ms - h->open->start_ms, dur, sizeof(dur));
        buf_printf(b, " (%s): ", dur);
        incident_what(b, h->open);
        put(b, "</p>");
    }
    if (n) {
        buf_printf(b, "<details><summary>%u recent</summary><ul>", n);
        for (unsigned i = 0; i < n; i++) {
            const struct incident *in = &h->closed[i];

            put(b, "<li>");
            pagerow_time(b, in->start_ms, v->now_ms);
            markup_duration(in->end_ms - in->start_ms, dur, sizeof(dur));
            buf_printf(b, ", %s: ", dur);
            incident_what(b, in);
            put(b, "</li>");
        }
        put(b, "</ul></details>");
    }
    if (!(h && h->open) && !n)
        put(b, "<span class=\"muted\">none</span>");
    put(b, "</td>");
}

void pagerow_full_head(struct buf *b)
{
    put(b, "<thead><tr><th scope=\"col\">Target</th><th scope=\"col\">State</th>"
           "<th scope=\"col\">Last answer</th><th scope=\"col\">Latency</th>");
    for (size_t i = 0; i < ARRAY_SIZE(windows); i++)
        buf_printf(b, "<th scope=\"col\"><abbr title=\"%s\">%s</abbr></th>", windows[i].title,
                   windows[i].head);
    put(b, "<th scope=\"col\">Last 90 days</th><th scope=\"col\">Incidents</th></tr></thead>");
}

void pagerow_full(struct buf *b, const struct view *v, const struct view_target *t)
{
    buf_printf(b, "<tr class=\"r-%s\">", markup_tier_name(markup_tier(confirmed(t))));
    name_cell(b, t);
    state_cell(b, v, t);
    answer_cell(b, t);
    latency_cell(b, t);
    uptime_cells(b, v, t);
    days_cell(b, v, t);
    incidents_cell(b, v, t);
    put(b, "</tr>");
}

void pagerow_failing_head(struct buf *b, const char *group_word)
{
    put(b, "<thead><tr><th scope=\"col\">Target</th><th scope=\"col\">");
    markup_text(b, group_word);
    put(b, "</th><th scope=\"col\">State</th><th scope=\"col\">Last answer</th>"
           "<th scope=\"col\">Incident</th></tr></thead>");
}

void pagerow_failing(struct buf *b, const struct view *v, const struct view_target *t,
                     const char *group_html)
{
    buf_printf(b, "<tr class=\"r-%s\">", markup_tier_name(markup_tier(confirmed(t))));
    name_cell(b, t);
    put(b, "<td>");
    put(b, group_html);
    put(b, "</td>");
    state_cell(b, v, t);
    answer_cell(b, t);
    incidents_cell(b, v, t);
    put(b, "</tr>");
}
