/* A fixed-seed xorshift generator for the tests that draw many values:
 * the same sequence on every run, so a failure repeats. */
#ifndef UPMON_TEST_RAND_H
#define UPMON_TEST_RAND_H

#include <stdint.h>

static uint64_t rng = 88172645463325252ull;

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

#endif
