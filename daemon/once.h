/* `upmond --once`: probe every enabled target once, concurrently, print the
 * results and return a monitoring-plugin exit status. Sends no alerts. */
#ifndef UPMON_ONCE_H
#define UPMON_ONCE_H

#include <stdbool.h>

#include "config.h"

int once_run(const struct config *cfg, bool json);

#endif
