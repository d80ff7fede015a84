/* The retry policy of webhook deliveries: which failed attempts are worth
 * another, and how long to wait before it. Pure: the jitter and the time
 * are arguments. */
#ifndef UPMON_RETRY_H
#define UPMON_RETRY_H

#include <stdbool.h>
#include <stdint.h>

/* The back-off before attempt number `attempt` + 1 (attempt >= 1): the
 * initial delay doubled per attempt up to max, then a random point in its
 * upper half (jitter in [0,1)). */
uint64_t retry_backoff_ms(uint64_t initial, uint64_t max, unsigned attempt, double jitter);

/* Whether a failed attempt may succeed later, and so is worth another: no
 * answer, 5xx, 408, 429. */
bool retry_transient(bool answered, long code);

/* The same for a mail that failed, by the last SMTP reply (0: none): a
 * 4xx reply (greylisting, a full queue), no reply or a broken connection
 * may pass later; a 5xx reply (no such mailbox, refused, login failed) is
 * final (RFC 5321, 4.2.1). */
bool retry_smtp_transient(long reply);

/* A Retry-After header's value (seconds, or an HTTP date; a date passed
 * means now) as milliseconds after now_ms (wall clock), at most an hour;
 * -1 when it is neither. The next attempt waits for the longer of this
 * and the back-off. */
int64_t retry_after_ms(const char *value, int64_t now_ms);

#endif
