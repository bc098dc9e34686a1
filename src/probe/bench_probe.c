/* bench_probe.c — probe CSV reading speed next to libcsv alone on the same bytes. */
#include <csv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "modex/bench.h"
#include "modex/probe.h"
#include "modex/util.h"

typedef struct { char *data; size_t len; int rc; Error err; } BenchCsv;

static void run_load(void *ctx) {
    BenchCsv *b = ctx;
    Probe p;
    b->rc = modex_probe_parse(&p, "bench.csv", b->data, b->len, &b->err);
    if (b->rc == 0) modex_probe_free(&p);
}

static void nop_field(void *s, size_t n, void *c) { (void)s, (void)n, (void)c; }
static void nop_row(int ch, void *c) { (void)ch, (void)c; }
static void run_libcsv(void *ctx) {
    BenchCsv *b = ctx;
    struct csv_parser csv;
    csv_init(&csv, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL);
    csv_parse(&csv, b->data, b->len, nop_field, nop_row, NULL);
    csv_fini(&csv, nop_field, nop_row, NULL);
    csv_free(&csv);
}

int modex_bench_probe(FILE *out) {
    enum { ROWS = 100000 };
    size_t cap = (size_t)ROWS * 96, n = 0;
    char *d = modex_xmalloc(cap);
    n += (size_t)snprintf(d, cap, "text,function,subfunction,label,span,answer,id\n");
    for (int i = 0; i < ROWS; i++) /* a third of the texts repeat; some quoted with commas */
        n += (size_t)snprintf(d + n, cap - n, "%sExample %d%s with the word bank%s,f%d,s%d,%d,bank,%s,r%d\n",
                              i % 5 ? "\"" : "", i % (ROWS * 2 / 3), i % 5 ? "," : "", i % 5 ? "\"" : "",
                              i % 3, i % 12, (i / 12) & 1, i % 4 ? "" : " yes", i);
    BenchCsv b = {.data = d, .len = n};
    double t = modex_bench_time(run_load, &b, 3), lim = modex_bench_time(run_libcsv, &b, 3);
    if (b.rc != 0) {
        fprintf(stderr, "modex: bench probe: %s\n", b.err.msg);
        free(d);
        return 1;
    }
    fprintf(out, "| probe CSV, %d rows (%.1f MB) | %.0f MB/s | libcsv alone %.0f MB/s | %.0f%% |\n", ROWS,
            n / 1e6, n / t / 1e6, n / lim / 1e6, 100.0 * lim / t);
    free(d);
    return 0;
}
MODEX_BENCH(probe, modex_bench_probe)
