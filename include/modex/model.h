/* model.h — one generic description of a Transformer that every architecture file binds.
 * Weights are float32: F32 tensors point straight into the read-only map (no copy); other
 * dtypes are converted once at load. Shape comments use PyTorch order. */
#ifndef MODEX_MODEL_H
#define MODEX_MODEL_H
#include <stdint.h>
#include <stdio.h>
#include "modex/error.h"
#include "modex/gguf.h"
#include "modex/safetensors.h"

typedef enum Activation { ACT_GELU_TANH, ACT_GELU_ERF, ACT_RELU, ACT_SILU } Activation;
typedef enum NormKind { NORM_LAYER, NORM_RMS } NormKind;
typedef enum RopeKind { ROPE_NONE, ROPE_HALF, ROPE_INTERLEAVED } RopeKind;
typedef enum QkvLayout { QKV_SEPARATE, QKV_CONCAT, QKV_PER_HEAD } QkvLayout;

/* y[T,out] = x[T,in] W + b. trans = 0: w stored [out, in] (nn.Linear); trans = 1: w stored
 * [in, out] (GPT-2 Conv1D). ld is the stored row length (in for trans 0, out for trans 1). */
typedef struct Linear {
    const float *w;
    const float *b; /* may be NULL */
    int in, out, ld, trans;
} Linear;

typedef struct Norm {
    const float *w; /* [D] */
    const float *b; /* [D] or NULL (RMS norms) */
} Norm;

typedef struct ModelConfig {
    char arch[32];        /* binding name: "gpt2", "llama", ... */
    char family[64];      /* what `modex info` prints */
    int n_layer, d_model, n_head, n_kv_head, head_dim, d_ff, vocab, max_pos;
    int causal;           /* 1 = decoder (causal mask, logits); 0 = encoder (last_hidden_state) */
    NormKind norm;
    float norm_eps;
    int post_norm;        /* BERT: x = norm(x + sublayer(x)) */
    int parallel_residual;/* GPT-NeoX: x + attn(ln1 x) + ffn(ln2 x) */
    Activation act;
    int gated_ffn;        /* act(gate x) * (up x) */
    RopeKind rope;
    float rope_theta;
    int rotary_dim;       /* dims per head that rotate (NeoX rotary_pct) */
    int learned_pos;      /* learned absolute positions */
    int pos_offset;       /* added to positions (0 for all families here) */
    int type_vocab;       /* BERT token types (type 0 is used) */
    int t5_buckets, t5_max_distance; /* T5 relative attention bias */
    int no_attn_scale;    /* T5: no 1/sqrt(d) */
    int sliding_window;   /* Mistral/Mixtral: a query sees the last this many keys (0 = all) */
    int tie_embeddings;
    int n_experts, top_k; /* native MoE (Mixtral); d_ff is per expert */
    float init_range;     /* initializer_range, for the random-init baseline */
    int bos_id, eos_id;
} ModelConfig;

typedef struct LayerWeights {
    Norm attn_norm, ffn_norm;  /* pre-norms; for post_norm models the norms after each sublayer */
    Linear qkv;                /* fused projection (layout QKV_CONCAT / QKV_PER_HEAD) */
    Linear q, k, v, o;
    Linear up, gate, down;     /* gate.w == NULL when not gated */
    const float *rel_bias;     /* T5: [buckets, H], layer 0 only (shared) */
    Linear router;             /* MoE: [E, D] */
    Linear *e_up, *e_gate, *e_down; /* MoE experts, arrays of n_experts */
} LayerWeights;

typedef struct Model {
    ModelConfig cfg;
    char *path;                /* what the user gave */
    char *weights_path;        /* the file errors should name */
    QkvLayout qkv_layout;
    const float *tok_emb;      /* [V, D] */
    const float *pos_emb;      /* [max_pos, D] or NULL */
    const float *type_emb;     /* [type_vocab, D] or NULL */
    Norm emb_norm;             /* BERT embedding LayerNorm (w NULL if none) */
    Norm final_norm;           /* w NULL if none */
    Linear lm_head;            /* w NULL for encoders */
    LayerWeights *layers;
    /* storage */
    int is_gguf;
    SafeTensors st;
    Gguf gguf;
    float **owned; int n_owned;  /* converted or generated tensors */
    int64_t n_params;
    size_t file_bytes;
    char dtypes[64];           /* e.g. "F32" or "BF16+F32" */
    int random_init;           /* weights generated, not loaded */
} Model;

/* path: a Hugging Face folder (config.json + safetensors) or a .gguf file. */
Model *modex_model_open(const char *path, Error *err);
/* The same architecture and shapes with fresh weights: N(0, init_range) matrices, norms 1,
 * biases 0 (the random-initialisation baseline). */
Model *modex_model_random_like(const Model *m, unsigned long long seed, Error *err);
void   modex_model_free(Model *m);
/* A model of the given configuration with N(0, init_range) weights, made in memory (benchmarks
 * and tests). bias: every linear layer gets a bias. */
Model *modex_model_synthetic(const ModelConfig *c, QkvLayout layout, int bias, unsigned long long seed);
/* Neuron keys of a layer (rows of W1, or of the gate projection): out [d_ff x D], malloc'd.
 * MoE layers: [n_experts*d_ff x D], expert-major (rows of each expert's gate). */
float *modex_model_keys(const Model *m, int layer);
/* One paragraph describing the model (for `modex info`). */
void   modex_model_describe(const Model *m, char *buf, size_t n);
/* `modex bench` rows: forward tokens/s and GFLOP/s per family at realistic shapes (random
 * weights, 4 x 128 tokens) next to cblas_sgemm on the same shapes. 0 ok, -1 if a row failed. */
int    modex_bench_archs(FILE *out);

// --- for architecture files (src/model/*.c) ------------------------------------------------
typedef struct ArchDef {
    const char *name;          /* binding name */
    const char *const *model_types;   /* config.json model_type values, NULL-terminated */
    const char *const *hf_classes;    /* config.json architectures[] values it takes */
    const char *gguf_arch;     /* general.architecture value, or NULL */
    /* fill m->cfg from config.json (root is a json_t *) */
    int (*config_hf)(Model *m, void *json_root, const char *cfg_path, Error *err);
    int (*config_gguf)(Model *m, Error *err);
    /* bind weights (after config) */
    int (*bind)(Model *m, Error *err);
} ArchDef;
void modex_register_arch(const ArchDef *a);
/* A registered architecture by binding name (for families that extend another), or NULL. */
const ArchDef *modex_arch_find(const char *name);
/* Hugging Face activation name (hidden_act, activation_function ...) → Activation; -1 if unknown.
 * "gelu" is the exact erf form; gelu_new / gelu_pytorch_tanh / gelu_fast the tanh form. */
int  modex_act_parse(const char *name, Activation *a);
#define MODEX_ARCH(VAR) \
    __attribute__((constructor)) static void modex_arch_reg_##VAR(void) { modex_register_arch(&VAR); }

/* Tensor lookup with shape check, converted to F32 (pointer into the map when F32).
 * Dims: expected shape (PyTorch order), ndim of them; returns NULL + err if missing/mis-shaped. */
const float *modex_model_tensor(Model *m, const char *name, int ndim, const int64_t *shape, Error *err);
const float *modex_model_tensor_opt(Model *m, const char *name, int ndim, const int64_t *shape, Error *err, int *missing);
int  modex_model_has(const Model *m, const char *name);
/* Builds a Linear from an nn.Linear-style [out,in] (trans 0) or Conv1D [in,out] (trans 1) tensor. */
int  modex_model_linear(Model *m, Linear *l, const char *wname, const char *bname, int in, int out, int trans, Error *err);
int  modex_model_norm(Model *m, Norm *n, const char *wname, const char *bname, int d, Error *err);
float *modex_model_alloc(Model *m, size_t n); /* owned by the model */

/* config.json helpers (root is json_t *). Return def when absent or null. */
long   modex_cfg_int(void *root, const char *key, long def);
double modex_cfg_num(void *root, const char *key, double def);
const char *modex_cfg_str(void *root, const char *key);
int    modex_cfg_bool(void *root, const char *key, int def);
int    modex_cfg_has(void *root, const char *key);

#endif
