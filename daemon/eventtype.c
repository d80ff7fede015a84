/* Names of alert event types. */
#include "eventtype.h"

static const char *const name[EVT_COUNT] = {
    [EVT_DOWN] = "down",
    [EVT_REDIRECT] = "redirect",
    [EVT_CHANGED] = "changed",
    [EVT_RECOVERED] = "recovered",
    [EVT_REMINDER] = "reminder",
    [EVT_SLOW] = "slow",
    [EVT_CERT_EXPIRING] = "cert_expiring",
    [EVT_FLAPPING] = "flapping",
};
const struct names eventtype_names = {name, EVT_COUNT, "unknown"};

const char *eventtype_name(enum event_type e)
{
    return names_get(&eventtype_names, e);
}

int eventtype_parse(const char *s, enum event_type *out)
{
    int v = names_parse(&eventtype_names, s);

    if (v < 0)
        return -1;
    *out = (enum event_type)v;
    return 0;
}
