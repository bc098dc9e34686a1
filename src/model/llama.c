/* llama.c — Llama and its variants (Mistral, Qwen2): RMSNorm, RoPE (rotate-half for HF
 * weights, interleaved for GGUF's permuted Q/K), grouped-query attention, SwiGLU. */
#include "modex/model.h"
#include "modex/util.h"
#include <jansson.h>
#include <stdio.h>
#include <string.h>

static int config_hf(Model *m, void *root, const char *path, Error *err) {
    ModelConfig *c = &m->cfg;
    const char *mt = modex_cfg_str(root, "model_type");
    int qwen = mt && !strcmp(mt, "qwen2"), mistral = mt && !strcmp(mt, "mistral");
    snprintf(c->family, sizeof c->family, "%s", qwen ? "Qwen2" : mistral ? "Mistral" : "Llama");
    c->d_model = (int)modex_cfg_int(root, "hidden_size", 4096);
    c->d_ff = (int)modex_cfg_int(root, "intermediate_size", 11008);
    c->n_layer = (int)modex_cfg_int(root, "num_hidden_layers", 32);
    c->n_head = (int)modex_cfg_int(root, "num_attention_heads", 32);
    c->n_kv_head = (int)modex_cfg_int(root, "num_key_value_heads", c->n_head);
    c->head_dim = (int)modex_cfg_int(root, "head_dim", 0);
    c->vocab = (int)modex_cfg_int(root, "vocab_size", 32000);
    c->max_pos = (int)modex_cfg_int(root, "max_position_embeddings", 2048);
    c->norm_eps = (float)modex_cfg_num(root, "rms_norm_eps", 1e-6);
    json_t *rp = json_object_get(root, "rope_parameters");
    json_t *rs = json_object_get(root, "rope_scaling");
    c->rope_theta = (float)modex_cfg_num(root, "rope_theta", json_is_object(rp) ? modex_cfg_num(rp, "rope_theta", 10000.0) : 10000.0);
    const char *rtype = json_is_object(rp) ? modex_cfg_str(rp, "rope_type") : NULL;
    if (json_is_object(rs)) {
        const char *t = modex_cfg_str(rs, "rope_type");
        if (!t) t = modex_cfg_str(rs, "type");
        if (t && strcmp(t, "default")) return modex_error(err, path, "rope_scaling type \"%s\" is not implemented (no scaling, or \"default\")", t);
    }
    if (rtype && strcmp(rtype, "default"))
        return modex_error(err, path, "rope_parameters.rope_type \"%s\" is not implemented (\"default\")", rtype);
    const char *act = modex_cfg_str(root, "hidden_act");
    if (act && strcmp(act, "silu") && strcmp(act, "swish")) return modex_error(err, path, "hidden_act \"%s\" is not supported (silu)", act);
    c->act = ACT_SILU;
    c->gated_ffn = 1;
    c->norm = NORM_RMS;
    c->rope = ROPE_HALF;
    c->causal = 1;
    c->tie_embeddings = modex_cfg_bool(root, "tie_word_embeddings", 0);
    c->rotary_dim = c->head_dim > 0 ? c->head_dim : (c->n_head > 0 ? c->d_model / c->n_head : 0);
    /* sliding window: Mistral and Mixtral apply it to every layer; Qwen2 only to some layers */
    if (qwen && modex_cfg_bool(root, "use_sliding_window", 0))
        return modex_error(err, path, "use_sliding_window true is not supported (false)");
    if (mistral || (mt && !strcmp(mt, "mixtral"))) c->sliding_window = (int)modex_cfg_int(root, "sliding_window", 0);
    if (c->sliding_window < 0) return modex_error(err, path, "sliding_window %d is not supported (null or positive)", c->sliding_window);
    if (modex_cfg_bool(root, "mlp_bias", 0)) return modex_error(err, path, "mlp_bias true is not supported (false)");
    return 0;
}

static int config_gguf(Model *m, Error *err) {
    ModelConfig *c = &m->cfg;
    const Gguf *g = &m->gguf;
    snprintf(c->family, sizeof c->family, "Llama");
    c->d_model = (int)modex_gguf_int(g, "llama.embedding_length", 0);
    c->d_ff = (int)modex_gguf_int(g, "llama.feed_forward_length", 0);
    c->n_layer = (int)modex_gguf_int(g, "llama.block_count", 0);
    c->n_head = (int)modex_gguf_int(g, "llama.attention.head_count", 0);
    c->n_kv_head = (int)modex_gguf_int(g, "llama.attention.head_count_kv", c->n_head);
    c->max_pos = (int)modex_gguf_int(g, "llama.context_length", 2048);
    c->norm_eps = (float)modex_gguf_float(g, "llama.attention.layer_norm_rms_epsilon", 1e-6);
    c->rope_theta = (float)modex_gguf_float(g, "llama.rope.freq_base", 10000.0);
    c->n_experts = (int)modex_gguf_int(g, "llama.expert_count", 0);
    c->top_k = (int)modex_gguf_int(g, "llama.expert_used_count", 0);
    if (c->n_head > 0) c->head_dim = (int)modex_gguf_int(g, "llama.attention.key_length", c->d_model / c->n_head);
    c->rotary_dim = (int)modex_gguf_int(g, "llama.rope.dimension_count", c->head_dim);
    const TensorView *e = modex_gguf_find(g, "token_embd.weight");
    if (!e || e->ndim != 2) return modex_error(err, m->weights_path, "tensor 'token_embd.weight' is missing (a [vocab, d_model] embedding)");
    c->vocab = (int)e->shape[0];
    c->act = ACT_SILU; c->gated_ffn = 1; c->norm = NORM_RMS; c->rope = ROPE_INTERLEAVED; c->causal = 1;
    c->tie_embeddings = !modex_gguf_find(g, "output.weight");
    if (c->n_experts > 0) snprintf(c->family, sizeof c->family, "Mixtral");
    return 0;
}

static int bind(Model *m, Error *err) {
    ModelConfig *c = &m->cfg;
    int D = c->d_model, F = c->d_ff, V = c->vocab, gg = m->is_gguf, H = c->n_head, Hkv = c->n_kv_head, Dh = c->head_dim;
    int qwen = !strcmp(c->family, "Qwen2");
    const char *pre = !gg && modex_model_has(m, "model.embed_tokens.weight") ? "model." : "";
    char n1[200], n2[200];
#define NM(buf, ...) snprintf(buf, sizeof buf, __VA_ARGS__)
    int64_t se[2] = {V, D};
    NM(n1, gg ? "token_embd.weight" : "%sembed_tokens.weight", pre);
    if (!(m->tok_emb = modex_model_tensor(m, n1, 2, se, err))) return -1;
    m->qkv_layout = QKV_SEPARATE;
    m->layers = modex_xcalloc((size_t)c->n_layer, sizeof *m->layers);
    for (int l = 0; l < c->n_layer; l++) {
        LayerWeights *L = &m->layers[l];
        if (gg) NM(n1, "blk.%d.attn_norm.weight", l); else NM(n1, "%slayers.%d.input_layernorm.weight", pre, l);
        if (modex_model_norm(m, &L->attn_norm, n1, NULL, D, err)) return -1;
        if (gg) NM(n1, "blk.%d.ffn_norm.weight", l); else NM(n1, "%slayers.%d.post_attention_layernorm.weight", pre, l);
        if (modex_model_norm(m, &L->ffn_norm, n1, NULL, D, err)) return -1;
        struct { Linear *lin; const char *hf, *gg; int in, out, bias; } lins[] = {
            {&L->q, "self_attn.q_proj", "attn_q", D, H * Dh, 1}, {&L->k, "self_attn.k_proj", "attn_k", D, Hkv * Dh, 1},
            {&L->v, "self_attn.v_proj", "attn_v", D, Hkv * Dh, 1}, {&L->o, "self_attn.o_proj", "attn_output", H * Dh, D, 1},
            {&L->gate, "mlp.gate_proj", "ffn_gate", D, F, 0}, {&L->up, "mlp.up_proj", "ffn_up", D, F, 0},
            {&L->down, "mlp.down_proj", "ffn_down", F, D, 0}};
        int nl = c->n_experts > 0 ? 4 : 7;
        for (int i = 0; i < nl; i++) {
            if (gg) { NM(n1, "blk.%d.%s.weight", l, lins[i].gg); NM(n2, "blk.%d.%s.bias", l, lins[i].gg); }
            else { NM(n1, "%slayers.%d.%s.weight", pre, l, lins[i].hf); NM(n2, "%slayers.%d.%s.bias", pre, l, lins[i].hf); }
            if (modex_model_linear(m, lins[i].lin, n1, lins[i].bias ? n2 : NULL, lins[i].in, lins[i].out, 0, err)) return -1;
            if (qwen && i < 3 && !lins[i].lin->b) return modex_error(err, m->weights_path, "tensor '%s' is missing (Qwen2 has q/k/v biases)", n2);
        }
        if (c->n_experts > 0 && gg) { /* GGUF stacked experts (HF experts: mixtral.c): blk.N.ffn_{gate,up,down}_exps [E, out, in] */
            int E = c->n_experts;
            int64_t sr[2] = {E, D}, sg[3] = {E, F, D}, sd[3] = {E, D, F};
            NM(n1, "blk.%d.ffn_gate_inp.weight", l);
            const float *r = modex_model_tensor(m, n1, 2, sr, err);
            if (!r) return -1;
            L->router = (Linear){.w = r, .in = D, .out = E, .ld = D};
            const float *st[3];
            const char *nm[3] = {"ffn_gate_exps", "ffn_up_exps", "ffn_down_exps"};
            for (int k = 0; k < 3; k++) {
                NM(n1, "blk.%d.%s.weight", l, nm[k]);
                if (!(st[k] = modex_model_tensor(m, n1, 3, k == 2 ? sd : sg, err))) return -1;
            }
            L->e_gate = modex_xcalloc((size_t)E, sizeof(Linear));
            L->e_up = modex_xcalloc((size_t)E, sizeof(Linear));
            L->e_down = modex_xcalloc((size_t)E, sizeof(Linear));
            for (int e = 0; e < E; e++) {
                L->e_gate[e] = (Linear){.w = st[0] + (size_t)e * F * D, .in = D, .out = F, .ld = D};
                L->e_up[e] = (Linear){.w = st[1] + (size_t)e * F * D, .in = D, .out = F, .ld = D};
                L->e_down[e] = (Linear){.w = st[2] + (size_t)e * D * F, .in = F, .out = D, .ld = F};
            }
        }
    }
    NM(n1, gg ? "output_norm.weight" : "%snorm.weight", pre);
    if (modex_model_norm(m, &m->final_norm, n1, NULL, D, err)) return -1;
    const char *head = gg ? "output.weight" : "lm_head.weight";
    if (modex_model_has(m, head) && !c->tie_embeddings) {
        if (modex_model_linear(m, &m->lm_head, head, NULL, D, V, 0, err)) return -1;
    } else if (!c->tie_embeddings && !gg) {
        return modex_error(err, m->weights_path, "tensor 'lm_head.weight' is missing (tie_word_embeddings is false)");
    } else {
        m->lm_head = (Linear){.w = m->tok_emb, .in = D, .out = V, .ld = D, .trans = 0};
        c->tie_embeddings = 1;
    }
#undef NM
    return 0;
}

static const char *const types[] = {"llama", "mistral", "qwen2", NULL};
static const char *const classes[] = {"LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", NULL};
static const ArchDef llama = {"llama", types, classes, "llama", config_hf, config_gguf, bind};
MODEX_ARCH(llama)
