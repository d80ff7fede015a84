/* One target as the status page shows it: its row in full (state,
 * answer, latency, uptime, the 90-day strip, incidents) and its shorter
 * row among the failing. Pure; page.c lays the rows out. */
#ifndef UPMON_PAGEROW_H
#define UPMON_PAGEROW_H

#include <stdint.h>

#include "util.h"
#include "view.h"

/* The <thead> of a table of full rows. */
void pagerow_full_head(struct buf *b);
void pagerow_full(struct buf *b, const struct view *v, const struct view_target *t);

/* The <thead> of the failing targets' table; group_word names the
 * grouping column ("team", "watch file"). */
void pagerow_failing_head(struct buf *b, const char *group_word);
/* group_html: the group cell's content, already markup. */
void pagerow_failing(struct buf *b, const struct view *v, const struct view_target *t,
                     const char *group_html);

/* A <time> of a wall-clock instant: the time of day alone when it is
 * today's (UTC), the date too when not. */
void pagerow_time(struct buf *b, int64_t wall_ms, int64_t now_ms);

#endif
