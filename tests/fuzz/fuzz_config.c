/* fuzz_config.c — libFuzzer harness for config.json and each architecture's config function.
 * The first input byte picks a fixture model whose weights (model.safetensors, linked) lie in
 * the folder; the rest is config.json. modex_model_open must fail with a message naming a
 * file of the folder, or give a model that runs a two-token forward without touching memory
 * it does not own. */
#include "fuzz_common.h"
#include "modex/forward.h"
#include "modex/model.h"

static const char *models[] = {
    "hf-models/gpt2", "hf-models/llama", "hf-models/qwen2", "hf-models/gpt_neox", "hf-models/bert",
    "hf-models/t5", "hf-models/mixtral", "models/gpt2", "models/llama", "probe-e2e/model",
};
enum { N_MODELS = sizeof models / sizeof *models };

static int fuzz_config(const uint8_t *d, size_t n) {
    static char dirs[N_MODELS][256];
    if (!dirs[0][0]) {
        /* map the weights instead of copying them in at every input (the same bytes either
         * way; the copy was most of a run's time, and the config is what is fuzzed) */
        setenv("MODEX_MAP_COPY_MAX", "0", 1);
        for (int i = 0; i < N_MODELS; i++) {
            char target[512], link[300], *abs;
            snprintf(dirs[i], sizeof dirs[i], "%s/m%d", fuzz_folder(), i);
            snprintf(target, sizeof target, "%s/%s/model.safetensors", fuzz_fixtures(), models[i]);
            if (mkdir(dirs[i], 0700) || !(abs = realpath(target, NULL))) { perror(target); abort(); }
            snprintf(link, sizeof link, "%s/model.safetensors", dirs[i]);
            if (symlink(abs, link)) { perror(link); abort(); }
            free(abs);
        }
    }
    if (n < 1) return 0;
    const char *dir = dirs[d[0] % N_MODELS];
    char cfg[300];
    snprintf(cfg, sizeof cfg, "m%d/config.json", d[0] % N_MODELS);
    fuzz_write(cfg, d + 1, n - 1, 0);
    Error err = {{0}};
    Model *m = modex_model_open(dir, &err);
    if (!m) {
        if (!strstr(err.msg, dir)) { fprintf(stderr, "bad error message: '%s'\n", err.msg); abort(); }
        return 0;
    }
    char desc[1024];
    modex_model_describe(m, desc, sizeof desc);
    free(modex_model_keys(m, m->cfg.n_layer - 1));
    int32_t ids[2] = {0, m->cfg.vocab - 1};
    int start[2] = {0, 2};
    Batch b = {1, ids, start};
    ForwardOpts o = {0};
    o.logits = LOGITS_ALL;
    size_t width = m->cfg.causal ? (size_t)m->cfg.vocab : (size_t)m->cfg.d_model;
    float *out = malloc(2 * width * sizeof *out);
    if (modex_forward(m, &b, &o, NULL, out, &err) < 0 && !err.msg[0]) abort();
    free(out);
    modex_model_free(m);
    return 1;
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { fuzz_config(d, n); return 0; }
#endif
