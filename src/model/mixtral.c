/* mixtral.c — Mixtral, a native MoE: Llama's attention and norms (config and binding shared
 * with llama.c) with a sparse FFN per layer: a softmax router over num_local_experts, the
 * num_experts_per_tok best with renormalised weights, SwiGLU experts (w1 gate, w3 up, w2 down).
 * Neurons of an MoE layer are numbered expert-major: expert e, unit j → e·d_ff + j. */
#include "modex/model.h"
#include "modex/util.h"
#include <stdio.h>
#include <string.h>

// --- config --------------------------------------------------------------------------------

static int config_hf(Model *m, void *root, const char *path, Error *err) {
    const ArchDef *llama = modex_arch_find("llama");
    if (!llama) return modex_error(err, path, "the llama binding is not registered (mixtral extends it)");
    if (llama->config_hf(m, root, path, err)) return -1;
    ModelConfig *c = &m->cfg;
    snprintf(c->family, sizeof c->family, "Mixtral");
    c->n_experts = (int)modex_cfg_int(root, "num_local_experts", 8);
    c->top_k = (int)modex_cfg_int(root, "num_experts_per_tok", 2);
    if (c->n_experts < 1 || c->n_experts > 256)
        return modex_error(err, path, "num_local_experts %d is not supported (1..256)", c->n_experts);
    if (c->top_k < 1 || c->top_k > c->n_experts)
        return modex_error(err, path, "num_experts_per_tok %d is not supported (1..num_local_experts %d)", c->top_k, c->n_experts);
    return 0;
}

// --- weights -------------------------------------------------------------------------------

static int bind(Model *m, Error *err) {
    const ArchDef *llama = modex_arch_find("llama");
    if (llama->bind(m, err)) return -1; /* embeddings, attention, norms, head */
    const ModelConfig *c = &m->cfg;
    int D = c->d_model, F = c->d_ff, E = c->n_experts;
    const char *pre = modex_model_has(m, "model.embed_tokens.weight") ? "model." : "";
    char n1[200];
#define NM(buf, ...) snprintf(buf, sizeof buf, __VA_ARGS__)
    for (int l = 0; l < c->n_layer; l++) {
        LayerWeights *L = &m->layers[l];
        NM(n1, "%slayers.%d.block_sparse_moe.gate.weight", pre, l);
        if (modex_model_linear(m, &L->router, n1, NULL, D, E, 0, err)) return -1;
        L->e_gate = modex_xcalloc((size_t)E, sizeof(Linear));
        L->e_up = modex_xcalloc((size_t)E, sizeof(Linear));
        L->e_down = modex_xcalloc((size_t)E, sizeof(Linear));
        for (int e = 0; e < E; e++) {
            NM(n1, "%slayers.%d.block_sparse_moe.experts.%d.w1.weight", pre, l, e);
            if (modex_model_linear(m, &L->e_gate[e], n1, NULL, D, F, 0, err)) return -1;
            NM(n1, "%slayers.%d.block_sparse_moe.experts.%d.w3.weight", pre, l, e);
            if (modex_model_linear(m, &L->e_up[e], n1, NULL, D, F, 0, err)) return -1;
            NM(n1, "%slayers.%d.block_sparse_moe.experts.%d.w2.weight", pre, l, e);
            if (modex_model_linear(m, &L->e_down[e], n1, NULL, F, D, 0, err)) return -1;
        }
    }
#undef NM
    return 0;
}

static const char *const types[] = {"mixtral", NULL};
static const char *const classes[] = {"MixtralForCausalLM", NULL};
static const ArchDef mixtral = {"mixtral", types, classes, NULL, config_hf, NULL, bind};
MODEX_ARCH(mixtral)
