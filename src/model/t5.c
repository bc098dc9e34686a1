/* t5.c — the T5 encoder (T5EncoderModel, and the encoder half of T5Model /
 * T5ForConditionalGeneration files): bidirectional relative position buckets from layer 0's
 * relative_attention_bias shared by all layers, no 1/sqrt(d) scaling, RMS norm without mean
 * subtraction or bias, head_dim = d_kv (d_kv·heads may differ from d_model), ReLU FFN (wi/wo)
 * or gated FFN (wi_0 gate, wi_1 up) for T5 v1.1 / flan-t5 / mT5. */
#include "modex/model.h"
#include "modex/util.h"
#include <stdio.h>
#include <string.h>

// --- config --------------------------------------------------------------------------------

static int config_hf(Model *m, void *root, const char *path, Error *err) {
    ModelConfig *c = &m->cfg;
    const char *mt = modex_cfg_str(root, "model_type");
    snprintf(c->family, sizeof c->family, "%s encoder", mt && !strcmp(mt, "mt5") ? "mT5" : "T5");
    if (modex_cfg_bool(root, "is_decoder", 0))
        return modex_error(err, path, "is_decoder true is not supported (modex runs the T5 encoder only)");
    c->d_model = (int)modex_cfg_int(root, "d_model", 512);
    c->d_ff = (int)modex_cfg_int(root, "d_ff", 2048);
    c->head_dim = (int)modex_cfg_int(root, "d_kv", 64);
    c->n_head = (int)modex_cfg_int(root, "num_heads", 8);
    c->n_layer = (int)modex_cfg_int(root, "num_layers", 6);
    c->vocab = (int)modex_cfg_int(root, "vocab_size", 32128);
    c->max_pos = (int)modex_cfg_int(root, "n_positions", 512); /* informative: relative positions have no limit */
    c->norm_eps = (float)modex_cfg_num(root, "layer_norm_epsilon", 1e-6);
    c->t5_buckets = (int)modex_cfg_int(root, "relative_attention_num_buckets", 32);
    c->t5_max_distance = (int)modex_cfg_int(root, "relative_attention_max_distance", 128);
    if (c->t5_buckets < 4 || c->t5_max_distance < 2)
        return modex_error(err, path, "relative_attention_num_buckets %d / max_distance %d are not supported (at least 4 / 2)",
                           c->t5_buckets, c->t5_max_distance);
    /* feed_forward_proj is "ACT" or "gated-ACT"; "gated-gelu" means gelu_new (as transformers) */
    const char *ff = modex_cfg_str(root, "feed_forward_proj");
    if (!ff) ff = "relu";
    const char *act = ff;
    if (!strncmp(ff, "gated-", 6)) { c->gated_ffn = 1; act = ff + 6; }
    if (!strcmp(ff, "gated-gelu")) act = "gelu_new";
    if (strchr(act, '-') || modex_act_parse(act, &c->act))
        return modex_error(err, path, "feed_forward_proj \"%s\" is not supported (relu, gelu, gated-gelu, gated-relu, gated-silu)", ff);
    c->norm = NORM_RMS;
    c->no_attn_scale = 1;
    c->causal = 0;
    return 0;
}

// --- weights -------------------------------------------------------------------------------

static int bind(Model *m, Error *err) {
    ModelConfig *c = &m->cfg;
    int D = c->d_model, F = c->d_ff, V = c->vocab, I = c->n_head * c->head_dim;
    char n1[200];
#define NM(buf, ...) snprintf(buf, sizeof buf, __VA_ARGS__)
    int64_t se[2] = {V, D};
    const char *emb = modex_model_has(m, "encoder.embed_tokens.weight") ? "encoder.embed_tokens.weight" : "shared.weight";
    if (!(m->tok_emb = modex_model_tensor(m, emb, 2, se, err))) return -1;
    m->qkv_layout = QKV_SEPARATE;
    m->layers = modex_xcalloc((size_t)c->n_layer, sizeof *m->layers);
    for (int l = 0; l < c->n_layer; l++) {
        LayerWeights *L = &m->layers[l];
        NM(n1, "encoder.block.%d.layer.0.layer_norm.weight", l);
        if (modex_model_norm(m, &L->attn_norm, n1, NULL, D, err)) return -1;
        NM(n1, "encoder.block.%d.layer.1.layer_norm.weight", l);
        if (modex_model_norm(m, &L->ffn_norm, n1, NULL, D, err)) return -1;
        struct { Linear *lin; const char *name; int in, out; } lins[] = {
            {&L->q, "layer.0.SelfAttention.q", D, I}, {&L->k, "layer.0.SelfAttention.k", D, I},
            {&L->v, "layer.0.SelfAttention.v", D, I}, {&L->o, "layer.0.SelfAttention.o", I, D},
            {&L->down, "layer.1.DenseReluDense.wo", F, D},
            {c->gated_ffn ? &L->gate : &L->up, c->gated_ffn ? "layer.1.DenseReluDense.wi_0" : "layer.1.DenseReluDense.wi", D, F},
            {&L->up, "layer.1.DenseReluDense.wi_1", D, F}};
        for (int i = 0; i < (c->gated_ffn ? 7 : 6); i++) {
            NM(n1, "encoder.block.%d.%s.weight", l, lins[i].name);
            if (modex_model_linear(m, lins[i].lin, n1, NULL, lins[i].in, lins[i].out, 0, err)) return -1;
        }
    }
    int64_t sb[2] = {c->t5_buckets, c->n_head};
    if (!(m->layers[0].rel_bias = modex_model_tensor(m, "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", 2, sb, err)))
        return -1;
    if (modex_model_norm(m, &m->final_norm, "encoder.final_layer_norm.weight", NULL, D, err)) return -1;
#undef NM
    return 0;
}

static const char *const types[] = {"t5", "mt5", NULL};
static const char *const classes[] = {"T5EncoderModel", "T5ForConditionalGeneration", "T5Model", NULL};
static const ArchDef t5 = {"t5", types, classes, NULL, config_hf, NULL, bind};
MODEX_ARCH(t5)
