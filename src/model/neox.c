/* neox.c — GPT-NeoX / Pythia: fused query_key_value laid out per head (H, 3, Dh), partial
 * rotary (rotate-half over the first rotary_pct of each head), LayerNorm with biases, parallel
 * or sequential residual, untied embed_out. Reads both the old (rotary_pct, rotary_emb_base)
 * and the transformers 5 (rope_parameters) config forms. */
#include "modex/model.h"
#include "modex/util.h"
#include <jansson.h>
#include <stdio.h>
#include <string.h>

// --- config --------------------------------------------------------------------------------

static int config_hf(Model *m, void *root, const char *path, Error *err) {
    ModelConfig *c = &m->cfg;
    snprintf(c->family, sizeof c->family, "GPT-NeoX");
    c->d_model = (int)modex_cfg_int(root, "hidden_size", 6144);
    c->d_ff = (int)modex_cfg_int(root, "intermediate_size", 4 * c->d_model);
    c->n_layer = (int)modex_cfg_int(root, "num_hidden_layers", 44);
    c->n_head = (int)modex_cfg_int(root, "num_attention_heads", 64);
    c->vocab = (int)modex_cfg_int(root, "vocab_size", 50432);
    c->max_pos = (int)modex_cfg_int(root, "max_position_embeddings", 2048);
    c->norm_eps = (float)modex_cfg_num(root, "layer_norm_eps", 1e-5);
    json_t *rp = json_object_get(root, "rope_parameters");
    json_t *rs = json_object_get(root, "rope_scaling");
    if (json_is_object(rs)) {
        const char *t = modex_cfg_str(rs, "rope_type");
        if (!t) t = modex_cfg_str(rs, "type");
        if (!t || strcmp(t, "default"))
            return modex_error(err, path, "rope_scaling type \"%s\" is not implemented (no scaling, or \"default\")", t ? t : "(none)");
    }
    const char *rtype = json_is_object(rp) ? modex_cfg_str(rp, "rope_type") : NULL;
    if (rtype && strcmp(rtype, "default"))
        return modex_error(err, path, "rope_parameters.rope_type \"%s\" is not implemented (\"default\")", rtype);
    /* rotary fraction and base: newest form first, then the older top-level keys */
    double pct = 0.25, base = 10000.0;
    if (json_is_object(rp)) {
        pct = modex_cfg_num(rp, "partial_rotary_factor", pct);
        base = modex_cfg_num(rp, "rope_theta", base);
    }
    pct = modex_cfg_num(root, "partial_rotary_factor", modex_cfg_num(root, "rotary_pct", pct));
    base = modex_cfg_num(root, "rope_theta", modex_cfg_num(root, "rotary_emb_base", base));
    if (!(pct > 0 && pct <= 1)) return modex_error(err, path, "rotary_pct %g is out of range (0 < rotary_pct <= 1)", pct);
    c->rope_theta = (float)base;
    c->rope = ROPE_HALF;
    const char *act = modex_cfg_str(root, "hidden_act");
    if (!act) act = "gelu";
    if (modex_act_parse(act, &c->act)) return modex_error(err, path, "hidden_act \"%s\" is not supported (gelu, gelu_new, gelu_fast, relu, silu)", act);
    c->parallel_residual = modex_cfg_bool(root, "use_parallel_residual", 1);
    c->tie_embeddings = modex_cfg_bool(root, "tie_word_embeddings", 0);
    c->norm = NORM_LAYER;
    c->causal = 1;
    if (c->n_head > 0 && c->d_model % c->n_head == 0) {
        c->head_dim = c->d_model / c->n_head;
        c->rotary_dim = (int)(c->head_dim * pct); /* int(head_size * rotary_pct), as transformers */
    }
    return 0;
}

/* llama.cpp's "gptneox" GGUF: the same model; hidden_act is not stored (Pythia's exact gelu). */
static int config_gguf(Model *m, Error *err) {
    ModelConfig *c = &m->cfg;
    const Gguf *g = &m->gguf;
    snprintf(c->family, sizeof c->family, "GPT-NeoX");
    c->d_model = (int)modex_gguf_int(g, "gptneox.embedding_length", 0);
    c->d_ff = (int)modex_gguf_int(g, "gptneox.feed_forward_length", 4 * c->d_model);
    c->n_layer = (int)modex_gguf_int(g, "gptneox.block_count", 0);
    c->n_head = (int)modex_gguf_int(g, "gptneox.attention.head_count", 0);
    c->max_pos = (int)modex_gguf_int(g, "gptneox.context_length", 2048);
    c->norm_eps = (float)modex_gguf_float(g, "gptneox.attention.layer_norm_epsilon", 1e-5);
    c->rope_theta = (float)modex_gguf_float(g, "gptneox.rope.freq_base", 10000.0);
    c->parallel_residual = (int)modex_gguf_int(g, "gptneox.use_parallel_residual", 1);
    if (c->n_head > 0 && c->d_model % c->n_head == 0) c->head_dim = c->d_model / c->n_head;
    c->rotary_dim = (int)modex_gguf_int(g, "gptneox.rope.dimension_count", c->head_dim / 4);
    const TensorView *e = modex_gguf_find(g, "token_embd.weight");
    if (!e || e->ndim != 2) return modex_error(err, m->weights_path, "tensor 'token_embd.weight' is missing (a [vocab, d_model] embedding)");
    c->vocab = (int)e->shape[0];
    c->act = ACT_GELU_ERF; c->norm = NORM_LAYER; c->rope = ROPE_HALF; c->causal = 1;
    c->tie_embeddings = !modex_gguf_find(g, "output.weight");
    return 0;
}

// --- weights -------------------------------------------------------------------------------

static int bind(Model *m, Error *err) {
    ModelConfig *c = &m->cfg;
    int D = c->d_model, F = c->d_ff, V = c->vocab, gg = m->is_gguf;
    const char *pre = !gg && modex_model_has(m, "gpt_neox.embed_in.weight") ? "gpt_neox." : "";
    char n1[200], n2[200];
#define NM(buf, ...) snprintf(buf, sizeof buf, __VA_ARGS__)
    int64_t se[2] = {V, D};
    NM(n1, gg ? "token_embd.weight" : "%sembed_in.weight", pre);
    if (!(m->tok_emb = modex_model_tensor(m, n1, 2, se, err))) return -1;
    /* HF keeps query_key_value per head (H, 3, Dh); llama.cpp's converter reorders it to q|k|v */
    m->qkv_layout = gg ? QKV_CONCAT : QKV_PER_HEAD;
    m->layers = modex_xcalloc((size_t)c->n_layer, sizeof *m->layers);
    for (int l = 0; l < c->n_layer; l++) {
        LayerWeights *L = &m->layers[l];
        struct { Norm *n; const char *hf, *gg; } norms[] = {{&L->attn_norm, "input_layernorm", "attn_norm"},
                                                           {&L->ffn_norm, "post_attention_layernorm", "ffn_norm"}};
        for (int i = 0; i < 2; i++) {
            if (gg) { NM(n1, "blk.%d.%s.weight", l, norms[i].gg); NM(n2, "blk.%d.%s.bias", l, norms[i].gg); }
            else { NM(n1, "%slayers.%d.%s.weight", pre, l, norms[i].hf); NM(n2, "%slayers.%d.%s.bias", pre, l, norms[i].hf); }
            if (modex_model_norm(m, norms[i].n, n1, n2, D, err)) return -1;
        }
        struct { Linear *lin; const char *hf, *gg; int in, out; } lins[] = {
            {&L->qkv, "attention.query_key_value", "attn_qkv", D, 3 * D}, {&L->o, "attention.dense", "attn_output", D, D},
            {&L->up, "mlp.dense_h_to_4h", "ffn_up", D, F}, {&L->down, "mlp.dense_4h_to_h", "ffn_down", F, D}};
        for (int i = 0; i < 4; i++) {
            if (gg) { NM(n1, "blk.%d.%s.weight", l, lins[i].gg); NM(n2, "blk.%d.%s.bias", l, lins[i].gg); }
            else { NM(n1, "%slayers.%d.%s.weight", pre, l, lins[i].hf); NM(n2, "%slayers.%d.%s.bias", pre, l, lins[i].hf); }
            if (modex_model_linear(m, lins[i].lin, n1, n2, lins[i].in, lins[i].out, 0, err)) return -1;
        }
    }
    NM(n1, gg ? "output_norm.weight" : "%sfinal_layer_norm.weight", pre);
    NM(n2, gg ? "output_norm.bias" : "%sfinal_layer_norm.bias", pre);
    if (modex_model_norm(m, &m->final_norm, n1, n2, D, err)) return -1;
    const char *head = gg ? "output.weight" : "embed_out.weight";
    if (!c->tie_embeddings && modex_model_has(m, head)) {
        if (modex_model_linear(m, &m->lm_head, head, NULL, D, V, 0, err)) return -1;
    } else if (!c->tie_embeddings) {
        return modex_error(err, m->weights_path, "tensor '%s' is missing (tie_word_embeddings is false)", head);
    } else {
        m->lm_head = (Linear){.w = m->tok_emb, .in = D, .out = V, .ld = D, .trans = 0};
    }
#undef NM
    return 0;
}

static const char *const types[] = {"gpt_neox", NULL};
static const char *const classes[] = {"GPTNeoXForCausalLM", "GPTNeoXModel", NULL};
static const ArchDef neox = {"gpt_neox", types, classes, "gptneox", config_hf, config_gguf, bind};
MODEX_ARCH(neox)
