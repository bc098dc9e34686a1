/* bench_formats.c — `modex bench` rows of the formats module: conversion of stored tensors to
 * float32 against a plain memcpy of the result size, and the checked opening of a GGUF file
 * (a 32000-token vocabulary, 256 tensors) against one read pass over its metadata bytes. */
#include "modex/bench.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "modex/gguf.h"
#include "modex/tensor.h"
#include "modex/util.h"

// --- timing -----------------------------------------------------------------------------

typedef void (*Fn)(void *);

static double best_of(Fn fn, void *ctx, int reps) {
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = modex_now();
        fn(ctx);
        double t = modex_now() - t0;
        if (t < best) best = t;
    }
    return best > 0 ? best : 1e-9;
}

typedef struct Conv { TensorView t; float *out; const float *src; } Conv;
static void run_conv(void *p) { Conv *c = p; modex_tensor_to_f32(&c->t, c->out); }
static void run_copy(void *p) { Conv *c = p; memcpy(c->out, c->src, (size_t)c->t.numel * 4); }

typedef struct Open { const char *path; int rc; size_t meta; } Open;
static volatile uint64_t scan_sink;
static void run_open(void *p) {
    Open *o = p;
    Gguf g;
    o->rc = modex_gguf_open(&g, o->path, NULL);
    if (!o->rc) modex_gguf_close(&g);
}
static void run_scan(void *p) {
    Open *o = p;
    MappedFile m;
    if (modex_map_file(&m, o->path, NULL)) return;
    uint64_t s = 0;
    for (size_t i = 0; i < o->meta && i < m.size; i++) s += m.data[i];
    scan_sink += s;
    modex_unmap_file(&m);
}

// --- rows -------------------------------------------------------------------------------

int modex_bench_formats(FILE *out) {
    const int64_t n = 1 << 22; /* 4 Mi elements */
    float *src = modex_xmalloc((size_t)n * 4), *dst = modex_xmalloc((size_t)n * 4);
    uint8_t *enc = modex_xmalloc(modex_dtype_nbytes(DT_Q8_0, n) + (size_t)n * 2);
    for (int64_t i = 0; i < n; i++) src[i] = (float)((i * 7919) % 2001 - 1000) * 1e-3f;
    static const DType types[] = {DT_F16, DT_BF16, DT_Q8_0};
    Conv cp = {.t = {.numel = n}, .out = dst, .src = src};
    double t_copy = best_of(run_copy, &cp, 5);
    for (size_t k = 0; k < sizeof types / sizeof *types; k++) {
        modex_tensor_from_f32(types[k], src, n, enc);
        Conv c = {.t = {.dtype = types[k], .ndim = 1, .shape = {n}, .numel = n, .data = enc,
                        .nbytes = modex_dtype_nbytes(types[k], n)},
                  .out = dst};
        double t = best_of(run_conv, &c, 5);
        fprintf(out, "| %s → F32, %lld elements | %.0f M elem/s | memcpy of the F32 result %.0f M elem/s | %.0f%% |\n",
                modex_dtype_name(types[k]), (long long)n, n / t / 1e6, n / t_copy / 1e6, 100 * t_copy / t);
    }
    free(enc);

    /* a synthetic GGUF: vocabulary arrays like Llama 2's and 256 tensor infos */
    char dir[] = "/tmp/modex-bench-XXXXXX";
    int rc = 0;
    if (!mkdtemp(dir)) { free(src); free(dst); return -1; }
    char *path = modex_path_join(dir, "bench.gguf");
    GgufWriter *w = modex_gguf_writer_new();
    enum { V = 32000 };
    char **toks = modex_xmalloc(sizeof *toks * V);
    float *scores = modex_xmalloc(sizeof *scores * V);
    int32_t *types32 = modex_xmalloc(sizeof *types32 * V);
    for (int i = 0; i < V; i++) {
        toks[i] = modex_xmalloc(16);
        snprintf(toks[i], 16, "tok%d", i);
        scores[i] = (float)-i;
        types32[i] = 1;
    }
    modex_gguf_w_str(w, "general.architecture", "llama");
    modex_gguf_w_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)toks, V);
    modex_gguf_w_arr_num(w, "tokenizer.ggml.scores", GGUF_FLOAT32, scores, V);
    modex_gguf_w_arr_num(w, "tokenizer.ggml.token_type", GGUF_INT32, types32, V);
    int64_t shape[2] = {64, 64};
    for (int i = 0; i < 256 && !rc; i++) {
        char name[64];
        snprintf(name, sizeof name, "blk.%d.ffn_up.weight", i);
        rc = modex_gguf_w_tensor(w, name, GGML_T_F32, 2, shape, src, NULL);
    }
    if (!rc) rc = modex_gguf_w_write(w, path, 0, NULL);
    modex_gguf_writer_free(w);
    if (!rc) {
        Gguf g;
        rc = modex_gguf_open(&g, path, NULL);
        Open o = {path, 0, rc ? 0 : (size_t)g.data_start};
        if (!rc) modex_gguf_close(&g);
        double t_open = best_of(run_open, &o, 5), t_scan = best_of(run_scan, &o, 5);
        rc = rc ? rc : o.rc;
        fprintf(out, "| GGUF open: 32000-token vocabulary + 256 tensor infos, %.2f MB of metadata | %.3f ms | one read pass over those bytes %.3f ms | %.0f%% |\n",
                o.meta / 1e6, t_open * 1e3, t_scan * 1e3, 100 * t_scan / t_open);
    }
    unlink(path);
    rmdir(dir);
    free(path);
    for (int i = 0; i < V; i++) free(toks[i]);
    free(toks);
    free(scores);
    free(types32);
    free(src);
    free(dst);
    return rc;
}
MODEX_BENCH(formats, modex_bench_formats)
