/* gpt2.c — GPT-2: learned positions, pre-LayerNorm, fused c_attn (Conv1D [in, out]),
 * gelu_new (or relu / exact gelu), tied head. GGUF: llama.cpp names, weights [out, in]. */
#include "modex/model.h"
#include "modex/util.h"
#include <stdio.h>
#include <string.h>

static int act_from(const char *s, Activation *a) {
    if (!s || !strcmp(s, "gelu_new") || !strcmp(s, "gelu_pytorch_tanh") || !strcmp(s, "gelu_fast")) *a = ACT_GELU_TANH;
    else if (!strcmp(s, "gelu")) *a = ACT_GELU_ERF;
    else if (!strcmp(s, "relu")) *a = ACT_RELU;
    else if (!strcmp(s, "silu") || !strcmp(s, "swish")) *a = ACT_SILU;
    else return -1;
    return 0;
}

static int config_hf(Model *m, void *root, const char *path, Error *err) {
    ModelConfig *c = &m->cfg;
    snprintf(c->family, sizeof c->family, "GPT-2");
    c->d_model = (int)modex_cfg_int(root, "n_embd", modex_cfg_int(root, "hidden_size", 768));
    c->n_layer = (int)modex_cfg_int(root, "n_layer", modex_cfg_int(root, "num_hidden_layers", 12));
    c->n_head = (int)modex_cfg_int(root, "n_head", modex_cfg_int(root, "num_attention_heads", 12));
    c->max_pos = (int)modex_cfg_int(root, "n_positions", modex_cfg_int(root, "n_ctx", 1024));
    c->d_ff = modex_cfg_has(root, "n_inner") ? (int)modex_cfg_int(root, "n_inner", 0) : 4 * c->d_model;
    c->vocab = (int)modex_cfg_int(root, "vocab_size", 50257);
    c->norm_eps = (float)modex_cfg_num(root, "layer_norm_epsilon", 1e-5);
    const char *act = modex_cfg_str(root, "activation_function");
    if (act_from(act, &c->act)) return modex_error(err, path, "activation_function \"%s\" is not supported (gelu_new, gelu, relu, silu)", act);
    if (modex_cfg_bool(root, "scale_attn_by_inverse_layer_idx", 0))
        return modex_error(err, path, "scale_attn_by_inverse_layer_idx true is not supported (false)");
    if (modex_cfg_bool(root, "reorder_and_upcast_attn", 0))
        return modex_error(err, path, "reorder_and_upcast_attn true is not supported (false)");
    c->no_attn_scale = !modex_cfg_bool(root, "scale_attn_weights", 1);
    c->causal = 1;
    c->norm = NORM_LAYER;
    c->learned_pos = 1;
    c->tie_embeddings = modex_cfg_bool(root, "tie_word_embeddings", 1);
    return 0;
}

static int config_gguf(Model *m, Error *err) {
    ModelConfig *c = &m->cfg;
    const Gguf *g = &m->gguf;
    snprintf(c->family, sizeof c->family, "GPT-2");
    c->d_model = (int)modex_gguf_int(g, "gpt2.embedding_length", 0);
    c->n_layer = (int)modex_gguf_int(g, "gpt2.block_count", 0);
    c->n_head = (int)modex_gguf_int(g, "gpt2.attention.head_count", 0);
    c->max_pos = (int)modex_gguf_int(g, "gpt2.context_length", 0);
    c->d_ff = (int)modex_gguf_int(g, "gpt2.feed_forward_length", 4 * c->d_model);
    c->norm_eps = (float)modex_gguf_float(g, "gpt2.attention.layer_norm_epsilon", 1e-5);
    const TensorView *e = modex_gguf_find(g, "token_embd.weight");
    if (!e || e->ndim != 2) return modex_error(err, m->weights_path, "tensor 'token_embd.weight' is missing (a [vocab, d_model] embedding)");
    c->vocab = (int)e->shape[0];
    c->act = ACT_GELU_TANH;
    c->causal = 1; c->norm = NORM_LAYER; c->learned_pos = 1;
    c->tie_embeddings = !modex_gguf_find(g, "output.weight");
    return 0;
}

static int bind(Model *m, Error *err) {
    const ModelConfig *c = &m->cfg;
    int D = c->d_model, F = c->d_ff, V = c->vocab, gg = m->is_gguf;
    const char *pre = !gg && modex_model_has(m, "transformer.wte.weight") ? "transformer." : "";
    char n1[160], n2[160];
#define NM(buf, ...) snprintf(buf, sizeof buf, __VA_ARGS__)
    int64_t se[2] = {V, D}, sp[2] = {c->max_pos, D};
    NM(n1, gg ? "token_embd.weight" : "%swte.weight", pre);
    if (!(m->tok_emb = modex_model_tensor(m, n1, 2, se, err))) return -1;
    NM(n1, gg ? "position_embd.weight" : "%swpe.weight", pre);
    if (!(m->pos_emb = modex_model_tensor(m, n1, 2, sp, err))) return -1;
    m->qkv_layout = QKV_CONCAT;
    m->layers = modex_xcalloc((size_t)c->n_layer, sizeof *m->layers);
    for (int l = 0; l < c->n_layer; l++) {
        LayerWeights *L = &m->layers[l];
        struct { Norm *n; const char *hf, *gg; } norms[] = {{&L->attn_norm, "ln_1", "attn_norm"}, {&L->ffn_norm, "ln_2", "ffn_norm"}};
        for (int i = 0; i < 2; i++) {
            if (gg) { NM(n1, "blk.%d.%s.weight", l, norms[i].gg); NM(n2, "blk.%d.%s.bias", l, norms[i].gg); }
            else { NM(n1, "%sh.%d.%s.weight", pre, l, norms[i].hf); NM(n2, "%sh.%d.%s.bias", pre, l, norms[i].hf); }
            if (modex_model_norm(m, norms[i].n, n1, n2, D, err)) return -1;
        }
        struct { Linear *lin; const char *hf, *gg; int in, out; } lins[] = {
            {&L->qkv, "attn.c_attn", "attn_qkv", D, 3 * D}, {&L->o, "attn.c_proj", "attn_output", D, D},
            {&L->up, "mlp.c_fc", "ffn_up", D, F}, {&L->down, "mlp.c_proj", "ffn_down", F, D}};
        for (int i = 0; i < 4; i++) {
            if (gg) { NM(n1, "blk.%d.%s.weight", l, lins[i].gg); NM(n2, "blk.%d.%s.bias", l, lins[i].gg); }
            else { NM(n1, "%sh.%d.%s.weight", pre, l, lins[i].hf); NM(n2, "%sh.%d.%s.bias", pre, l, lins[i].hf); }
            if (modex_model_linear(m, lins[i].lin, n1, n2, lins[i].in, lins[i].out, !gg, err)) return -1;
        }
    }
    NM(n1, gg ? "output_norm.weight" : "%sln_f.weight", pre);
    NM(n2, gg ? "output_norm.bias" : "%sln_f.bias", pre);
    if (modex_model_norm(m, &m->final_norm, n1, n2, D, err)) return -1;
    const char *head = gg ? "output.weight" : "lm_head.weight";
    if (!c->tie_embeddings && modex_model_has(m, head)) {
        if (modex_model_linear(m, &m->lm_head, head, NULL, D, V, 0, err)) return -1;
    } else {
        m->lm_head = (Linear){.w = m->tok_emb, .in = D, .out = V, .ld = D, .trans = 0};
        m->cfg.tie_embeddings = 1;
    }
#undef NM
    return 0;
}

static const char *const types[] = {"gpt2", NULL};
static const char *const classes[] = {"GPT2LMHeadModel", "GPT2Model", NULL};
static const ArchDef gpt2 = {"gpt2", types, classes, "gpt2", config_hf, config_gguf, bind};
MODEX_ARCH(gpt2)
