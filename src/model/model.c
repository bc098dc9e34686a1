/* model.c — opening a model: find the architecture, read its config, bind its weights. */
#include "modex/model.h"
#include "modex/util.h"
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARCHS 32
static const ArchDef *archs[MAX_ARCHS];
static int n_archs;

void modex_register_arch(const ArchDef *a) {
    if (n_archs < MAX_ARCHS) archs[n_archs++] = a;
}

const ArchDef *modex_arch_find(const char *name) {
    for (int i = 0; i < n_archs; i++)
        if (strcmp(archs[i]->name, name) == 0) return archs[i];
    return NULL;
}

int modex_act_parse(const char *s, Activation *a) {
    if (!s) return -1;
    if (!strcmp(s, "gelu_new") || !strcmp(s, "gelu_pytorch_tanh") || !strcmp(s, "gelu_fast")) *a = ACT_GELU_TANH;
    else if (!strcmp(s, "gelu")) *a = ACT_GELU_ERF;
    else if (!strcmp(s, "relu")) *a = ACT_RELU;
    else if (!strcmp(s, "silu") || !strcmp(s, "swish")) *a = ACT_SILU;
    else return -1;
    return 0;
}

static int in_list(const char *const *list, const char *s) {
    for (; list && *list; list++)
        if (strcmp(*list, s) == 0) return 1;
    return 0;
}

// --- config.json helpers ----------------------------------------------------------------

/* Every integer of a config is an int: larger values are clamped to the int range (they then
 * fail the shape checks) instead of wrapping or overflowing the conversion. */
long modex_cfg_int(void *root, const char *key, long def) {
    json_t *v = json_object_get(root, key);
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        return i > INT_MAX ? INT_MAX : i < INT_MIN ? INT_MIN : (long)i;
    }
    if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v))) {
        double d = json_real_value(v);
        return d > INT_MAX ? INT_MAX : d < INT_MIN ? INT_MIN : (long)d;
    }
    return def;
}
double modex_cfg_num(void *root, const char *key, double def) {
    json_t *v = json_object_get(root, key);
    return json_is_number(v) ? json_number_value(v) : def;
}
const char *modex_cfg_str(void *root, const char *key) {
    json_t *v = json_object_get(root, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}
int modex_cfg_bool(void *root, const char *key, int def) {
    json_t *v = json_object_get(root, key);
    return json_is_boolean(v) ? json_is_true(v) : def;
}
int modex_cfg_has(void *root, const char *key) {
    json_t *v = json_object_get(root, key);
    return v && !json_is_null(v);
}

// --- tensors ------------------------------------------------------------------------------

float *modex_model_alloc(Model *m, size_t n) {
    float *p = modex_xcalloc(n, sizeof(float));
    m->owned = modex_xrealloc(m->owned, sizeof *m->owned * (size_t)(m->n_owned + 1));
    m->owned[m->n_owned++] = p;
    return p;
}

static const TensorView *find(const Model *m, const char *name) {
    return m->is_gguf ? modex_gguf_find(&m->gguf, name) : modex_st_find(&m->st, name);
}

int modex_model_has(const Model *m, const char *name) { return find(m, name) != NULL; }

static void shape_str(char *b, size_t n, int ndim, const int64_t *s) {
    size_t k = (size_t)snprintf(b, n, "[");
    for (int i = 0; i < ndim && k < n; i++) k += (size_t)snprintf(b + k, n - k, i ? ", %lld" : "%lld", (long long)s[i]);
    if (k < n) snprintf(b + k, n - k, "]");
}

const float *modex_model_tensor_opt(Model *m, const char *name, int ndim, const int64_t *shape, Error *err, int *missing) {
    const TensorView *t = find(m, name);
    if (missing) *missing = t == NULL;
    if (!t) {
        if (!missing) modex_error(err, m->weights_path, "tensor '%s' is missing (the config's architecture needs it)", name);
        return NULL;
    }
    int ok = t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = t->shape[i] == shape[i];
    if (!ok) {
        char want[96], got[96];
        shape_str(want, sizeof want, ndim, shape);
        shape_str(got, sizeof got, t->ndim, t->shape);
        modex_error(err, t->file, "tensor '%s' has shape %s (expected %s from config.json)", name, got, want);
        if (missing) *missing = 0;
        return NULL;
    }
    if (t->dtype == DT_F32 && ((uintptr_t)t->data & 3) == 0) return t->data;
    float *out = modex_model_alloc(m, (size_t)t->numel);
    if (modex_tensor_to_f32(t, out)) {
        modex_error(err, t->file, "tensor '%s' has dtype %s (F32, F16, BF16 or Q8_0)", name, modex_dtype_name(t->dtype));
        return NULL;
    }
    return out;
}

const float *modex_model_tensor(Model *m, const char *name, int ndim, const int64_t *shape, Error *err) {
    return modex_model_tensor_opt(m, name, ndim, shape, err, NULL);
}

int modex_model_linear(Model *m, Linear *l, const char *wname, const char *bname, int in, int out, int trans, Error *err) {
    int64_t s[2] = {trans ? in : out, trans ? out : in};
    memset(l, 0, sizeof *l);
    l->w = modex_model_tensor(m, wname, 2, s, err);
    if (!l->w) return -1;
    l->in = in; l->out = out; l->trans = trans; l->ld = trans ? out : in;
    if (bname) {
        int64_t bs[1] = {out};
        int miss;
        l->b = modex_model_tensor_opt(m, bname, 1, bs, err, &miss);
        if (!l->b && !miss) return -1;
    }
    return 0;
}

int modex_model_norm(Model *m, Norm *n, const char *wname, const char *bname, int d, Error *err) {
    int64_t s[1] = {d};
    n->b = NULL;
    n->w = modex_model_tensor(m, wname, 1, s, err);
    if (!n->w) return -1;
    if (bname && !(n->b = modex_model_tensor(m, bname, 1, s, err))) return -1;
    return 0;
}

// --- opening ------------------------------------------------------------------------------

static void note_dtypes(Model *m) {
    int seen[DT_OTHER + 1] = {0};
    int n = m->is_gguf ? m->gguf.n_tensors : m->st.n;
    const TensorView *t = m->is_gguf ? m->gguf.t : m->st.t;
    m->n_params = 0;
    for (int i = 0; i < n; i++) { seen[t[i].dtype] = 1; m->n_params += t[i].numel; }
    m->dtypes[0] = 0;
    for (int d = 0; d <= DT_OTHER; d++)
        if (seen[d]) {
            size_t k = strlen(m->dtypes);
            snprintf(m->dtypes + k, sizeof m->dtypes - k, "%s%s", k ? "+" : "", modex_dtype_name((DType)d));
        }
    if (m->is_gguf) m->file_bytes = m->gguf.map.size;
    else { m->file_bytes = 0; for (int i = 0; i < m->st.n_files; i++) m->file_bytes += m->st.files[i].size; }
}

static int check_config(Model *m, Error *err) {
    ModelConfig *c = &m->cfg;
    const char *f = m->weights_path;
    if (c->n_layer <= 0 || c->d_model <= 0 || c->n_head <= 0 || c->d_ff <= 0 || c->vocab <= 0)
        return modex_error(err, f, "config: layers %d, d_model %d, heads %d, d_ff %d, vocab %d (all positive)",
                           c->n_layer, c->d_model, c->n_head, c->d_ff, c->vocab);
    if (c->n_kv_head <= 0) c->n_kv_head = c->n_head;
    if (c->head_dim <= 0) {
        if (c->d_model % c->n_head) return modex_error(err, f, "config: hidden size %d not divisible by %d heads (or give head_dim)", c->d_model, c->n_head);
        c->head_dim = c->d_model / c->n_head;
    }
    if (c->n_head % c->n_kv_head) return modex_error(err, f, "config: %d heads not a multiple of %d key/value heads", c->n_head, c->n_kv_head);
    if (c->rope != ROPE_NONE && (c->rotary_dim <= 0 || c->rotary_dim > c->head_dim || c->rotary_dim % 2))
        return modex_error(err, f, "config: rotary dimension %d (even, at most head_dim %d)", c->rotary_dim, c->head_dim);
    if (c->norm_eps <= 0) c->norm_eps = 1e-5f;
    return 0;
}

/* Weights that are not aligned F32 are converted to float32 copies at bind: refuse before
 * allocating when that cannot fit (one clear line instead of an abort halfway). */
static int conversion_fits(const Model *m, Error *err) {
    const TensorView *t = m->is_gguf ? m->gguf.t : m->st.t;
    int n = m->is_gguf ? m->gguf.n_tensors : m->st.n;
    size_t need = 0;
    for (int i = 0; i < n; i++)
        if (t[i].dtype != DT_F32 || ((uintptr_t)t[i].data & 3)) need += (size_t)t[i].numel * sizeof(float);
    return modex_mem_check(need, m->weights_path, "converting the weights to float32", "a smaller model, or F32 weights", err);
}

static int open_hf(Model *m, const char *dir, Error *err) {
    char *cfg_path = modex_path_join(dir, "config.json");
    json_error_t je;
    json_t *root = json_load_file(cfg_path, 0, &je);
    int rc = -1;
    if (!root) {
        if (!modex_file_exists(cfg_path)) modex_error(err, dir, "no config.json (a Hugging Face model folder or a .gguf file)");
        else modex_error_line(err, cfg_path, je.line, je.column, "invalid JSON: %s", je.text);
        goto out;
    }
    if (!json_is_object(root)) { modex_error(err, cfg_path, "not a JSON object (a model configuration)"); goto out; }
    /* weights: single file or sharded index */
    char *st_path = modex_path_join(dir, "model.safetensors");
    if (!modex_file_exists(st_path)) {
        free(st_path);
        st_path = modex_path_join(dir, "model.safetensors.index.json");
        if (!modex_file_exists(st_path)) {
            free(st_path);
            modex_error(err, dir, "no model.safetensors or model.safetensors.index.json (weights as safetensors)");
            goto out;
        }
    }
    m->weights_path = st_path;
    /* architecture */
    const char *mt = modex_cfg_str(root, "model_type");
    json_t *archs_j = json_object_get(root, "architectures");
    const char *cls = json_is_array(archs_j) && json_array_size(archs_j) ? json_string_value(json_array_get(archs_j, 0)) : NULL;
    const ArchDef *a = NULL;
    for (int i = 0; i < n_archs && !a; i++)
        if ((mt && in_list(archs[i]->model_types, mt)) || (!mt && cls && in_list(archs[i]->hf_classes, cls))) a = archs[i];
    if (!a) {
        char known[512] = "";
        for (int i = 0; i < n_archs; i++)
            for (const char *const *t = archs[i]->model_types; *t; t++) {
                size_t k = strlen(known);
                snprintf(known + k, sizeof known - k, "%s%s", k ? ", " : "", *t);
            }
        modex_error(err, cfg_path, "model_type \"%s\" is not supported (one of: %s)", mt ? mt : (cls ? cls : "(none)"), known);
        goto out;
    }
    snprintf(m->cfg.arch, sizeof m->cfg.arch, "%s", a->name);
    m->cfg.init_range = (float)modex_cfg_num(root, "initializer_range", 0.02);
    m->cfg.bos_id = (int)modex_cfg_int(root, "bos_token_id", -1);
    m->cfg.eos_id = (int)modex_cfg_int(root, "eos_token_id", -1);
    if (a->config_hf(m, root, cfg_path, err)) goto out;
    if (check_config(m, err)) goto out;
    if (modex_st_open(&m->st, st_path, err)) goto out;
    if (conversion_fits(m, err) || a->bind(m, err)) goto out;
    rc = 0;
out:
    json_decref(root);
    free(cfg_path);
    return rc;
}

static int open_gguf(Model *m, const char *path, Error *err) {
    m->is_gguf = 1;
    m->weights_path = modex_xstrdup(path);
    if (modex_gguf_open(&m->gguf, path, err)) return -1;
    char *ga = modex_gguf_str(&m->gguf, "general.architecture");
    const ArchDef *a = NULL;
    for (int i = 0; i < n_archs && !a; i++)
        if (ga && archs[i]->gguf_arch && strcmp(archs[i]->gguf_arch, ga) == 0 && archs[i]->config_gguf) a = archs[i];
    if (!a) {
        char known[256] = "";
        for (int i = 0; i < n_archs; i++)
            if (archs[i]->gguf_arch && archs[i]->config_gguf) {
                size_t k = strlen(known);
                snprintf(known + k, sizeof known - k, "%s%s", k ? ", " : "", archs[i]->gguf_arch);
            }
        modex_error(err, path, "general.architecture \"%s\" is not supported in GGUF (%s)", ga ? ga : "(missing)", known);
        free(ga);
        return -1;
    }
    free(ga);
    snprintf(m->cfg.arch, sizeof m->cfg.arch, "%s", a->name);
    m->cfg.init_range = 0.02f;
    m->cfg.bos_id = (int)modex_gguf_int(&m->gguf, "tokenizer.ggml.bos_token_id", -1);
    m->cfg.eos_id = (int)modex_gguf_int(&m->gguf, "tokenizer.ggml.eos_token_id", -1);
    if (a->config_gguf(m, err) || check_config(m, err) || conversion_fits(m, err) || a->bind(m, err)) return -1;
    return 0;
}

Model *modex_model_open(const char *path, Error *err) {
    Model *m = modex_xcalloc(1, sizeof *m);
    m->path = modex_xstrdup(path);
    size_t n = strlen(path);
    int rc;
    if (modex_path_is_dir(path)) rc = open_hf(m, path, err);
    else if (n > 5 && strcmp(path + n - 5, ".gguf") == 0) rc = open_gguf(m, path, err);
    else if (!modex_file_exists(path)) rc = modex_error(err, path, "no such file or folder (a Hugging Face model folder or a .gguf file)");
    else if (n > 11 && strcmp(path + n - 11, "config.json") == 0) {
        char *dir = modex_xstrdup(path);
        char *s = strrchr(dir, '/');
        if (s) *s = 0; else strcpy(dir, ".");
        rc = open_hf(m, dir, err);
        free(dir);
    } else rc = modex_error(err, path, "not a model (a Hugging Face model folder or a .gguf file)");
    if (rc) { modex_model_free(m); return NULL; }
    note_dtypes(m);
    return m;
}

void modex_model_free(Model *m) {
    if (!m) return;
    if (m->layers)
        for (int l = 0; l < m->cfg.n_layer; l++) {
            free(m->layers[l].e_up); free(m->layers[l].e_gate); free(m->layers[l].e_down);
        }
    free(m->layers);
    for (int i = 0; i < m->n_owned; i++) free(m->owned[i]);
    free(m->owned);
    if (m->is_gguf) modex_gguf_close(&m->gguf);
    else modex_st_close(&m->st);
    free(m->path); free(m->weights_path);
    free(m);
}

// --- random init ---------------------------------------------------------------------------

static uint64_t sm64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static double gauss(uint64_t *s) {
    double u1 = ((double)(sm64(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
    double u2 = (double)(sm64(s) >> 11) * (1.0 / 9007199254740992.0);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* Re-points every weight of a copy at fresh memory: matrices N(0, r), norm weights 1, biases 0. */
static const float *fresh(Model *r, const float *old, size_t n, int kind, uint64_t *s) {
    if (!old) return NULL;
    float *p = modex_model_alloc(r, n);
    float std = r->cfg.init_range > 0 ? r->cfg.init_range : 0.02f;
    for (size_t i = 0; i < n; i++) p[i] = kind == 0 ? (float)(std * gauss(s)) : kind == 1 ? 1.0f : 0.0f;
    return p;
}
static void fresh_linear(Model *r, Linear *l, uint64_t *s) {
    if (!l->w) return;
    l->w = fresh(r, l->w, (size_t)l->in * (size_t)l->out, 0, s);
    l->ld = l->trans ? l->out : l->in;
    l->b = fresh(r, l->b, (size_t)l->out, 2, s);
}
static void fresh_norm(Model *r, Norm *n, int d, uint64_t *s) {
    n->w = fresh(r, n->w, (size_t)d, 1, s);
    n->b = fresh(r, n->b, (size_t)d, 2, s);
}

Model *modex_model_random_like(const Model *m, unsigned long long seed, Error *err) {
    (void)err;
    Model *r = modex_xcalloc(1, sizeof *r);
    r->cfg = m->cfg;
    r->qkv_layout = m->qkv_layout;
    r->path = modex_xstrdup(m->path);
    r->weights_path = modex_xstrdup(m->weights_path);
    r->random_init = 1;
    r->is_gguf = 1; /* so free() closes an empty Gguf (no-op) */
    const ModelConfig *c = &m->cfg;
    int D = c->d_model;
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    r->tok_emb = fresh(r, m->tok_emb, (size_t)c->vocab * D, 0, &s);
    r->pos_emb = fresh(r, m->pos_emb, (size_t)c->max_pos * D, 0, &s);
    r->type_emb = fresh(r, m->type_emb, (size_t)(c->type_vocab > 0 ? c->type_vocab : 1) * D, 0, &s);
    r->emb_norm = m->emb_norm; fresh_norm(r, &r->emb_norm, D, &s);
    r->final_norm = m->final_norm; fresh_norm(r, &r->final_norm, D, &s);
    r->lm_head = m->lm_head;
    if (c->tie_embeddings && m->lm_head.w == m->tok_emb) r->lm_head.w = r->tok_emb;
    else fresh_linear(r, &r->lm_head, &s);
    r->layers = modex_xcalloc((size_t)c->n_layer, sizeof *r->layers);
    for (int l = 0; l < c->n_layer; l++) {
        LayerWeights *L = &r->layers[l];
        *L = m->layers[l];
        fresh_norm(r, &L->attn_norm, D, &s); fresh_norm(r, &L->ffn_norm, D, &s);
        fresh_linear(r, &L->qkv, &s);
        fresh_linear(r, &L->q, &s); fresh_linear(r, &L->k, &s); fresh_linear(r, &L->v, &s); fresh_linear(r, &L->o, &s);
        fresh_linear(r, &L->up, &s); fresh_linear(r, &L->gate, &s); fresh_linear(r, &L->down, &s);
        L->rel_bias = fresh(r, L->rel_bias, (size_t)c->t5_buckets * c->n_head, 0, &s);
        fresh_linear(r, &L->router, &s);
        if (c->n_experts > 0 && m->layers[l].e_up) {
            L->e_up = modex_xcalloc((size_t)c->n_experts, sizeof(Linear));
            L->e_down = modex_xcalloc((size_t)c->n_experts, sizeof(Linear));
            L->e_gate = m->layers[l].e_gate ? modex_xcalloc((size_t)c->n_experts, sizeof(Linear)) : NULL;
            for (int e = 0; e < c->n_experts; e++) {
                L->e_up[e] = m->layers[l].e_up[e]; fresh_linear(r, &L->e_up[e], &s);
                L->e_down[e] = m->layers[l].e_down[e]; fresh_linear(r, &L->e_down[e], &s);
                if (L->e_gate) { L->e_gate[e] = m->layers[l].e_gate[e]; fresh_linear(r, &L->e_gate[e], &s); }
            }
        }
    }
    r->n_params = m->n_params;
    snprintf(r->dtypes, sizeof r->dtypes, "F32 (random init, seed %llu)", seed);
    return r;
}

// --- keys, description ---------------------------------------------------------------------

float *modex_model_keys(const Model *m, int layer) {
    const LayerWeights *L = &m->layers[layer];
    int F = m->cfg.d_ff, D = m->cfg.d_model, E = m->cfg.n_experts > 0 ? m->cfg.n_experts : 1;
    float *k = NULL;
    for (int e = 0; e < E; e++) { /* MoE: expert-major, neuron e*F + j is expert e's row j */
        const Linear *w1 = m->cfg.n_experts > 0 ? (L->e_gate ? &L->e_gate[e] : L->e_up ? &L->e_up[e] : NULL)
                                                : L->gate.w ? &L->gate : &L->up;
        if (!w1 || !w1->w) { free(k); return NULL; }
        if (!k) k = modex_xmalloc(sizeof(float) * (size_t)E * F * D);
        float *ke = k + (size_t)e * F * D;
        for (int i = 0; i < F; i++)
            for (int d = 0; d < D; d++)
                ke[(size_t)i * D + d] = w1->trans ? w1->w[(size_t)d * w1->ld + i] : w1->w[(size_t)i * w1->ld + d];
    }
    return k;
}

void modex_model_describe(const Model *m, char *buf, size_t n) {
    const ModelConfig *c = &m->cfg;
    static const char *acts[] = {"gelu (tanh)", "gelu (erf)", "relu", "silu"};
    size_t k = 0;
#define P(...) do { if (k < n) k += (size_t)snprintf(buf + k, n - k, __VA_ARGS__); } while (0)
    P("architecture   %s (%s)\n", c->family, c->arch);
    P("layers         %d\n", c->n_layer);
    P("d_model        %d\n", c->d_model);
    P("d_ff           %d%s\n", c->d_ff, c->n_experts ? " per expert" : "");
    P("heads          %d (key/value heads %d, head_dim %d)\n", c->n_head, c->n_kv_head, c->head_dim);
    P("vocab          %d\n", c->vocab);
    if (c->learned_pos || c->rope != ROPE_NONE) P("context        %d\n", c->max_pos);
    else P("context        unbounded (relative positions)\n");
    P("ffn            %s%s\n", c->gated_ffn ? "gated " : "", acts[c->act]);
    P("norm           %s%s, eps %g\n", c->norm == NORM_RMS ? "RMS" : "LayerNorm", c->post_norm ? " (post-norm)" : " (pre-norm)", (double)c->norm_eps);
    if (c->rope != ROPE_NONE)
        P("positions      rotary (%s pairs), theta %g, rotary dims %d of %d (fraction %g)\n", c->rope == ROPE_HALF ? "rotate-half" : "interleaved",
          (double)c->rope_theta, c->rotary_dim, c->head_dim, (double)c->rotary_dim / c->head_dim);
    else if (c->t5_buckets)
        P("positions      relative buckets %d (bidirectional, from layer 0, shared), max distance %d\n", c->t5_buckets, c->t5_max_distance);
    else if (c->learned_pos) P("positions      learned absolute%s\n", m->type_emb ? " + token type 0" : "");
    if (m->emb_norm.w) P("embeddings     LayerNorm after the sum\n");
    if (c->no_attn_scale) P("attention      no 1/sqrt(head_dim) scaling\n");
    if (c->sliding_window) P("attention      causal sliding window of %d tokens\n", c->sliding_window);
    if (!c->post_norm) P("residual       %s\n", c->parallel_residual ? "parallel (x + attn(ln1 x) + ffn(ln2 x))" : "sequential");
    if (c->n_experts)
        P("experts        %d, top-%d router (softmax, renormalised); neurons expert-major e*%d+j, width %d\n", c->n_experts, c->top_k,
          c->d_ff, c->n_experts * c->d_ff);
    P("kind           %s\n", c->causal ? "causal LM (logits)" : "encoder (last_hidden_state)");
    P("head           %s\n", !m->lm_head.w ? "none" : c->tie_embeddings ? "tied to embeddings" : "separate");
    P("parameters     %lld\n", (long long)m->n_params);
    P("dtype          %s\n", m->dtypes);
    P("file size      %.1f MiB (%s)\n", (double)m->file_bytes / 1048576.0, m->weights_path);
#undef P
}

// --- synthetic models (benchmarks, tests) -------------------------------------------------

Model *modex_model_synthetic(const ModelConfig *cfg, QkvLayout layout, int bias, unsigned long long seed) {
    static const float dummy = 0;
    const float *d = &dummy, *bd = bias ? &dummy : NULL;
    Model t = {0};
    t.cfg = *cfg;
    ModelConfig *c = &t.cfg;
    if (c->n_kv_head <= 0) c->n_kv_head = c->n_head;
    if (c->head_dim <= 0) c->head_dim = c->d_model / c->n_head;
    if (c->rope != ROPE_NONE && c->rotary_dim <= 0) c->rotary_dim = c->head_dim;
    if (c->init_range <= 0) c->init_range = 0.02f;
    int D = c->d_model, F = c->d_ff, H = c->n_head, Hk = c->n_kv_head, Dh = c->head_dim;
    t.qkv_layout = layout;
    t.path = (char *)"(synthetic)";
    t.weights_path = (char *)"(synthetic)";
    t.tok_emb = d;
    t.pos_emb = c->learned_pos ? d : NULL;
    t.type_emb = c->type_vocab > 0 ? d : NULL;
    t.final_norm = (Norm){d, c->norm == NORM_LAYER ? d : NULL};
    if (c->causal) t.lm_head = (Linear){.w = d, .in = D, .out = c->vocab, .ld = D};
    LayerWeights *L = calloc((size_t)c->n_layer, sizeof *L);
    for (int l = 0; l < c->n_layer; l++) {
        L[l].attn_norm = L[l].ffn_norm = t.final_norm;
        if (layout == QKV_SEPARATE) {
            L[l].q = (Linear){d, bd, D, H * Dh, D, 0};
            L[l].k = (Linear){d, bd, D, Hk * Dh, D, 0};
            L[l].v = (Linear){d, bd, D, Hk * Dh, D, 0};
        } else L[l].qkv = (Linear){d, bd, D, (H + 2 * Hk) * Dh, D, 0};
        L[l].o = (Linear){d, bd, H * Dh, D, H * Dh, 0};
        L[l].up = (Linear){d, bd, D, F, D, 0};
        if (c->gated_ffn) L[l].gate = (Linear){d, bd, D, F, D, 0};
        L[l].down = (Linear){d, bd, F, D, F, 0};
        if (l == 0 && c->t5_buckets) L[l].rel_bias = d;
    }
    t.layers = L;
    Model *m = modex_model_random_like(&t, seed, NULL);
    if (c->tie_embeddings && m->lm_head.w) m->lm_head.w = m->tok_emb;
    free(L);
    m->n_params = 0;
    return m;
}
