/* Writing the Prometheus exposition formats: the text format 0.0.4 and
 * OpenMetrics 1.0.0, which differ in a family's metadata and in the
 * "# EOF" that ends OpenMetrics, not in the samples. Lines are written
 * straight into a buffer, one growth check each, and allocate nothing.
 * Pure. */
#ifndef UPMON_EXPOSITION_H
#define UPMON_EXPOSITION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum expo_kind { EXPO_GAUGE, EXPO_COUNTER, EXPO_HISTOGRAM, EXPO_STATESET, EXPO_INFO };

/* A metric family. Its name is the OpenMetrics one: a counter's without
 * its _total, an info's without its _info; its samples, and the text
 * format's metadata, have the suffix. A state set and an info are gauges
 * in the text format. */
struct expo_family {
    const char *name;
    enum expo_kind kind;
    bool seconds; /* its unit, which its name ends with */
    const char *help;
};

struct expo {
    struct buf *b;
    bool om;            /* OpenMetrics, else the text format */
    struct buf scratch; /* expo_free frees it */
    /* Labels every sample carries first, escaped (location="fra1"), or
     * none (ncommon 0). */
    const char *common;
    size_t ncommon;
};

/* A le label, le="BOUND", with its quotes and NUL. */
#define EXPO_LE_MAX 40

/* Writes a family's metadata (TYPE, UNIT, HELP); its samples follow. */
void expo_family(struct expo *e, const struct expo_family *f);

/* One sample: NAME SUFFIX{COMMON,LABELS,EXTRA} VALUE, where labels (llen
 * bytes) and extra (one more label, or NULL) are escaped already. */
void expo_sample(struct expo *e, const char *name, const char *suffix, const char *labels,
                 size_t llen, const char *extra, const char *value);

/* A sample of family f with the suffix its kind asks (a counter's _total,
 * an info's _info). */
void expo_u64(struct expo *e, const struct expo_family *f, const char *labels, size_t llen,
              const char *extra, uint64_t v);

/* A sample of family f in seconds, v being in 10^-decimals seconds (6:
 * microseconds, 3: milliseconds): exact, without trailing zeros. */
void expo_seconds(struct expo *e, const struct expo_family *f, const char *labels, size_t llen,
                  const char *extra, int64_t v, unsigned decimals);

/* A histogram's samples for one label set: cum[i] observations at most
 * the bound of le[i] (expo_le), of nle finite bounds; then +Inf, the sum
 * (in microseconds) and the count. */
void expo_histogram(struct expo *e, const struct expo_family *f, const char *labels, size_t llen,
                    char (*le)[EXPO_LE_MAX], const uint64_t *cum, size_t nle, uint64_t count,
                    int64_t sum_us);

/* le="BOUND" for a bound in microseconds, in OpenMetrics' canonical form
 * (Go's shortest %g, with ".0" when it would read as an integer: 0.025,
 * 1.0, 1e-06), in both formats, so a scraper that switches formats keeps
 * its series. */
void expo_le(char out[EXPO_LE_MAX], int64_t us);

/* Appends s to b as a label value: escaped as both formats ask
 * (backslash, double quote, line feed), and valid UTF-8 (text.h). */
void expo_value(struct expo *e, struct buf *b, const char *s);

/* Ends the exposition ("# EOF" in OpenMetrics) and frees what e holds. */
void expo_end(struct expo *e);

#endif
