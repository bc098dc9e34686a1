/* cmd_forward.c — `modex forward PATH --ids 5,17,3 --out DIR`: raw float32 outputs named as
 * the fixtures' reference.json names them. All files or none. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "modex/cli.h"
#include "modex/forward.h"
#include "modex/parallel.h"
#include "modex/util.h"

typedef struct Capture {
    int n_layer, D, T, width;
    float **ffn;     /* [n_layer][T * width] */
    float **hidden;  /* [n_layer + 1][T * D] */
    float **router;  /* [n_layer][T * E] */
    int E;
} Capture;

static int cap_ffn(void *ctx, int layer, float *act, int T, int width, const Batch *b) {
    (void)b;
    Capture *c = ctx;
    c->ffn[layer] = modex_xmalloc(sizeof(float) * (size_t)T * width);
    memcpy(c->ffn[layer], act, sizeof(float) * (size_t)T * width);
    c->width = width;
    return 0;
}
static void cap_hidden(void *ctx, int i, const float *x, int T, int D, const Batch *b) {
    (void)b;
    Capture *c = ctx;
    c->hidden[i] = modex_xmalloc(sizeof(float) * (size_t)T * D);
    memcpy(c->hidden[i], x, sizeof(float) * (size_t)T * D);
}
static void cap_router(void *ctx, int layer, const float *lg, const int *ch, int T, int E, int k) {
    (void)ch; (void)k;
    Capture *c = ctx;
    c->E = E;
    c->router[layer] = modex_xmalloc(sizeof(float) * (size_t)T * E);
    memcpy(c->router[layer], lg, sizeof(float) * (size_t)T * E);
}

static void usage(FILE *f) {
    fprintf(f, "usage: modex forward PATH --ids ID,ID,... --out DIR [--threads N] [--force]\n\n"
               "Runs the model on the ids and writes raw little-endian float32 files into DIR:\n"
               "  logits.f32 [T, vocab] (causal LMs) or last_hidden_state.f32 [T, d_model] (encoders),\n"
               "  hidden.I.f32 [T, d_model] (I = 0 embeddings .. n_layer; the last after the final norm),\n"
               "  ffn_act.L.f32 [T, d_ff] (input of layer L's down projection; MoE: [T, experts*d_ff]),\n"
               "  router_logits.L.f32 [T, experts] (MoE layers).\n"
               "Existing files are refused unless --force; either every file is written or none.\n");
}

static int cmd_forward(int argc, char **argv) {
    const char *path = NULL, *ids_s = NULL, *out = NULL;
    int force = 0, threads = 0;
    for (int i = 1; i < argc; i++) {
        if (modex_is_help(argv[i])) { usage(stdout); return 0; }
        else if (!strcmp(argv[i], "--ids") && i + 1 < argc) ids_s = argv[++i];
        else if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--force")) force = 1;
        else if (argv[i][0] != '-' && !path) path = argv[i];
        else { fprintf(stderr, "modex: forward: unknown argument '%s' (see modex forward --help)\n", argv[i]); return 2; }
    }
    if (!path || !ids_s || !out) { usage(stderr); return 2; }
    modex_set_threads(threads);
    int64_t *v;
    int n = modex_parse_ints(ids_s, &v);
    if (n <= 0) { fprintf(stderr, "modex: --ids: '%s' is not a list of token ids (e.g. 5,17,3)\n", ids_s); if (n == 0) free(v); return 2; }
    Error err = {0};
    Model *m = modex_model_open(path, &err);
    if (!m) { free(v); modex_error_print(&err); return 2; }
    int32_t *ids = modex_xmalloc(sizeof(int32_t) * (size_t)n);
    for (int i = 0; i < n; i++) {
        if (v[i] < 0 || v[i] >= m->cfg.vocab) {
            fprintf(stderr, "modex: --ids: id %lld at position %d is outside the vocabulary (0..%d)\n", (long long)v[i], i, m->cfg.vocab - 1);
            free(v); free(ids); modex_model_free(m); return 2;
        }
        ids[i] = (int32_t)v[i];
    }
    free(v);
    const ModelConfig *c = &m->cfg;
    int start[2] = {0, n};
    Batch b = {1, ids, start};
    Capture cap = {.n_layer = c->n_layer, .D = c->d_model, .T = n};
    cap.ffn = modex_xcalloc((size_t)c->n_layer, sizeof(float *));
    cap.hidden = modex_xcalloc((size_t)c->n_layer + 1, sizeof(float *));
    cap.router = modex_xcalloc((size_t)c->n_layer, sizeof(float *));
    ForwardHooks hk = {&cap, cap_ffn, cap_hidden, cap_router};
    ForwardOpts o = {.logits = LOGITS_ALL};
    int enc = !c->causal || !m->lm_head.w;
    size_t out_n = (size_t)n * (enc ? c->d_model : c->vocab);
    float *res = modex_xmalloc(sizeof(float) * out_n);
    int rc = modex_forward(m, &b, &o, &hk, res, &err);
    if (rc) { modex_error_print(&err); rc = 2; goto done; }
    if (!modex_path_is_dir(out) && mkdir(out, 0755) != 0) {
        fprintf(stderr, "modex: %s: cannot create the output folder\n", out); rc = 2; goto done;
    }
    /* write everything into temp files first, rename only when all succeeded */
    {
        int nf = 0, cap_files = 3 * c->n_layer + 2;
        OutFile *of = modex_xcalloc((size_t)cap_files, sizeof(OutFile));
        char name[64];
#define EMIT(NAME, PTR, COUNT) do { \
            char *p_ = modex_path_join(out, NAME); \
            if (modex_out_open(&of[nf], p_, force, &err) || fwrite(PTR, sizeof(float), COUNT, of[nf].f) != (COUNT)) { \
                free(p_); rc = 2; if (of[nf].f) modex_out_abort(&of[nf]); goto abort_all; } \
            free(p_); nf++; } while (0)
        EMIT(enc ? "last_hidden_state.f32" : "logits.f32", res, out_n);
        for (int i = 0; i <= c->n_layer; i++) if (cap.hidden[i]) { snprintf(name, sizeof name, "hidden.%d.f32", i); EMIT(name, cap.hidden[i], (size_t)n * c->d_model); }
        for (int l = 0; l < c->n_layer; l++) {
            if (cap.ffn[l]) { snprintf(name, sizeof name, "ffn_act.%d.f32", l); EMIT(name, cap.ffn[l], (size_t)n * cap.width); }
            if (cap.router[l]) { snprintf(name, sizeof name, "router_logits.%d.f32", l); EMIT(name, cap.router[l], (size_t)n * cap.E); }
        }
#undef EMIT
        for (int i = 0; i < nf; i++)
            if (modex_out_commit(&of[i], &err)) { rc = 2; for (int j = i + 1; j < nf; j++) modex_out_abort(&of[j]); break; }
        free(of);
        if (rc) modex_error_print(&err);
        goto done;
    abort_all:
        modex_error_print(&err);
        for (int i = 0; i < nf; i++) modex_out_abort(&of[i]);
        free(of);
    }
done:
    for (int l = 0; l < c->n_layer; l++) { free(cap.ffn[l]); free(cap.router[l]); }
    for (int i = 0; i <= c->n_layer; i++) free(cap.hidden[i]);
    free(cap.ffn); free(cap.hidden); free(cap.router); free(res); free(ids);
    modex_model_free(m);
    return rc;
}
MODEX_COMMAND(forward, "run a model on token ids and write its activations as float32 files", cmd_forward)
