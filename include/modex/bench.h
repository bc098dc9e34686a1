/* bench.h — `modex bench` rows. Each module registers its benchmark; a benchmark prints
 * table rows "| what | figure | limit measured in the same run | ratio |" to out. */
#ifndef MODEX_BENCH_H
#define MODEX_BENCH_H
#include <stdio.h>

typedef int (*BenchFn)(FILE *out);
typedef struct BenchDef { const char *name; BenchFn fn; } BenchDef;
void modex_register_bench(const BenchDef *b);
int modex_bench_count(void);
const BenchDef *modex_bench_at(int i);
#define MODEX_BENCH(NAME, FN)                                                              \
    static const BenchDef modex_bench_def_##NAME = {#NAME, FN};                            \
    __attribute__((constructor)) static void modex_bench_reg_##NAME(void) {                \
        modex_register_bench(&modex_bench_def_##NAME);                                     \
    }
/* Best-of-n wall time of fn(ctx) in seconds. */
double modex_bench_time(void (*fn)(void *), void *ctx, int reps);
/* sgemm GFLOP/s for a list of (M,N,K) shapes run in sequence, transB as in the forward. */
double modex_bench_sgemm(const int (*mnk)[3], int n, int reps);
/* One forward row (used by the architecture benchmarks too). */
struct Model;
int modex_bench_forward_row(FILE *out, const char *label, struct Model *m, int n_seq, int len);

#endif
