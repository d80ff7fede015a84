/* upmonctl's silence commands: add, list, expire, through the API of
 * /api/v1/silences (over the unix socket: upmond takes changes there
 * only). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "upmonctl.h"

/* What a silence holds, as people type it: "shop" or "team=web env=prod". */
static void silence_what(const json_t *sil, char *out, size_t len)
{
    const char *t = json_string_value(json_object_get(sil, "target"));
    const json_t *labels = json_object_get(sil, "labels"), *v;
    const char *k;
    struct buf b = {0};

    if (t)
        buf_append(&b, t, strlen(t));
    json_object_foreach((json_t *)labels, k, v)
    {
        const char *val = json_string_value(v);
        if (b.len)
            buf_append(&b, " ", 1);
        buf_append(&b, k, strlen(k));
        buf_append(&b, "=", 1);
        buf_append(&b, val ? val : "", val ? strlen(val) : 0);
    }
    text_sanitize(out, len, b.data ? b.data : "", b.len, TEXT_ESCAPE | TEXT_ELLIPSIS);
    buf_free(&b);
}

int cmd_silence_add(const struct client *c, const char *target, char **labels, size_t nlabels,
                    const char *duration, const char *comment)
{
    struct buf raw = {0};
    long status;

    if ((target == NULL) == (nlabels == 0) || duration == NULL || comment == NULL) {
        fprintf(stderr, "upmonctl: silence add takes --target NAME or --label KEY=VALUE, "
                        "--for DURATION and --comment TEXT\n");
        return EXIT_USAGE;
    }
    json_t *o = json_object();
    if (target)
        text_json_set(o, "target", text_json(target));
    if (nlabels) {
        json_t *l = json_object();
        for (size_t i = 0; i < nlabels; i++) {
            char *eq = strchr(labels[i], '=');
            if (eq == NULL || eq == labels[i]) {
                fprintf(stderr, "upmonctl: --label takes KEY=VALUE, not \"%s\"\n", labels[i]);
                json_decref(l);
                json_decref(o);
                return EXIT_USAGE;
            }
            *eq = '\0';
            text_json_set(l, labels[i], text_json(eq + 1));
        }
        text_json_set(o, "labels", l);
    }
    text_json_set(o, "duration", text_json(duration));
    text_json_set(o, "comment", text_json(comment));
    char *send = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    json_t *got = ask_with(c, "POST", send, "/api/v1/silences", 0, &status, c->json ? &raw : NULL);
    free(send);
    if (got == NULL)
        return EXIT_FAIL;
    if (c->json)
        print_raw(&raw);
    else
        printf("%lld\n", (long long)json_integer_value(json_object_get(got, "id")));
    json_decref(got);
    return 0;
}

int cmd_silence_list(const struct client *c)
{
    struct buf raw = {0};
    long status;
    json_t *o = ask(c, "/api/v1/silences", 0, &status, c->json ? &raw : NULL);
    char end[32], what[256], comment[256];

    if (o == NULL)
        return EXIT_FAIL;
    if (c->json) {
        print_raw(&raw);
        json_decref(o);
        return 0;
    }
    const json_t *list = json_object_get(o, "silences");
    if (json_array_size(list) == 0)
        printf("no silences\n");
    else
        printf("%-5s  %-8s  %-19s  %-24s  %s\n", "ID", "STATE", "END (UTC)", "HOLDS", "COMMENT");
    for (size_t i = 0; i < json_array_size(list); i++) {
        const json_t *sil = json_array_get(list, i);
        const char *state = json_string_value(json_object_get(sil, "state"));
        const char *com = json_string_value(json_object_get(sil, "comment"));
        silence_what(sil, what, sizeof(what));
        text_sanitize(comment, sizeof(comment), com ? com : "", com ? strlen(com) : 0,
                      TEXT_ESCAPE | TEXT_ELLIPSIS);
        printf("%-5lld  %-8s  %-19s  %-24s  %s\n",
               (long long)json_integer_value(json_object_get(sil, "id")), state ? state : "-",
               shown_time(json_object_get(sil, "end"), end, sizeof(end)), what, comment);
    }
    json_decref(o);
    return 0;
}

int cmd_silence_expire(const struct client *c, const char *id)
{
    struct buf raw = {0};
    long status;

    if (id[0] == '\0' || strspn(id, "0123456789") != strlen(id) || strlen(id) > 19) {
        fprintf(stderr, "upmonctl: a silence's id is a number, not \"%s\"\n", id);
        return EXIT_USAGE;
    }
    char *path = xasprintf("/api/v1/silences/%s", id);
    json_t *o = ask_with(c, "DELETE", NULL, path, 0, &status, c->json ? &raw : NULL);
    free(path);
    if (o == NULL)
        return EXIT_FAIL;
    if (c->json)
        print_raw(&raw);
    else
        printf("silence %s expired\n", id);
    json_decref(o);
    return 0;
}
