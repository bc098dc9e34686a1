/* bench_interv.c — `modex bench` rows of the interventions: one expert masked with and without
 * reuse of the clean run's cached hidden states, and a routing curve (routing.h). */
#include "modex/bench.h"
#include "modex/forward.h"
#include "modex/routing.h"
#include "modex/util.h"
#include <stdlib.h>
#include <string.h>

static const char *adj[] = {"old", "small", "bright", "quiet", "heavy", "green", "strange", "happy"};
static const char *noun[] = {"dog", "cat", "horse", "bird", "hammer", "table", "spoon", "wheel"};
static const char *place[] = {"river", "kitchen", "market", "garden", "station", "bridge", "school", "forest"};
static const char *country[] = {"France", "Italy", "Spain", "Japan", "Egypt", "Peru", "Kenya", "Chile"};
static const char *capital[] = {" Paris", " Rome", " Madrid", " Tokyo", " Cairo", " Lima", " Nairobi", " Santiago"};

/* n texts: half "The ADJ NOUN waited near the PLACE for the ADJ NOUN." (animal_vs_tool),
 * half "In the story, the capital of COUNTRY is" with the capital as answer. */
static char *make_probe(int n, size_t *len) {
    size_t cap = (size_t)n * 160 + 256, o = 0;
    char *b = modex_xmalloc(cap);
    o += (size_t)snprintf(b + o, cap - o, "text,function,subfunction,label,answer\n");
    for (int i = 0; i < n; i++) {
        if (i % 2 == 0) {
            int a = i % 8, k = (i / 2) % 8, p = (i / 16) % 8, a2 = (i / 3) % 8, k2 = (i / 5) % 8;
            o += (size_t)snprintf(b + o, cap - o, "The %s %s waited near the %s for the %s %s %d.,semantic,animal_vs_tool,%d,\n",
                                  adj[a], noun[k], place[p], adj[a2], noun[k2], i, k < 4);
        } else {
            int c = (i / 2) % 8;
            o += (size_t)snprintf(b + o, cap - o, "In story %d the capital of %s is,knowledge,capital,%d,%s\n", i, country[c], c < 4, capital[c]);
        }
    }
    *len = o;
    return b;
}

static const char *find_tokenizer(void) {
    static char buf[1024];
    const char *env = getenv("MODEX_FIXTURES");
    if (env) {
        snprintf(buf, sizeof buf, "%s/tokenizers/gpt2-bpe", env);
        if (modex_path_is_dir(buf)) return buf;
    }
    if (modex_path_is_dir("../shared/fixtures/tokenizers/gpt2-bpe")) return "../shared/fixtures/tokenizers/gpt2-bpe";
    return NULL;
}

int modex_bench_interv_config(FILE *out, const ModelConfig *cfg, int n_texts, const char *label) {
    const char *tp = find_tokenizer();
    if (!tp) { fprintf(out, "| perturbation / routing | skipped: no GPT-2 tokenizer fixture | | |\n"); return -1; }
    Error err = {0};
    Tokenizer *t = modex_tok_load(tp, &err);
    if (!t) { fprintf(out, "| perturbation / routing | skipped: %s | | |\n", err.msg); return -1; }
    size_t len;
    char *csv = make_probe(n_texts, &len);
    Probe p;
    if (modex_probe_parse(&p, "(bench probe)", csv, len, &err)) {
        fprintf(out, "| perturbation / routing | failed: %s | | |\n", err.msg);
        free(csv); modex_tok_free(t);
        return -1;
    }
    free(csv);
    Model *m = modex_model_synthetic(cfg, QKV_CONCAT, 1, 7);
    int L = cfg->n_layer, F = cfg->d_ff, E = F / 32, layer = L * 3 / 4;
    Perturber *pt = modex_perturber_new(m, t, &p, &err), *full = modex_perturber_new(m, t, &p, &err);
    modex_perturber_set_reuse(full, 0);
    PerturbResult r = {0};
    double t0 = modex_now();
    modex_perturber_clean(pt, &r, NULL, NULL, &err);
    double t_clean = modex_now() - t0;
    modex_perturb_result_free(&r);
    modex_perturber_clean(full, &r, NULL, NULL, &err);
    modex_perturb_result_free(&r);
    PerturbMask k;
    modex_mask_init(&k, m);
    int *assign = modex_xmalloc(sizeof(int) * (size_t)F);
    for (int j = 0; j < F; j++) assign[j] = j % E; /* the timing does not depend on which neurons */
    modex_mask_set_expert(&k, layer, assign, 0, 1);
    t0 = modex_now();
    modex_perturber_eval(pt, &k, PERTURB_ZERO, 0, &r, NULL, NULL, &err);
    double t_reuse = modex_now() - t0;
    modex_perturb_result_free(&r);
    t0 = modex_now();
    modex_perturber_eval(full, &k, PERTURB_ZERO, 0, &r, NULL, NULL, &err);
    double t_full = modex_now() - t0;
    modex_perturb_result_free(&r);
    int N = modex_perturber_n_tokens(pt);
    fprintf(out, "| perturb 1 expert (32 of %d neurons, layer %d of %d), %s, %d texts / %d tokens | %.2f s reusing layers < %d | %.2f s from the embeddings (clean run with cache %.2f s) | %.1fx |\n",
            F, layer, L, label, n_texts, N, t_reuse, layer, t_full, t_clean, t_full / t_reuse);
    /* routing curve: ground truth on the upper half of the layers, k = 1, 2, 4, ... E */
    int **al = modex_xcalloc((size_t)L, sizeof(int *));
    for (int l = L / 2; l < L; l++) al[l] = assign;
    Router *ro = modex_router_new(m, (const int *const *)al, E, &err);
    int npts = 0;
    t0 = modex_now();
    for (int kk = 1;; kk = kk * 2 < E ? kk * 2 : (kk == E ? 0 : E)) {
        if (!kk) break;
        double me;
        modex_route_eval(pt, ro, ROUTE_GT, kk, &me, &r, NULL, NULL, &err);
        modex_perturb_result_free(&r);
        npts++;
    }
    double t_curve = modex_now() - t0;
    fprintf(out, "| routing curve (ground truth, %d experts, layers %d-%d, %d values of k), %s | %.2f s (%.2f s a point) | 1-expert perturbation at layer %d: %.2f s | %.2f |\n",
            E, L / 2, L - 1, npts, label, t_curve, t_curve / npts, layer, t_reuse, t_curve / npts / t_reuse);
    modex_router_free(ro);
    free(al); free(assign);
    modex_mask_free(&k);
    modex_perturber_free(pt); modex_perturber_free(full);
    modex_model_free(m);
    modex_probe_free(&p);
    modex_tok_free(t);
    return 0;
}

int modex_bench_interv(FILE *out) {
    ModelConfig c = {0};
    c.n_layer = 12; c.d_model = 768; c.n_head = 12; c.d_ff = 3072; c.vocab = 50257; c.max_pos = 1024;
    c.causal = 1; c.norm = NORM_LAYER; c.norm_eps = 1e-5f; c.act = ACT_GELU_TANH; c.learned_pos = 1; c.tie_embeddings = 1;
    return modex_bench_interv_config(out, &c, 256, "GPT-2-small shape");
}
MODEX_BENCH(interv, modex_bench_interv)
