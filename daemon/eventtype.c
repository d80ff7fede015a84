/* Names of alert event types. */
#include "eventtype.h"

#include <string.h>

static const char *const names[EVT_COUNT] = {
    "down", "redirect", "changed", "recovered", "reminder", "slow", "cert_expiring", "flapping",
};

const char *eventtype_name(enum event_type e)
{
    return (unsigned)e < EVT_COUNT ? names[e] : "unknown";
}

int eventtype_parse(const char *s, enum event_type *out)
{
    for (unsigned i = 0; i < EVT_COUNT; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum event_type)i;
            return 0;
        }
    }
    return -1;
}
