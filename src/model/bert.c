/* bert.c — BERT encoder (BertModel, and the encoder of BertFor* files under "bert."): word +
 * learned position + token-type embeddings (type 0) with a LayerNorm, post-LayerNorm blocks,
 * bidirectional attention, exact erf GELU. The output is last_hidden_state (no pooler/head). */
#include "modex/model.h"
#include "modex/util.h"
#include <stdio.h>
#include <string.h>

// --- config --------------------------------------------------------------------------------

static int config_hf(Model *m, void *root, const char *path, Error *err) {
    ModelConfig *c = &m->cfg;
    snprintf(c->family, sizeof c->family, "BERT");
    c->d_model = (int)modex_cfg_int(root, "hidden_size", 768);
    c->d_ff = (int)modex_cfg_int(root, "intermediate_size", 3072);
    c->n_layer = (int)modex_cfg_int(root, "num_hidden_layers", 12);
    c->n_head = (int)modex_cfg_int(root, "num_attention_heads", 12);
    c->vocab = (int)modex_cfg_int(root, "vocab_size", 30522);
    c->max_pos = (int)modex_cfg_int(root, "max_position_embeddings", 512);
    c->type_vocab = (int)modex_cfg_int(root, "type_vocab_size", 2);
    c->norm_eps = (float)modex_cfg_num(root, "layer_norm_eps", 1e-12);
    const char *act = modex_cfg_str(root, "hidden_act");
    if (!act) act = "gelu";
    if (modex_act_parse(act, &c->act)) return modex_error(err, path, "hidden_act \"%s\" is not supported (gelu, gelu_new, relu, silu)", act);
    const char *pe = modex_cfg_str(root, "position_embedding_type");
    if (pe && strcmp(pe, "absolute"))
        return modex_error(err, path, "position_embedding_type \"%s\" is not supported (\"absolute\")", pe);
    if (modex_cfg_bool(root, "is_decoder", 0))
        return modex_error(err, path, "is_decoder true is not supported (BERT runs as a bidirectional encoder)");
    if (c->type_vocab < 1) return modex_error(err, path, "type_vocab_size %d is not supported (at least 1)", c->type_vocab);
    c->norm = NORM_LAYER;
    c->post_norm = 1;
    c->learned_pos = 1;
    c->causal = 0;
    return 0;
}

// --- weights -------------------------------------------------------------------------------

/* LayerNorm under base: ".weight"/".bias", or the TF-converted ".gamma"/".beta". */
static int layer_norm(Model *m, Norm *n, const char *base, int D, Error *err) {
    char w[240], b[240];
    snprintf(w, sizeof w, "%s.weight", base);
    snprintf(b, sizeof b, "%s.bias", base);
    if (!modex_model_has(m, w)) {
        char g[240], be[240];
        snprintf(g, sizeof g, "%s.gamma", base);
        snprintf(be, sizeof be, "%s.beta", base);
        if (modex_model_has(m, g)) return modex_model_norm(m, n, g, be, D, err);
    }
    return modex_model_norm(m, n, w, b, D, err);
}

static int bind(Model *m, Error *err) {
    ModelConfig *c = &m->cfg;
    int D = c->d_model, F = c->d_ff, V = c->vocab;
    const char *pre = modex_model_has(m, "bert.embeddings.word_embeddings.weight") ? "bert." : "";
    char n1[200], n2[200];
#define NM(buf, ...) snprintf(buf, sizeof buf, __VA_ARGS__)
    int64_t se[2] = {V, D}, sp[2] = {c->max_pos, D}, st[2] = {c->type_vocab, D};
    NM(n1, "%sembeddings.word_embeddings.weight", pre);
    if (!(m->tok_emb = modex_model_tensor(m, n1, 2, se, err))) return -1;
    NM(n1, "%sembeddings.position_embeddings.weight", pre);
    if (!(m->pos_emb = modex_model_tensor(m, n1, 2, sp, err))) return -1;
    NM(n1, "%sembeddings.token_type_embeddings.weight", pre);
    if (!(m->type_emb = modex_model_tensor(m, n1, 2, st, err))) return -1;
    NM(n1, "%sembeddings.LayerNorm", pre);
    if (layer_norm(m, &m->emb_norm, n1, D, err)) return -1;
    m->qkv_layout = QKV_SEPARATE;
    m->layers = modex_xcalloc((size_t)c->n_layer, sizeof *m->layers);
    for (int l = 0; l < c->n_layer; l++) {
        LayerWeights *L = &m->layers[l];
        struct { Linear *lin; const char *name; int in, out; } lins[] = {
            {&L->q, "attention.self.query", D, D}, {&L->k, "attention.self.key", D, D},
            {&L->v, "attention.self.value", D, D}, {&L->o, "attention.output.dense", D, D},
            {&L->up, "intermediate.dense", D, F}, {&L->down, "output.dense", F, D}};
        for (int i = 0; i < 6; i++) {
            NM(n1, "%sencoder.layer.%d.%s.weight", pre, l, lins[i].name);
            NM(n2, "%sencoder.layer.%d.%s.bias", pre, l, lins[i].name);
            if (modex_model_linear(m, lins[i].lin, n1, n2, lins[i].in, lins[i].out, 0, err)) return -1;
        }
        NM(n1, "%sencoder.layer.%d.attention.output.LayerNorm", pre, l);
        if (layer_norm(m, &L->attn_norm, n1, D, err)) return -1;
        NM(n1, "%sencoder.layer.%d.output.LayerNorm", pre, l);
        if (layer_norm(m, &L->ffn_norm, n1, D, err)) return -1;
    }
#undef NM
    return 0;
}

static const char *const types[] = {"bert", NULL};
static const char *const classes[] = {"BertModel", "BertForMaskedLM", "BertForPreTraining", "BertForSequenceClassification", NULL};
static const ArchDef bert = {"bert", types, classes, NULL, config_hf, NULL, bind};
MODEX_ARCH(bert)
