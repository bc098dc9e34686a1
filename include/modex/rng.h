/* rng.h — seeded, portable pseudo-random numbers (xoshiro256** seeded by splitmix64).
 * The same seed gives the same stream on every machine and thread count. */
#ifndef MODEX_RNG_H
#define MODEX_RNG_H
#include <stdint.h>

typedef struct Rng {
    uint64_t s[4];
    double spare;   /* second Box-Muller normal */
    int has_spare;
} Rng;

void     modex_rng_seed(Rng *r, uint64_t seed);
uint64_t modex_rng_next(Rng *r);              /* 64 random bits */
double   modex_rng_uniform(Rng *r);           /* [0, 1), 53 bits */
double   modex_rng_normal(Rng *r);            /* N(0, 1) */
uint64_t modex_rng_below(Rng *r, uint64_t n); /* uniform in [0, n), unbiased; 0 if n == 0 */
void     modex_rng_shuffle_int(Rng *r, int *a, int n); /* Fisher-Yates */

#endif
