/* gpt2_train.c — GPT-2 with a ReLU FFN for training: parameter layout, initialisation, forward
 * and backward (gpt2_kernels.h in float and in double), Hugging Face folders in and out. */
#include <cblas.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "modex/parallel.h"
#include "modex/safetensors.h"
#include "modex/train.h"
#include "modex/util.h"
#include "train_internal.h"

// --- layout ------------------------------------------------------------------------------------
static const char *const param_names[N_PARAM] = {"wte.weight", "wpe.weight", "ln_1.weight",
    "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight", "attn.c_proj.bias",
    "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight",
    "mlp.c_proj.bias", "ln_f.weight", "ln_f.bias"};

const char *modex_gpt2_param_name(int i) { return i >= 0 && i < N_PARAM ? param_names[i] : "?"; }

/* Shape of one layer's slice (or the whole tensor for non-layer ones): rows x cols. */
static void param_shape(const Gpt2Dims *d, int i, int64_t *rows, int64_t *cols) {
    int64_t C = d->C, F = d->F;
    int64_t s[N_PARAM][2] = {{d->V, C}, {d->maxT, C}, {C, 1}, {C, 1}, {C, 3 * C}, {3 * C, 1},
                             {C, C}, {C, 1}, {C, 1}, {C, 1}, {C, F}, {F, 1}, {F, C}, {C, 1},
                             {C, 1}, {C, 1}};
    *rows = s[i][0];
    *cols = s[i][1];
}
static int per_layer(int i) { return i >= P_LN1W && i <= P_FCPB; }

void modex_gpt2_offsets(const Gpt2Dims *d, size_t off[N_PARAM + 1]) {
    size_t o = 0;
    for (int i = 0; i < N_PARAM; i++) {
        int64_t r, c;
        param_shape(d, i, &r, &c);
        off[i] = o;
        o += (size_t)(r * c) * (per_layer(i) ? (size_t)d->L : 1);
    }
    off[N_PARAM] = o;
}

void modex_gpt2_init(const Gpt2Dims *d, float *params, uint64_t seed) {
    size_t off[N_PARAM + 1];
    modex_gpt2_offsets(d, off);
    Rng r;
    rng_seed(&r, seed);
    for (int i = 0; i < N_PARAM; i++) {
        int is_w = i == P_WTE || i == P_WPE || i == P_QKVW || i == P_ATTPW || i == P_FCW || i == P_FCPW;
        int is_ln = i == P_LN1W || i == P_LN2W || i == P_LNFW;
        double sd = 0.02;
        if (i == P_ATTPW || i == P_FCPW) sd /= sqrt(2.0 * d->L); /* GPT-2's residual scaling */
        for (size_t k = off[i]; k < off[i + 1]; k++)
            params[k] = is_w ? (float)(sd * rng_normal(&r)) : is_ln ? 1.0f : 0.0f;
    }
}

// --- the kernels, in float and in double --------------------------------------------------------
#define R float
#define SFX(n) n##_f
#define GEMM cblas_sgemm
#define SQRT sqrtf
#define EXP expf
#define LOG logf
#include "gpt2_kernels.h"
#undef R
#undef SFX
#undef GEMM
#undef SQRT
#undef EXP
#undef LOG
#define R double
#define SFX(n) n##_d
#define GEMM cblas_dgemm
#define SQRT sqrt
#define EXP exp
#define LOG log
#include "gpt2_kernels.h"
#undef R
#undef SFX
#undef GEMM
#undef SQRT
#undef EXP
#undef LOG

double modex_gpt2_loss_grad_f32(const Gpt2Dims *d, const float *params, const int32_t *inputs,
                                const int32_t *targets, int B, int T, float *grads) {
    size_t off[N_PARAM + 1];
    modex_gpt2_offsets(d, off);
    Run_f r;
    run_alloc_f(&r, d, B, T);
    double loss = gpt2_forward_f(d, params, off, &r, inputs, targets);
    if (grads) gpt2_backward_f(d, params, grads, off, &r, inputs, targets);
    run_free_f(&r);
    return loss;
}

double modex_gpt2_loss_grad_f64(const Gpt2Dims *d, const double *params, const int32_t *inputs,
                                const int32_t *targets, int B, int T, double *grads) {
    size_t off[N_PARAM + 1];
    modex_gpt2_offsets(d, off);
    Run_d r;
    run_alloc_d(&r, d, B, T);
    double loss = gpt2_forward_d(d, params, off, &r, inputs, targets);
    if (grads) gpt2_backward_d(d, params, grads, off, &r, inputs, targets);
    run_free_d(&r);
    return loss;
}

/* A batch is split into one part per thread (data parallel): each part runs forward and
 * backward in its own buffers with single-threaded OpenBLAS, and the parts' gradients are
 * added in a fixed order. Two threads this way did 1.5x the tokens/s of one batch on
 * OpenBLAS's two threads, whose workers spent their time in sched_yield between the many small
 * products; the element-wise loops run in parallel too. The same thread count gives the
 * same bits; another count splits the batch, and so rounds, differently. */
#define MAX_PARTS 16
struct Gpt2Work {
    Gpt2Dims d;
    size_t off[N_PARAM + 1];
    int B, T, parts;
    int first[MAX_PARTS + 1];      /* part k has sequences first[k] .. first[k+1]-1 */
    Run_f run[MAX_PARTS];
    float *grad[MAX_PARTS];        /* part k > 0's gradient (part 0 writes the caller's) */
    double loss[MAX_PARTS];
    /* the step in flight */
    const float *params;
    const int32_t *inputs, *targets;
    float *grads;
};

Gpt2Work *modex_gpt2_work_new(const Gpt2Dims *d, int B, int T) {
    Gpt2Work *w = modex_xcalloc(1, sizeof *w);
    w->d = *d;
    w->B = B;
    w->T = T;
    modex_gpt2_offsets(d, w->off);
    int parts = modex_threads();
    if (parts > B) parts = B;
    if (parts > MAX_PARTS) parts = MAX_PARTS;
    if (parts < 1) parts = 1;
    w->parts = parts;
    for (int k = 0; k <= parts; k++) w->first[k] = (int)((long)B * k / parts);
    for (int k = 0; k < parts; k++) {
        run_alloc_f(&w->run[k], d, w->first[k + 1] - w->first[k], T);
        if (k) w->grad[k] = modex_xmalloc(w->off[N_PARAM] * sizeof(float));
    }
    return w;
}

static void work_part(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    Gpt2Work *w = ctx;
    for (int64_t k = begin; k < end; k++) {
        size_t at = (size_t)w->first[k] * (size_t)w->T;
        const int32_t *tg = w->targets ? w->targets + at : NULL;
        w->loss[k] = gpt2_forward_f(&w->d, w->params, w->off, &w->run[k], w->inputs + at, tg);
        if (w->grads)
            gpt2_backward_f(&w->d, w->params, k ? w->grad[k] : w->grads, w->off, &w->run[k],
                            w->inputs + at, tg);
    }
}

double modex_gpt2_work_step(Gpt2Work *w, const float *params, const int32_t *inputs,
                            const int32_t *targets, float *grads) {
    w->params = params;
    w->inputs = inputs;
    w->targets = targets;
    w->grads = targets ? grads : NULL;
    if (w->parts == 1) {
        work_part(w, 0, 1, 0);
        return w->loss[0];
    }
    modex_blas_threads(1);
    modex_parallel_for(w->parts, 1, work_part, w);
    modex_blas_threads(0);
    /* each part's loss and gradient are means over its sequences: weigh by its share */
    double loss = 0;
    float share[MAX_PARTS];
    for (int k = 0; k < w->parts; k++) {
        share[k] = (float)(w->first[k + 1] - w->first[k]) / (float)w->B;
        loss += w->loss[k] * share[k];
    }
    if (w->grads)
        for (size_t i = 0; i < w->off[N_PARAM]; i++) {
            float s = grads[i] * share[0];
            for (int k = 1; k < w->parts; k++) s += w->grad[k][i] * share[k];
            grads[i] = s;
        }
    return loss;
}

void modex_gpt2_work_free(Gpt2Work *w) {
    if (!w) return;
    for (int k = 0; k < w->parts; k++) {
        run_free_f(&w->run[k]);
        free(w->grad[k]);
    }
    free(w);
}

void modex_gpt2_logits_f32(const Gpt2Dims *d, const float *params, const int32_t *ids, int T,
                           float *out, float *ffn) {
    size_t off[N_PARAM + 1];
    modex_gpt2_offsets(d, off);
    Run_f r;
    run_alloc_f(&r, d, 1, T);
    gpt2_forward_f(d, params, off, &r, ids, NULL);
    if (out) memcpy(out, r.probs, (size_t)T * d->V * sizeof(float));
    if (ffn) memcpy(ffn, r.fch, (size_t)d->L * T * d->F * sizeof(float));
    run_free_f(&r);
}

// --- Hugging Face folders -------------------------------------------------------------------------
int modex_train_mkdirs(const char *path, Error *err) {
    char *p = modex_xstrdup(path);
    for (char *c = p + 1;; c++) {
        if (*c == '/' || !*c) {
            char keep = *c;
            *c = 0;
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                int e = errno;
                modex_error(err, p, "cannot create folder: %s (a writable place)", strerror(e));
                free(p);
                return -1;
            }
            *c = keep;
            if (!keep) break;
        }
    }
    free(p);
    if (!modex_path_is_dir(path)) return modex_error(err, path, "exists and is not a folder (a folder)");
    return 0;
}

static char *config_json(const Gpt2Dims *d, int bf16) {
    json_t *c = json_object();
#define S(k, v) json_object_set_new(c, k, v)
    S("activation_function", json_string("relu"));
    S("add_cross_attention", json_false());
    json_t *arch = json_array();
    json_array_append_new(arch, json_string("GPT2LMHeadModel"));
    S("architectures", arch);
    S("attn_pdrop", json_real(0.0)); /* trained without dropout */
    S("bos_token_id", json_integer(0));
    S("dtype", json_string(bf16 ? "bfloat16" : "float32"));
    S("embd_pdrop", json_real(0.0));
    S("eos_token_id", json_integer(0));
    S("initializer_range", json_real(0.02));
    S("layer_norm_epsilon", json_real(1e-5));
    S("model_type", json_string("gpt2"));
    S("n_ctx", json_integer(d->maxT));
    S("n_embd", json_integer(d->C));
    S("n_head", json_integer(d->NH));
    S("n_inner", json_integer(d->F));
    S("n_layer", json_integer(d->L));
    S("n_positions", json_integer(d->maxT));
    S("pad_token_id", json_null());
    S("reorder_and_upcast_attn", json_false());
    S("resid_pdrop", json_real(0.0));
    S("scale_attn_by_inverse_layer_idx", json_false());
    S("scale_attn_weights", json_true());
    S("summary_activation", json_null());
    S("summary_first_dropout", json_real(0.1));
    S("summary_proj_to_labels", json_true());
    S("summary_type", json_string("cls_index"));
    S("summary_use_proj", json_true());
    S("tie_word_embeddings", json_true());
    S("use_cache", json_true());
    S("vocab_size", json_integer(d->V));
#undef S
    char *s = json_dumps(c, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    json_decref(c);
    return s;
}

int modex_gpt2_save(const char *dir, const Gpt2Dims *d, const float *params, int bf16,
                    const char *tokenizer_json, int force, Error *err) {
    if (modex_train_mkdirs(dir, err)) return -1;
    size_t off[N_PARAM + 1];
    modex_gpt2_offsets(d, off);
    int n = 0, cap = 4 + 12 * d->L;
    StWriteTensor *t = modex_xcalloc((size_t)cap, sizeof *t);
    char **names = modex_xcalloc((size_t)cap, sizeof *names);
    uint16_t *half = NULL;
    if (bf16) {
        half = modex_xmalloc(off[N_PARAM] * sizeof *half);
        for (size_t k = 0; k < off[N_PARAM]; k++) half[k] = modex_f32_to_bf16(params[k]);
    }
    for (int pass = 0; pass < 3; pass++) /* wte wpe, then the blocks, then ln_f */
        for (int l = 0; l < (pass == 1 ? d->L : 1); l++)
            for (int i = 0; i < N_PARAM; i++) {
                if ((pass == 0) != (i == P_WTE || i == P_WPE) || (pass == 1) != per_layer(i)) continue;
                int64_t r, c;
                param_shape(d, i, &r, &c);
                char name[96];
                if (pass == 1) snprintf(name, sizeof name, "transformer.h.%d.%s", l, param_names[i]);
                else snprintf(name, sizeof name, "transformer.%s", param_names[i]);
                size_t at = off[i] + (pass == 1 ? (size_t)l * (size_t)(r * c) : 0);
                names[n] = modex_xstrdup(name);
                t[n].name = names[n];
                t[n].dtype = bf16 ? DT_BF16 : DT_F32;
                t[n].ndim = c == 1 ? 1 : 2;
                t[n].shape[0] = r;
                t[n].shape[1] = c;
                t[n].data = bf16 ? (const void *)(half + at) : (const void *)(params + at);
                n++;
            }
    char *path = modex_path_join(dir, "model.safetensors");
    int rc = modex_st_write(path, t, n, "{\"format\":\"pt\"}", force, err);
    free(path);
    for (int i = 0; i < n; i++) free(names[i]);
    free(names); free(t); free(half);
    if (rc) return -1;
    char *cfg = config_json(d, bf16);
    path = modex_path_join(dir, "config.json");
    rc = modex_write_file(path, cfg, strlen(cfg), force, err);
    free(path); free(cfg);
    if (rc || !tokenizer_json) return rc;
    size_t len;
    char *tj = modex_read_text(tokenizer_json, &len, err);
    if (!tj) return -1;
    path = modex_path_join(dir, "tokenizer.json");
    rc = modex_write_file(path, tj, len, force, err);
    free(path); free(tj);
    return rc;
}

static int cfg_int(json_t *c, const char *k, int def, const char *path, Error *err, int *out) {
    json_t *v = json_object_get(c, k);
    if (!v || json_is_null(v)) {
        if (def < 0) return modex_error(err, path, "no \"%s\" (a GPT-2 config.json)", k);
        *out = def;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 1 << 24)
        return modex_error(err, path, "\"%s\" is not a positive integer", k);
    *out = (int)json_integer_value(v);
    return 0;
}

int modex_gpt2_load(const char *dir, Gpt2Dims *d, float **params, Error *err) {
    *params = NULL;
    char *path = modex_path_join(dir, "config.json");
    json_error_t je;
    json_t *c = json_load_file(path, 0, &je);
    if (!c) {
        int rc = modex_error_line(err, path, je.line, je.column, "%s (a JSON config)", je.text);
        free(path);
        return rc;
    }
    int rc = cfg_int(c, "n_embd", -1, path, err, &d->C) || cfg_int(c, "n_layer", -1, path, err, &d->L) ||
             cfg_int(c, "n_head", -1, path, err, &d->NH) || cfg_int(c, "vocab_size", -1, path, err, &d->V) ||
             cfg_int(c, "n_positions", -1, path, err, &d->maxT);
    if (!rc) rc = cfg_int(c, "n_inner", 4 * d->C, path, err, &d->F);
    const char *act = json_string_value(json_object_get(c, "activation_function"));
    if (!rc && (!act || strcmp(act, "relu") != 0))
        rc = modex_error(err, path, "activation_function is \"%s\" (\"relu\": the trainer's model)", act ? act : "");
    if (!rc && d->C % d->NH) rc = modex_error(err, path, "n_embd %d is not a multiple of n_head %d", d->C, d->NH);
    json_decref(c);
    free(path);
    if (rc) return -1;
    path = modex_path_join(dir, "model.safetensors");
    SafeTensors st;
    if (modex_st_open(&st, path, err)) { free(path); return -1; }
    size_t off[N_PARAM + 1];
    modex_gpt2_offsets(d, off);
    float *p = modex_xmalloc(off[N_PARAM] * sizeof *p);
    for (int i = 0; i < N_PARAM && !rc; i++)
        for (int l = 0; l < (per_layer(i) ? d->L : 1) && !rc; l++) {
            int64_t r, cc;
            param_shape(d, i, &r, &cc);
            char name[96];
            if (per_layer(i)) snprintf(name, sizeof name, "transformer.h.%d.%s", l, param_names[i]);
            else snprintf(name, sizeof name, "transformer.%s", param_names[i]);
            const TensorView *tv = modex_st_find(&st, name);
            if (!tv) tv = modex_st_find(&st, name + strlen("transformer."));
            if (!tv) { rc = modex_error(err, path, "no tensor %s", name); break; }
            if (tv->numel != r * cc || tv->shape[0] != r) {
                rc = modex_error(err, path, "tensor %s has the wrong shape (expected [%lld, %lld])", name,
                                 (long long)r, (long long)cc);
                break;
            }
            if (modex_tensor_to_f32(tv, p + off[i] + (size_t)l * (size_t)(r * cc)))
                rc = modex_error(err, path, "tensor %s has dtype %s (a floating type)", name,
                                 modex_dtype_name(tv->dtype));
        }
    modex_st_close(&st);
    free(path);
    if (rc) { free(p); return -1; }
    *params = p;
    return 0;
}

int modex_train_logits(const char *model_dir, const int32_t *ids, int n, float *out, Error *err) {
    Gpt2Dims d;
    float *p;
    if (modex_gpt2_load(model_dir, &d, &p, err)) return -1;
    int rc = 0;
    if (n < 1 || n > d.maxT) rc = modex_error(err, model_dir, "%d tokens (1..%d)", n, d.maxT);
    for (int i = 0; i < n && !rc; i++)
        if (ids[i] < 0 || ids[i] >= d.V) rc = modex_error(err, model_dir, "token id %d out of range (0..%d)", ids[i], d.V - 1);
    if (!rc) modex_gpt2_logits_f32(&d, p, ids, n, out, NULL);
    free(p);
    return rc;
}
