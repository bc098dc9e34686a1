/* bench_rss.c — peak RSS of a forward on a ~1 GiB F32 GPT-2 model file: the weights are
 * mapped, not copied, so the peak stays near the file size plus activations. The file is
 * written to $TMPDIR, measured in a child process, and removed. */
#include "modex/bench.h"
#include "modex/cli.h"
#include "modex/forward.h"
#include "modex/safetensors.h"
#include "modex/util.h"
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static int write_model(const char *dir, const Model *m, Error *err) {
    const ModelConfig *c = &m->cfg;
    int D = c->d_model, F = c->d_ff, n = 0;
    StWriteTensor *t = calloc((size_t)(4 + 12 * c->n_layer), sizeof *t);
    char (*names)[64] = calloc((size_t)(4 + 12 * c->n_layer), 64);
#define ADD(NAME, PTR, ND, S0, S1) do { snprintf(names[n], 64, "%s", NAME); t[n] = (StWriteTensor){names[n], DT_F32, ND, {S0, S1}, PTR}; n++; } while (0)
    ADD("wte.weight", m->tok_emb, 2, c->vocab, D);
    ADD("wpe.weight", m->pos_emb, 2, c->max_pos, D);
    ADD("ln_f.weight", m->final_norm.w, 1, D, 0);
    ADD("ln_f.bias", m->final_norm.b, 1, D, 0);
    char nm[64];
    for (int l = 0; l < c->n_layer; l++) {
        const LayerWeights *L = &m->layers[l];
#define LADD(SUF, PTR, ND, S0, S1) do { snprintf(nm, sizeof nm, "h.%d.%s", l, SUF); ADD(nm, PTR, ND, S0, S1); } while (0)
        LADD("ln_1.weight", L->attn_norm.w, 1, D, 0); LADD("ln_1.bias", L->attn_norm.b, 1, D, 0);
        LADD("ln_2.weight", L->ffn_norm.w, 1, D, 0); LADD("ln_2.bias", L->ffn_norm.b, 1, D, 0);
        LADD("attn.c_attn.weight", L->qkv.w, 2, D, 3 * D); LADD("attn.c_attn.bias", L->qkv.b, 1, 3 * D, 0);
        LADD("attn.c_proj.weight", L->o.w, 2, D, D); LADD("attn.c_proj.bias", L->o.b, 1, D, 0);
        LADD("mlp.c_fc.weight", L->up.w, 2, D, F); LADD("mlp.c_fc.bias", L->up.b, 1, F, 0);
        LADD("mlp.c_proj.weight", L->down.w, 2, F, D); LADD("mlp.c_proj.bias", L->down.b, 1, D, 0);
#undef LADD
    }
#undef ADD
    char *p = modex_path_join(dir, "model.safetensors");
    int rc = modex_st_write(p, t, n, NULL, 1, err);
    free(p);
    if (!rc) {
        char cfg[512];
        int k = snprintf(cfg, sizeof cfg, "{\"model_type\": \"gpt2\", \"n_embd\": %d, \"n_layer\": %d, \"n_head\": %d, \"n_inner\": %d,"
                                          " \"n_positions\": %d, \"vocab_size\": %d, \"activation_function\": \"gelu_new\"}\n",
                         D, c->n_layer, c->n_head, F, c->max_pos, c->vocab);
        p = modex_path_join(dir, "config.json");
        rc = modex_write_file(p, cfg, (size_t)k, 1, err);
        free(p);
    }
    free(t); free(names);
    return rc;
}

static int bench_rss(FILE *out) {
    ModelConfig c = {0};
    c.n_layer = 6; c.d_model = 1536; c.n_head = 12; c.d_ff = 6144; c.vocab = 50257; c.max_pos = 1024;
    c.causal = 1; c.norm = NORM_LAYER; c.norm_eps = 1e-5f; c.act = ACT_GELU_TANH; c.learned_pos = 1; c.tie_embeddings = 1;
    char dir[] = "/tmp/modex-rss-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    Error err;
    Model *m = modex_model_synthetic(&c, QKV_CONCAT, 1, 3);
    int rc = write_model(dir, m, &err);
    modex_model_free(m);
    char *st = modex_path_join(dir, "model.safetensors"), *cf = modex_path_join(dir, "config.json");
    if (rc) { fprintf(out, "| peak RSS | failed: %s | | |\n", err.msg); goto done; }
    size_t fsize = 0;
    { FILE *f = fopen(st, "rb"); if (f) { fseek(f, 0, SEEK_END); fsize = (size_t)ftell(f); fclose(f); } }
    /* measured in a fresh process (fork() would inherit BLAS threads in a bad state) */
    pid_t pid = fork();
    if (pid == 0) {
        char *args[] = {(char *)"modex", (char *)"_rss_child", dir, NULL};
        execv("/proc/self/exe", args);
        _exit(5);
    }
    int status = 0;
    struct rusage ru;
    wait4(pid, &status, 0, &ru);
    double rss = (double)ru.ru_maxrss * 1024.0, act = 512.0 * (4.0 * c.d_model + 4.0 * c.d_ff + 6.0 * c.d_model) * 4.0;
    if (!WIFEXITED(status) || WEXITSTATUS(status)) fprintf(out, "| peak RSS | child failed (%d) | | |\n", status);
    else
        fprintf(out, "| peak RSS, forward 4×128 on a %.2f GiB F32 file | %.2f GiB | 1.2 GiB + activations (%.2f GiB) | %.0f%% of file |\n",
                fsize / 1073741824.0, rss / 1073741824.0, act / 1073741824.0, 100.0 * rss / (double)fsize);
done:
    unlink(st); unlink(cf); rmdir(dir);
    free(st); free(cf);
    return 0;
}
MODEX_BENCH(rss, bench_rss)

/* `modex _rss_child DIR`: open the model in DIR and run one 4×128 forward (for bench_rss). */
static int rss_child(int argc, char **argv) {
    if (argc != 2) return 2;
    Error e2;
    Model *mm = modex_model_open(argv[1], &e2);
    if (!mm) { modex_error_print(&e2); return 3; }
    int T = 512, start[5] = {0, 128, 256, 384, 512};
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)T);
    for (int i = 0; i < T; i++) ids[i] = (int32_t)(i * 7919 % mm->cfg.vocab);
    Batch b = {4, ids, start};
    ForwardOpts o = {.logits = LOGITS_NONE};
    int rc = modex_forward(mm, &b, &o, NULL, NULL, &e2) ? 4 : 0;
    free(ids);
    modex_model_free(mm);
    return rc;
}
MODEX_COMMAND(_rss_child, "internal: peak-RSS benchmark child", rss_child)
