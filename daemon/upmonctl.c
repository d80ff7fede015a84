/* upmonctl: what the running upmond sees, asked of its own HTTP server
 * over the unix socket (or a URL, with the token): the live table, a
 * target's history, the incidents; and the silences, which are changed
 * over the unix socket only. --json prints the API's answer as it came. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "duration.h"
#include "report.h"
#include "secret.h"
#include "text.h"
#include "util.h"
#include "upmonctl.h"
#include "verdict.h"

#define DEFAULT_SOCKET "/run/upmon/upmond.sock"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: upmonctl [--socket PATH | --url URL [--token-file FILE]] [--json] COMMAND\n"
            "\n"
            "Shows what the running upmond sees.\n"
            "\n"
            "Commands:\n"
            "  status [--plugin]      every target: its state, since when, uptime, last answer\n"
            "                         (--plugin: exit 0 ok, 1 warning, 2 critical, 3 unknown)\n"
            "  history NAME [--since TIME|DURATION] [--step DURATION]\n"
            "                         a target's uptime by step (default: the last 24h by hour)\n"
            "  incidents [--limit N] [--before TIME]\n"
            "                         the open incidents and the recent ones\n"
            "  silence add (--target NAME | --label KEY=VALUE...) --for DURATION --comment TEXT\n"
            "                         hold the alerts of a target, or of those whose labels\n"
            "                         all match, for a while (1m to 30d); prints its id\n"
            "  silence list           the silences in force and those ended in the last day\n"
            "  silence expire ID      end a silence now: what it held is raised if still news\n"
            "\n"
            "Options:\n"
            "      --socket PATH      upmond's unix socket (default " DEFAULT_SOCKET ")\n"
            "      --url URL          upmond's HTTP address instead, as http://HOST:PORT\n"
            "      --token-file FILE  the bearer token for --url (http.token_file)\n"
            "      --json             print the API's JSON as it comes\n"
            "  -h, --help             print this help\n"
            "  -V, --version          print the version\n"
            "\n"
            "Colour on a terminal unless NO_COLOR is set. Exit status: 0 success, 1 upmond\n"
            "could not be reached or answered an error, 2 usage error.\n");
}

static size_t write_cb(char *data, size_t size, size_t n, void *arg)
{
    buf_append(arg, data, size * n);
    return size * n;
}

/* Asks for path (GET; or method with the JSON send): 0 with the status
 * and body, or -1 with why in err. */
static int fetch(const struct client *c, const char *method, const char *send, const char *path,
                 long *status, struct buf *body, char *err, size_t errlen)
{
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = NULL;
    char *url = NULL, *auth = NULL, cerr[CURL_ERROR_SIZE] = "";
    int rc = -1;

    if (curl == NULL) {
        errbuf_set(err, errlen, "out of memory");
        return -1;
    }
    if (c->url) {
        size_t n = strlen(c->url);
        url = xasprintf("%.*s%s", (int)(n && c->url[n - 1] == '/' ? n - 1 : n), c->url, path);
    } else {
        url = xasprintf("http://localhost%s", path);
        curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, c->socket);
    }
    if (c->token) {
        auth = xasprintf("Authorization: Bearer %s", c->token);
        headers = curl_slist_append(headers, auth);
    }
    if (send) {
        headers = curl_slist_append(headers, "Content-Type: application/json");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, send);
    }
    if (method)
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (headers)
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "upmonctl/" UPMON_VERSION);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
    CURLcode res = curl_easy_perform(curl);
    if (res == CURLE_OK) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
        rc = 0;
    } else {
        long oserr = 0;
        curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &oserr);
        /* Over the socket, curl's message would name localhost port 80. */
        errbuf_set(err, errlen, "cannot reach upmond at %s: %s", c->url ? c->url : c->socket,
                   !c->url && oserr ? strerror((int)oserr)
                   : cerr[0]        ? cerr
                                    : curl_easy_strerror(res));
    }
    curl_slist_free_all(headers);
    if (auth)
        explicit_bzero(auth, strlen(auth));
    free(auth);
    free(url);
    curl_easy_cleanup(curl);
    return rc;
}

/* Asks for path (with method and send as fetch): its JSON when it
 * answered 2xx (and *raw the body, for --json), or NULL having said why,
 * unless it answered quiet. *status is what it answered (0: no answer). */
json_t *ask_with(const struct client *c, const char *method, const char *send, const char *path,
                 long quiet, long *status, struct buf *raw)
{
    struct buf body = {0};
    char err[512];
    json_error_t je;

    *status = 0;
    if (fetch(c, method, send, path, status, &body, err, sizeof(err)) < 0) {
        fprintf(stderr, "upmonctl: %s\n", err);
        buf_free(&body);
        return NULL;
    }
    json_t *o = body.data ? json_loadb(body.data, body.len, 0, &je) : NULL;
    if (*status < 200 || *status > 299) {
        const char *why = json_string_value(json_object_get(o, "error"));
        char shown[512];
        text_sanitize(shown, sizeof(shown), why ? why : "", why ? strlen(why) : 0,
                      TEXT_ESCAPE | TEXT_ELLIPSIS);
        if (*status == 401)
            fprintf(stderr, "upmonctl: upmond asks for its token: use the unix socket, or "
                            "--token-file\n");
        else if (*status != quiet)
            fprintf(stderr, "upmonctl: upmond answered %ld%s%s\n", *status, why ? ": " : "", shown);
        json_decref(o);
        o = NULL;
    } else if (o == NULL) {
        fprintf(stderr, "upmonctl: upmond's answer is not JSON: %s\n", je.text);
    }
    if (raw && o)
        *raw = body;
    else
        buf_free(&body);
    return o;
}

json_t *ask(const struct client *c, const char *path, long quiet, long *status, struct buf *raw)
{
    return ask_with(c, NULL, NULL, path, quiet, status, raw);
}

void print_raw(struct buf *raw)
{
    fwrite(raw->data, 1, raw->len, stdout);
    buf_free(raw);
}

/* "2024-03-10 12:00:00" of the API's time, or "-". */
const char *shown_time(const json_t *t, char *out, size_t len)
{
    int64_t ms;
    const char *s = json_string_value(t);

    if (s == NULL || report_parse_time(s, &ms) < 0)
        return "-";
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(out, len, "%Y-%m-%d %H:%M:%S", &tm);
    return out;
}

/* The server's time of an answer, for how long things have lasted. */
static int64_t answer_time(const json_t *o)
{
    int64_t ms;
    const char *s = json_string_value(json_object_get(o, "time"));

    return s && report_parse_time(s, &ms) == 0 ? ms : 0;
}

static int cmd_status(const struct client *c, bool plugin)
{
    struct buf raw = {0};
    long status;
    json_t *o = ask(c, "/api/v1/targets", 0, &status, c->json ? &raw : NULL);

    if (o == NULL)
        return plugin ? PLUGIN_UNKNOWN : EXIT_FAIL;
    json_t *targets = json_object_get(o, "targets");
    if (c->json) {
        print_raw(&raw);
    } else if (json_array_size(targets) == 0) {
        printf("no enabled targets\n");
    } else {
        struct buf table = {0};
        report_table(&table, targets, REPORT_LIVE | (c->color ? REPORT_COLOR : 0), answer_time(o));
        fputs(table.data, stdout);
        buf_free(&table);
    }
    /* As --once folds its verdicts: the last probe of each target. */
    enum plugin_status ps = json_array_size(targets) ? PLUGIN_OK : PLUGIN_UNKNOWN;
    for (size_t i = 0; i < json_array_size(targets); i++) {
        json_t *t = json_array_get(targets, i);
        const char *sev = json_string_value(json_object_get(t, "severity"));
        const char *err = json_string_value(json_object_get(t, "error"));
        struct verdict v = {.error =
                                err && strcmp(err, "internal") == 0 ? PERR_INTERNAL : PERR_NONE};
        if (sev)
            codes_severity_parse(sev, &v.severity);
        ps = report_fold(ps, &v);
    }
    json_decref(o);
    return plugin ? (int)ps : 0;
}

static void print_recent(const json_t *target)
{
    const json_t *recent = json_object_get(target, "recent");
    char when[32];

    printf("%-19s  %-12s  %4s  %9s\n", "TIME (UTC)", "STATE", "CODE", "LATENCY");
    for (size_t i = 0; i < json_array_size(recent); i++) {
        const json_t *s = json_array_get(recent, i);
        const char *state = json_string_value(json_object_get(s, "state"));
        const char *error = json_string_value(json_object_get(s, "error"));
        json_t *code = json_object_get(s, "code"), *lat = json_object_get(s, "latency_ms");
        char codes[8] = "-", lats[16] = "-";
        if (json_is_integer(code))
            snprintf(codes, sizeof(codes), "%d", (int)json_integer_value(code));
        if (json_is_number(lat))
            snprintf(lats, sizeof(lats), "%.1f ms", json_number_value(lat));
        if (error && state && strcmp(state, "unreachable") == 0)
            state = error;
        printf("%-19s  %-12s  %4s  %9s\n",
               shown_time(json_object_get(s, "time"), when, sizeof(when)), state ? state : "-",
               codes, lats);
    }
}

static char *escaped(const char *name)
{
    char *e = curl_easy_escape(NULL, name, 0);
    char *copy = xstrdup(e ? e : "");
    curl_free(e);
    return copy;
}

/* --since: a time, or a duration before now. */
static int since_arg(const char *s, int64_t *ms)
{
    uint64_t d;
    char err[128];

    if (report_parse_time(s, ms) == 0)
        return 0;
    if (duration_parse(s, &d, err, sizeof(err)) < 0 || d == 0)
        return -1;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    *ms = (int64_t)now.tv_sec * 1000 - (int64_t)d;
    return *ms >= 0 ? 0 : -1;
}

static int cmd_history(const struct client *c, const char *name, const char *since,
                       const char *step)
{
    int64_t from = 0;
    struct buf raw = {0};
    long status;
    char *n = escaped(name), *path;

    if (since && since_arg(since, &from) < 0) {
        fprintf(stderr,
                "upmonctl: --since takes a time (RFC 3339 or Unix seconds) or a "
                "duration, not \"%s\"\n",
                since);
        free(n);
        return EXIT_USAGE;
    }
    /* By the hour, by the day beyond a week: a few dozen rows either way. */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    bool long_ago = since && (int64_t)now.tv_sec * 1000 - from > 7 * 86400000LL;
    char *st = escaped(step ? step : long_ago ? "1d" : "1h");
    if (since)
        path = xasprintf("/api/v1/targets/%s/uptime?from=%lld&step=%s", n, (long long)(from / 1000),
                         st);
    else
        path = xasprintf("/api/v1/targets/%s/uptime?step=%s", n, st);
    free(st);
    json_t *o = ask(c, path, 503, &status, c->json ? &raw : NULL);
    free(path);
    if (o == NULL && status == 503) {
        /* No history kept: what memory holds. */
        path = xasprintf("/api/v1/targets/%s", n);
        o = ask(c, path, 0, &status, c->json ? &raw : NULL);
        free(path);
        free(n);
        if (o == NULL)
            return EXIT_FAIL;
        if (c->json) {
            print_raw(&raw);
        } else {
            printf("upmond keeps no history (history.enabled); its last probes:\n");
            print_recent(o);
        }
        json_decref(o);
        return 0;
    }
    free(n);
    if (o == NULL)
        return EXIT_FAIL;
    if (c->json) {
        print_raw(&raw);
        json_decref(o);
        return 0;
    }
    const json_t *points = json_object_get(o, "points");
    char when[32];
    printf("%-19s  %7s  %6s  %8s  %9s  %9s  %s\n", "TIME (UTC)", "PROBES", "FAILED", "UPTIME",
           "AVERAGE", "MAXIMUM", "WORST");
    for (size_t i = 0; i < json_array_size(points); i++) {
        const json_t *p = json_array_get(points, i);
        json_t *up = json_object_get(p, "uptime"), *avg = json_object_get(p, "latency_avg_ms"),
               *max = json_object_get(p, "latency_max_ms");
        const char *worst = json_string_value(json_object_get(p, "worst"));
        char ups[16] = "-", avgs[16] = "-", maxs[16] = "-";
        if (json_is_number(up))
            snprintf(ups, sizeof(ups), "%.2f%%", 100 * json_number_value(up));
        if (json_is_number(avg))
            snprintf(avgs, sizeof(avgs), "%.1f ms", json_number_value(avg));
        if (json_is_number(max))
            snprintf(maxs, sizeof(maxs), "%.1f ms", json_number_value(max));
        printf("%-19s  %7lld  %6lld  %8s  %9s  %9s  %s\n",
               shown_time(json_object_get(p, "time"), when, sizeof(when)),
               (long long)json_integer_value(json_object_get(p, "probes")),
               (long long)json_integer_value(json_object_get(p, "failures")), ups, avgs, maxs,
               worst ? worst : "-");
    }
    json_t *up = json_object_get(o, "uptime");
    if (json_is_number(up))
        printf("uptime %.3f%% from %s\n", 100 * json_number_value(up),
               shown_time(json_object_get(o, "from"), when, sizeof(when)));
    else
        printf("no probes from %s\n", shown_time(json_object_get(o, "from"), when, sizeof(when)));
    json_decref(o);
    return 0;
}

static void print_incident(const json_t *inc, int wname)
{
    char start[32], end[32], dur[32], seen[256] = "";
    const json_t *codes = json_object_get(inc, "codes"), *errors = json_object_get(inc, "errors");
    const char *t = json_string_value(json_object_get(inc, "target"));
    char name[4 * 256];
    size_t off = 0;

    for (size_t i = 0; i < json_array_size(codes) && off < sizeof(seen); i++)
        off += (size_t)snprintf(seen + off, sizeof(seen) - off, "%s%lld", off ? " " : "",
                                (long long)json_integer_value(json_array_get(codes, i)));
    for (size_t i = 0; i < json_array_size(errors) && off < sizeof(seen); i++) {
        const char *e = json_string_value(json_array_get(errors, i));
        off += (size_t)snprintf(seen + off, sizeof(seen) - off, "%s%s", off ? " " : "", e ? e : "");
    }
    duration_format((uint64_t)json_integer_value(json_object_get(inc, "duration_s")) * 1000, dur,
                    sizeof(dur));
    text_sanitize(name, sizeof(name), t ? t : "", t ? strlen(t) : 0, TEXT_ESCAPE);
    const char *e = json_is_null(json_object_get(inc, "end"))
                        ? "open"
                        : shown_time(json_object_get(inc, "end"), end, sizeof(end));
    const char *worst = json_string_value(json_object_get(inc, "worst"));
    printf("%-*s  %-19s  %-19s  %-9s  %-12s  %s\n", wname, name,
           shown_time(json_object_get(inc, "start"), start, sizeof(start)), e, dur,
           worst ? worst : "-", seen);
}

static int cmd_incidents(const struct client *c, const char *limit, const char *before)
{
    struct buf raw = {0};
    long status;
    char *b = before ? escaped(before) : NULL;
    char *path = xasprintf("/api/v1/incidents?limit=%s%s%s", limit ? limit : "50",
                           b ? "&before=" : "", b ? b : "");
    json_t *o = ask(c, path, 0, &status, c->json ? &raw : NULL);

    free(path);
    free(b);
    if (o == NULL)
        return EXIT_FAIL;
    if (c->json) {
        print_raw(&raw);
        json_decref(o);
        return 0;
    }
    const json_t *lists[] = {json_object_get(o, "open"), json_object_get(o, "recent")};
    int wname = 6;
    for (size_t l = 0; l < 2; l++)
        for (size_t i = 0; i < json_array_size(lists[l]); i++) {
            const char *t =
                json_string_value(json_object_get(json_array_get(lists[l], i), "target"));
            if (t && (int)strlen(t) > wname)
                wname = (int)strlen(t);
        }
    if (json_array_size(lists[0]) + json_array_size(lists[1]) == 0) {
        printf("no incidents\n");
    } else {
        printf("%-*s  %-19s  %-19s  %-9s  %-12s  %s\n", wname, "TARGET", "START (UTC)", "END (UTC)",
               "LASTED", "WORST", "SEEN");
        for (size_t l = 0; l < 2; l++)
            for (size_t i = 0; i < json_array_size(lists[l]); i++)
                print_incident(json_array_get(lists[l], i), wname);
    }
    json_decref(o);
    return 0;
}

int main(int argc, char **argv)
{
    enum {
        OPT_SOCKET = 256,
        OPT_URL,
        OPT_TOKEN,
        OPT_JSON,
        OPT_PLUGIN,
        OPT_SINCE,
        OPT_STEP,
        OPT_LIMIT,
        OPT_BEFORE,
        OPT_TARGET,
        OPT_LABEL,
        OPT_FOR,
        OPT_COMMENT
    };
    static const struct option longopts[] = {
        {"socket", required_argument, NULL, OPT_SOCKET},
        {"url", required_argument, NULL, OPT_URL},
        {"token-file", required_argument, NULL, OPT_TOKEN},
        {"json", no_argument, NULL, OPT_JSON},
        {"plugin", no_argument, NULL, OPT_PLUGIN},
        {"since", required_argument, NULL, OPT_SINCE},
        {"step", required_argument, NULL, OPT_STEP},
        {"limit", required_argument, NULL, OPT_LIMIT},
        {"before", required_argument, NULL, OPT_BEFORE},
        {"target", required_argument, NULL, OPT_TARGET},
        {"label", required_argument, NULL, OPT_LABEL},
        {"for", required_argument, NULL, OPT_FOR},
        {"comment", required_argument, NULL, OPT_COMMENT},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct client c = {.socket = DEFAULT_SOCKET};
    const char *token_file = NULL, *since = NULL, *step = NULL, *limit = NULL, *before = NULL;
    const char *target = NULL, *duration = NULL, *comment = NULL;
    char **labels = xcalloc((size_t)argc, sizeof(*labels));
    size_t nlabels = 0;
    bool plugin = false, silence_opts = false;
    int ch, rc;

    /* Options go before or after the command, as people type them. */
    while ((ch = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
        switch (ch) {
        case OPT_SOCKET:
            c.socket = optarg;
            break;
        case OPT_URL:
            c.url = optarg;
            break;
        case OPT_TOKEN:
            token_file = optarg;
            break;
        case OPT_JSON:
            c.json = true;
            break;
        case OPT_PLUGIN:
            plugin = true;
            break;
        case OPT_SINCE:
            since = optarg;
            break;
        case OPT_STEP:
            step = optarg;
            break;
        case OPT_LIMIT:
            limit = optarg;
            break;
        case OPT_BEFORE:
            before = optarg;
            break;
        case OPT_TARGET:
            target = optarg;
            silence_opts = true;
            break;
        case OPT_LABEL:
            labels[nlabels++] = optarg;
            silence_opts = true;
            break;
        case OPT_FOR:
            duration = optarg;
            silence_opts = true;
            break;
        case OPT_COMMENT:
            comment = optarg;
            silence_opts = true;
            break;
        case 'h':
            usage(stdout);
            free(labels);
            return 0;
        case 'V':
            printf("upmonctl %s\n", UPMON_VERSION);
            free(labels);
            return 0;
        default:
            usage(stderr);
            free(labels);
            return EXIT_USAGE;
        }
    }
    const char *cmd = optind < argc ? argv[optind] : NULL;
    const char *sub = optind + 1 < argc ? argv[optind + 1] : "";
    int nargs = argc - optind - 1;
    bool silence = cmd && strcmp(cmd, "silence") == 0;
    if (cmd == NULL || (strcmp(cmd, "status") == 0 && nargs != 0) ||
        (strcmp(cmd, "history") == 0 && nargs != 1) ||
        (strcmp(cmd, "incidents") == 0 && nargs != 0) ||
        (strcmp(cmd, "status") != 0 && strcmp(cmd, "history") != 0 &&
         strcmp(cmd, "incidents") != 0 && !silence) ||
        (silence &&
         !((strcmp(sub, "add") == 0 && nargs == 1) || (strcmp(sub, "list") == 0 && nargs == 1) ||
           (strcmp(sub, "expire") == 0 && nargs == 2))) ||
        (silence_opts && !(silence && strcmp(sub, "add") == 0)) ||
        (plugin && strcmp(cmd, "status") != 0) ||
        ((since || step) && strcmp(cmd, "history") != 0) ||
        ((limit || before) && strcmp(cmd, "incidents") != 0) || (token_file && !c.url)) {
        usage(stderr);
        free(labels);
        return EXIT_USAGE;
    }
    if (token_file) {
        char err[256];
        if ((c.token = secret_read(token_file, err, sizeof(err))) == NULL) {
            fprintf(stderr, "upmonctl: %s\n", err);
            free(labels);
            return EXIT_USAGE;
        }
    }
    const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
    c.color = isatty(STDOUT_FILENO) && !(nc && nc[0]) && !(term && strcmp(term, "dumb") == 0);

    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (strcmp(cmd, "status") == 0)
        rc = cmd_status(&c, plugin);
    else if (strcmp(cmd, "history") == 0)
        rc = cmd_history(&c, argv[optind + 1], since, step);
    else if (silence && strcmp(sub, "add") == 0)
        rc = cmd_silence_add(&c, target, labels, nlabels, duration, comment);
    else if (silence && strcmp(sub, "list") == 0)
        rc = cmd_silence_list(&c);
    else if (silence)
        rc = cmd_silence_expire(&c, argv[optind + 2]);
    else
        rc = cmd_incidents(&c, limit, before);
    free(labels);
    fflush(stdout);
    secret_free(c.token);
    curl_global_cleanup();
    return rc;
}
