/* cmd_bench.c — `modex bench [--only NAME]`: every registered benchmark as one table. */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include "modex/bench.h"
#include "modex/cli.h"
#include "modex/parallel.h"
#include "modex/util.h"

#define MAX_BENCH 32
static const BenchDef *benches[MAX_BENCH];
static int n_bench;
void modex_register_bench(const BenchDef *b) { if (n_bench < MAX_BENCH) benches[n_bench++] = b; }
int modex_bench_count(void) { return n_bench; }
const BenchDef *modex_bench_at(int i) { return benches[i]; }

double modex_bench_time(void (*fn)(void *), void *ctx, int reps) {
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = modex_now();
        fn(ctx);
        double t = modex_now() - t0;
        if (t < best) best = t;
    }
    return best;
}

/* Every call gets its own B (like a model's distinct weight matrices, which stream from
 * memory), A and C are shared: the same work as a forward's linear layers. */
double modex_bench_sgemm(const int (*mnk)[3], int n, int reps) {
    size_t maxa = 0, maxc = 0, totb = 0;
    double flops = 0;
    for (int i = 0; i < n; i++) {
        size_t a = (size_t)mnk[i][0] * mnk[i][2], c = (size_t)mnk[i][0] * mnk[i][1];
        if (a > maxa) maxa = a;
        if (c > maxc) maxc = c;
        totb += (size_t)mnk[i][1] * mnk[i][2];
        flops += 2.0 * mnk[i][0] * mnk[i][1] * mnk[i][2];
    }
    float *A = malloc(maxa * 4), *B = malloc(totb * 4), *C = malloc(maxc * 4);
    for (size_t i = 0; i < maxa; i++) A[i] = (float)((i * 7) % 13) * 0.01f;
    for (size_t i = 0; i < totb; i++) B[i] = (float)((i * 5) % 11) * 0.01f;
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = modex_now();
        size_t off = 0;
        for (int i = 0; i < n; i++) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, mnk[i][0], mnk[i][1], mnk[i][2], 1.0f, A, mnk[i][2], B + off,
                        mnk[i][2], 0.0f, C, mnk[i][1]);
            off += (size_t)mnk[i][1] * mnk[i][2];
        }
        double t = modex_now() - t0;
        if (t < best) best = t;
    }
    free(A); free(B); free(C);
    return flops / best / 1e9;
}

static int cmd_bench(int argc, char **argv) {
    const char *only = NULL;
    int threads = 0;
    for (int i = 1; i < argc; i++) {
        if (modex_is_help(argv[i])) {
            printf("usage: modex bench [--only NAME[,NAME...]] [--threads N]\n\nRuns the benchmarks and prints one Markdown table:"
                   " each figure next to the limit measured in the same run (OpenBLAS sgemm at the same shapes).\nBenchmarks:");
            for (int k = 0; k < n_bench; k++) printf(" %s", benches[k]->name);
            printf("\n");
            return 0;
        } else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else { fprintf(stderr, "modex: bench: unknown argument '%s' (see modex bench --help)\n", argv[i]); return 2; }
    }
    modex_set_threads(threads);
    printf("| benchmark | figure | limit (same run) | ratio |\n|---|---|---|---|\n");
    fflush(stdout);
    int rc = 0;
    for (int k = 0; k < n_bench; k++) {
        if (only) {
            char buf[512]; snprintf(buf, sizeof buf, ",%s,", only);
            char key[80]; snprintf(key, sizeof key, ",%s,", benches[k]->name);
            if (!strstr(buf, key)) continue;
        }
        if (benches[k]->fn(stdout)) rc = 1;
        fflush(stdout);
    }
    printf("\n(%d threads)\n", modex_threads());
    return rc;
}
MODEX_COMMAND(bench, "measure speed against OpenBLAS sgemm at the same shapes", cmd_bench)
