/* train_internal.h — what the files of src/train share and nobody else needs: the trainer's own
 * deterministic RNG (splitmix64 seeding xoshiro256**: same seed -> same corpus, same initial
 * weights, same batches on any machine), a reusable training workspace, mkdir -p. */
#ifndef MODEX_TRAIN_INTERNAL_H
#define MODEX_TRAIN_INTERNAL_H
#include <math.h>
#include <stdint.h>

typedef struct Rng { uint64_t s[4]; } Rng;

static inline uint64_t rng_splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static inline void rng_seed(Rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++) r->s[i] = rng_splitmix(&seed);
}
static inline uint64_t rng_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
static inline uint64_t rng_next(Rng *r) {
    uint64_t *s = r->s, out = rng_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rng_rotl(s[3], 45);
    return out;
}
/* uniform in [0, n) without modulo bias worth caring about (n << 2^64) */
static inline int rng_int(Rng *r, int n) { return (int)((rng_next(r) >> 11) % (uint64_t)n); }
static inline double rng_unif(Rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }
/* standard normal (Box-Muller; one value per call keeps the stream simple) */
static inline double rng_normal(Rng *r) {
    double u = rng_unif(r), v = rng_unif(r);
    if (u < 1e-300) u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

#include "modex/error.h"
#include "modex/train.h"

/* Activations for batches of (B, T), kept between steps. */
typedef struct Gpt2Work Gpt2Work;
Gpt2Work *modex_gpt2_work_new(const Gpt2Dims *d, int B, int T);
/* Mean loss of inputs/targets (B, T); grads (may be NULL) are overwritten with its gradient. */
double    modex_gpt2_work_step(Gpt2Work *w, const float *params, const int32_t *inputs,
                               const int32_t *targets, float *grads);
void      modex_gpt2_work_free(Gpt2Work *w);
int       modex_train_mkdirs(const char *path, Error *err);
/* Encodes every line of text (newlines dropped), appending eos after each; *starts gets the
 * index of each line's first id. Returns the number of ids or -1. */
long      modex_bpe_encode_lines(const BpeTokenizer *tok, const char *text, size_t len,
                                 int32_t eos, int32_t **ids, long **starts, long *n_lines,
                                 Error *err);
#endif
