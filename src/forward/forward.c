/* forward.c — the generic batched forward: embeddings, blocks (pre/post-norm, parallel
 * residual), attention per (sequence, head) on the thread pool, dense or MoE FFN, head. */
#include "modex/forward.h"
#include "modex/parallel.h"
#include "modex/util.h"
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int modex_ffn_width(const Model *m) {
    return m->cfg.n_experts > 0 ? m->cfg.n_experts * m->cfg.d_ff : m->cfg.d_ff;
}

// --- attention --------------------------------------------------------------------------------

typedef struct AttnCtx {
    const Model *m;
    const Batch *b;
    const float *q, *k, *v; /* [T, H*Dh], [T, Hkv*Dh] */
    float *out;             /* [T, H*Dh] */
    float *scratch;         /* per thread: max_len floats */
    int max_len;
    const float *rel_bias;  /* T5 [buckets, H] */
} AttnCtx;

/* Per (sequence, head): Kᵀ of the head is copied once into the thread's scratch so that the
 * scores q·k_j run as vectorisable axpy loops over j, and the output as axpys over Dh. */
static void attn_items(void *c, int64_t b, int64_t e, int th) {
    const AttnCtx *a = c;
    const ModelConfig *cf = &a->m->cfg;
    int H = cf->n_head, Hkv = cf->n_kv_head, Dh = cf->head_dim, grp = H / Hkv;
    float scale = cf->no_attn_scale ? 1.0f : 1.0f / sqrtf((float)Dh);
    float *p = a->scratch + (size_t)th * a->max_len * (size_t)(Dh + 1), *kt = p + a->max_len;
    for (int64_t it = b; it < e; it++) {
        int s = (int)(it / H), h = (int)(it % H), kh = h / grp;
        int t0 = a->b->start[s], n = a->b->start[s + 1] - t0;
        for (int j = 0; j < n; j++) {
            const float *kj = a->k + (size_t)(t0 + j) * Hkv * Dh + (size_t)kh * Dh;
            for (int x = 0; x < Dh; x++) kt[(size_t)x * n + j] = kj[x];
        }
        for (int i = 0; i < n; i++) {
            const float *qi = a->q + (size_t)(t0 + i) * H * Dh + (size_t)h * Dh;
            int jn = cf->causal ? i + 1 : n;
            for (int j = 0; j < jn; j++) p[j] = 0.0f;
            for (int x = 0; x < Dh; x++) {
                float qx = qi[x];
                const float *kr = kt + (size_t)x * n;
                for (int j = 0; j < jn; j++) p[j] += qx * kr[j];
            }
            float mx = -INFINITY;
            int j0 = cf->sliding_window > 0 && i - cf->sliding_window + 1 > 0 ? i - cf->sliding_window + 1 : 0;
            for (int j = 0; j < jn; j++) {
                float d = p[j] * scale;
                if (a->rel_bias) d += a->rel_bias[modex_t5_bucket(j - i, cf->t5_buckets, cf->t5_max_distance) * H + h];
                if (j < j0) d = -INFINITY;
                p[j] = d;
                if (d > mx) mx = d;
            }
            float sum = 0;
            for (int j = 0; j < jn; j++) { p[j] = expf(p[j] - mx); sum += p[j]; }
            float inv = 1.0f / sum;
            float *o = a->out + (size_t)(t0 + i) * H * Dh + (size_t)h * Dh;
            memset(o, 0, sizeof(float) * (size_t)Dh);
            for (int j = 0; j < jn; j++) {
                const float *vj = a->v + (size_t)(t0 + j) * Hkv * Dh + (size_t)kh * Dh;
                float w = p[j] * inv;
                for (int x = 0; x < Dh; x++) o[x] += w * vj[x];
            }
        }
    }
}

/* Rotary embedding in place on [T, nh*Dh] rows; positions restart at each sequence. */
static void rope(float *x, int nh, const Model *m, const Batch *b) {
    const ModelConfig *c = &m->cfg;
    int Dh = c->head_dim, rd = c->rotary_dim, half = rd / 2;
    float inv[512];
    for (int i = 0; i < half && i < 512; i++) inv[i] = 1.0f / powf(c->rope_theta, (float)(2 * i) / (float)rd);
    for (int s = 0; s < b->n_seq; s++)
        for (int t = b->start[s]; t < b->start[s + 1]; t++) {
            float pos = (float)(t - b->start[s] + c->pos_offset);
            for (int i = 0; i < half; i++) {
                float ang = pos * inv[i], cs = cosf(ang), sn = sinf(ang);
                for (int h = 0; h < nh; h++) {
                    float *r = x + (size_t)t * nh * Dh + (size_t)h * Dh;
                    int i0 = c->rope == ROPE_HALF ? i : 2 * i, i1 = c->rope == ROPE_HALF ? i + half : 2 * i + 1;
                    float a0 = r[i0], a1 = r[i1];
                    r[i0] = a0 * cs - a1 * sn;
                    r[i1] = a1 * cs + a0 * sn;
                }
            }
        }
}

typedef struct Work {
    int T, max_len;
    float *x, *xn, *q, *k, *v, *att, *qkv, *tmp, *h, *g, *scratch, *ffo;
    void (*ffn_in)(void *ctx, int layer, const float *x, int T, int D, const Batch *b);
} Work;

static void attention(const Model *m, const LayerWeights *L, const float *xin, float *out, const Batch *b,
                      const float *rel_bias, Work *w) {
    const ModelConfig *c = &m->cfg;
    int T = w->T, H = c->n_head, Hkv = c->n_kv_head, Dh = c->head_dim;
    if (m->qkv_layout == QKV_SEPARATE) {
        modex_linear_forward(w->q, xin, &L->q, T);
        modex_linear_forward(w->k, xin, &L->k, T);
        modex_linear_forward(w->v, xin, &L->v, T);
    } else {
        modex_linear_forward(w->qkv, xin, &L->qkv, T);
        int W = L->qkv.out;
        for (int t = 0; t < T; t++) {
            const float *r = w->qkv + (size_t)t * W;
            if (m->qkv_layout == QKV_CONCAT) {
                memcpy(w->q + (size_t)t * H * Dh, r, sizeof(float) * (size_t)H * Dh);
                memcpy(w->k + (size_t)t * Hkv * Dh, r + H * Dh, sizeof(float) * (size_t)Hkv * Dh);
                memcpy(w->v + (size_t)t * Hkv * Dh, r + (H + Hkv) * Dh, sizeof(float) * (size_t)Hkv * Dh);
            } else { /* per head: (H, 3, Dh) */
                for (int h = 0; h < H; h++) {
                    memcpy(w->q + (size_t)t * H * Dh + (size_t)h * Dh, r + (size_t)h * 3 * Dh, sizeof(float) * (size_t)Dh);
                    memcpy(w->k + (size_t)t * H * Dh + (size_t)h * Dh, r + (size_t)h * 3 * Dh + Dh, sizeof(float) * (size_t)Dh);
                    memcpy(w->v + (size_t)t * H * Dh + (size_t)h * Dh, r + (size_t)h * 3 * Dh + 2 * Dh, sizeof(float) * (size_t)Dh);
                }
            }
        }
    }
    if (c->rope != ROPE_NONE) { rope(w->q, H, m, b); rope(w->k, Hkv, m, b); }
    AttnCtx a = {m, b, w->q, w->k, w->v, w->att, w->scratch, w->max_len, rel_bias};
    modex_parallel_for((int64_t)b->n_seq * H, 1, attn_items, &a);
    modex_linear_forward(out, w->att, &L->o, T);
}

// --- FFN ---------------------------------------------------------------------------------------

typedef struct { float *h; const float *g; int64_t n; } MulCtx;
static void mul_range(void *c, int64_t b, int64_t e, int th) {
    (void)th;
    const MulCtx *k = c;
    for (int64_t i = b; i < e; i++) k->h[i] *= k->g[i];
}

static int ffn_dense(const Model *m, int layer, const float *xin, float *out, const Batch *b, const ForwardHooks *hk, Work *w) {
    const LayerWeights *L = &m->layers[layer];
    int T = w->T, F = m->cfg.d_ff;
    if (w->ffn_in) w->ffn_in(hk ? hk->ctx : NULL, layer, xin, T, m->cfg.d_model, b);
    if (L->gate.w) {
        modex_linear_forward(w->g, xin, &L->gate, T);
        modex_activation(w->g, (int64_t)T * F, m->cfg.act);
        modex_linear_forward(w->h, xin, &L->up, T);
        MulCtx mc = {w->h, w->g, (int64_t)T * F};
        modex_parallel_for(mc.n, 8192, mul_range, &mc);
    } else {
        modex_linear_forward(w->h, xin, &L->up, T);
        modex_activation(w->h, (int64_t)T * F, m->cfg.act);
    }
    if (hk && hk->ffn && hk->ffn(hk->ctx, layer, w->h, T, F, b)) return 1;
    modex_linear_forward(out, w->h, &L->down, T);
    return 0;
}

/* Mixtral-style MoE: softmax router, top-k, renormalised weights, one sgemm per expert over
 * the tokens routed to it. The hook sees [T x E*F] expert-major (zeros where unused). */
static int ffn_moe(const Model *m, int layer, const float *xin, float *out, const Batch *b, const ForwardHooks *hk,
                   const unsigned char *mask, Work *w) {
    const LayerWeights *L = &m->layers[layer];
    const ModelConfig *c = &m->cfg;
    int T = w->T, F = c->d_ff, E = c->n_experts, K = c->top_k, D = c->d_model;
    if (w->ffn_in) w->ffn_in(hk ? hk->ctx : NULL, layer, xin, T, D, b);
    float *logits = modex_xmalloc(sizeof(float) * (size_t)T * E);
    int *chosen = modex_xmalloc(sizeof(int) * (size_t)T * K);
    float *cw = modex_xmalloc(sizeof(float) * (size_t)T * K);
    modex_linear_forward(logits, xin, &L->router, T);
    for (int t = 0; t < T; t++) {
        const float *lg = logits + (size_t)t * E;
        float mx = -INFINITY, p[256];
        for (int e = 0; e < E; e++) if (lg[e] > mx) mx = lg[e];
        float s = 0;
        for (int e = 0; e < E; e++) { p[e] = expf(lg[e] - mx); s += p[e]; }
        for (int e = 0; e < E; e++) { p[e] /= s; if (mask && mask[e]) p[e] = -1.0f; }
        float tot = 0;
        for (int k = 0; k < K; k++) {
            int best = -1;
            for (int e = 0; e < E; e++) if (p[e] >= 0 && (best < 0 || p[e] > p[best])) best = e;
            chosen[(size_t)t * K + k] = best;
            cw[(size_t)t * K + k] = best >= 0 ? p[best] : 0.0f;
            if (best >= 0) { tot += p[best]; p[best] = -1.0f; }
        }
        for (int k = 0; k < K; k++) cw[(size_t)t * K + k] = tot > 0 ? cw[(size_t)t * K + k] / tot : 0.0f;
    }
    if (hk && hk->router) hk->router(hk->ctx, layer, logits, chosen, T, E, K);
    int want_hook = hk && hk->ffn;
    float *full = want_hook ? modex_xcalloc((size_t)T * E * F, sizeof(float)) : NULL;
    int *tok = modex_xmalloc(sizeof(int) * (size_t)T);
    float *xs = modex_xmalloc(sizeof(float) * (size_t)T * D), *hs = modex_xmalloc(sizeof(float) * (size_t)T * F),
          *gs = modex_xmalloc(sizeof(float) * (size_t)T * F), *ys = modex_xmalloc(sizeof(float) * (size_t)T * D);
    float **hsave = modex_xcalloc((size_t)E, sizeof(float *));
    int **toksave = modex_xcalloc((size_t)E, sizeof(int *)), *nsave = modex_xcalloc((size_t)E, sizeof(int));
    /* pass 1: activations per expert */
    for (int e = 0; e < E; e++) {
        int n = 0;
        for (int t = 0; t < T; t++)
            for (int k = 0; k < K; k++) if (chosen[(size_t)t * K + k] == e) { tok[n++] = t; break; }
        if (!n) continue;
        for (int i = 0; i < n; i++) memcpy(xs + (size_t)i * D, xin + (size_t)tok[i] * D, sizeof(float) * (size_t)D);
        modex_linear_forward(gs, xs, &L->e_gate[e], n);
        modex_activation(gs, (int64_t)n * F, c->act);
        modex_linear_forward(hs, xs, &L->e_up[e], n);
        for (int64_t i = 0; i < (int64_t)n * F; i++) hs[i] *= gs[i];
        hsave[e] = modex_xmalloc(sizeof(float) * (size_t)n * F);
        memcpy(hsave[e], hs, sizeof(float) * (size_t)n * F);
        toksave[e] = modex_xmalloc(sizeof(int) * (size_t)n);
        memcpy(toksave[e], tok, sizeof(int) * (size_t)n);
        nsave[e] = n;
        if (full)
            for (int i = 0; i < n; i++) memcpy(full + (size_t)tok[i] * E * F + (size_t)e * F, hs + (size_t)i * F, sizeof(float) * (size_t)F);
    }
    int rc = 0;
    if (full && hk->ffn(hk->ctx, layer, full, T, E * F, b)) rc = 1;
    memset(out, 0, sizeof(float) * (size_t)T * D);
    for (int e = 0; e < E && !rc; e++) {
        int n = nsave[e];
        if (!n) continue;
        if (full)
            for (int i = 0; i < n; i++) memcpy(hsave[e] + (size_t)i * F, full + (size_t)toksave[e][i] * E * F + (size_t)e * F, sizeof(float) * (size_t)F);
        modex_linear_forward(ys, hsave[e], &L->e_down[e], n);
        for (int i = 0; i < n; i++) {
            int t = toksave[e][i];
            float wgt = 0;
            for (int k = 0; k < K; k++) if (chosen[(size_t)t * K + k] == e) wgt = cw[(size_t)t * K + k];
            for (int d = 0; d < D; d++) out[(size_t)t * D + d] += wgt * ys[(size_t)i * D + d];
        }
    }
    for (int e = 0; e < E; e++) { free(hsave[e]); free(toksave[e]); }
    free(hsave); free(toksave); free(nsave);
    free(full); free(tok); free(xs); free(hs); free(gs); free(ys); free(logits); free(chosen); free(cw);
    return rc;
}

// --- the whole pass --------------------------------------------------------------------------

static void add_into(float *x, const float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] += y[i];
}

int modex_forward(const Model *m, const Batch *b, const ForwardOpts *opts, const ForwardHooks *hk, float *out, Error *err) {
    static const ForwardOpts none = {0};
    if (!opts) opts = &none;
    const ModelConfig *c = &m->cfg;
    int D = c->d_model, H = c->n_head, Hkv = c->n_kv_head, Dh = c->head_dim, F = c->d_ff, V = c->vocab;
    if (b->n_seq <= 0) return 0;
    int T = b->start[b->n_seq], max_len = 0;
    for (int s = 0; s < b->n_seq; s++) {
        int n = b->start[s + 1] - b->start[s];
        if (n <= 0) return modex_error(err, "batch", "sequence %d is empty (at least one token)", s);
        if (n > max_len) max_len = n;
        if (c->learned_pos && n + c->pos_offset > c->max_pos)
            return modex_error(err, "batch", "sequence %d has %d tokens (at most %d positions)", s, n, c->max_pos - c->pos_offset);
    }
    if (opts->start_layer == 0)
        for (int t = 0; t < T; t++)
            if (b->ids[t] < 0 || b->ids[t] >= V)
                return modex_error(err, "ids", "token %d: id %d outside the vocabulary (0..%d)", t, b->ids[t], V - 1);
    int stop = opts->stop_layer > 0 && opts->stop_layer < c->n_layer ? opts->stop_layer : c->n_layer;
    Work w = {.T = T, .max_len = max_len, .ffn_in = opts->ffn_in};
    size_t TD = (size_t)T * D;
    int qkv_w = m->qkv_layout == QKV_SEPARATE ? 0 : m->layers[0].qkv.out;
    w.x = modex_xmalloc(sizeof(float) * TD);
    w.xn = modex_xmalloc(sizeof(float) * TD);
    w.tmp = modex_xmalloc(sizeof(float) * TD);
    w.ffo = modex_xmalloc(sizeof(float) * TD);
    w.q = modex_xmalloc(sizeof(float) * (size_t)T * H * Dh);
    w.att = modex_xmalloc(sizeof(float) * (size_t)T * H * Dh);
    w.k = modex_xmalloc(sizeof(float) * (size_t)T * Hkv * Dh);
    w.v = modex_xmalloc(sizeof(float) * (size_t)T * Hkv * Dh);
    w.qkv = qkv_w ? modex_xmalloc(sizeof(float) * (size_t)T * qkv_w) : NULL;
    w.h = modex_xmalloc(sizeof(float) * (size_t)T * F);
    w.g = modex_xmalloc(sizeof(float) * (size_t)T * F);
    w.scratch = modex_xmalloc(sizeof(float) * (size_t)max_len * (size_t)(c->head_dim + 1) * (size_t)(modex_threads() + 1));
    int rc = 0;
    float *x = w.x;
    /* embeddings */
    if (opts->start_layer > 0) {
        memcpy(x, opts->start_x, sizeof(float) * TD);
    } else {
        for (int s = 0; s < b->n_seq; s++)
            for (int t = b->start[s]; t < b->start[s + 1]; t++) {
                float *r = x + (size_t)t * D;
                memcpy(r, m->tok_emb + (size_t)b->ids[t] * D, sizeof(float) * (size_t)D);
                if (c->learned_pos) {
                    const float *p = m->pos_emb + (size_t)(t - b->start[s] + c->pos_offset) * D;
                    for (int d = 0; d < D; d++) r[d] += p[d];
                }
                if (m->type_emb) for (int d = 0; d < D; d++) r[d] += m->type_emb[d];
            }
        if (m->emb_norm.w) { modex_norm_forward(w.tmp, x, &m->emb_norm, c->norm, c->norm_eps, T, D); memcpy(x, w.tmp, sizeof(float) * TD); }
        if (hk && hk->hidden && !(c->n_layer == 0)) hk->hidden(hk->ctx, 0, x, T, D, b);
    }
    const float *rel_bias = m->layers[0].rel_bias;
    for (int l = opts->start_layer; l < stop && !rc; l++) {
        const LayerWeights *L = &m->layers[l];
        if (opts->save_x && opts->save_layer == l) memcpy(opts->save_x, x, sizeof(float) * TD);
        const unsigned char *emask = opts->expert_mask && c->n_experts ? opts->expert_mask + (size_t)l * c->n_experts : NULL;
        if (c->post_norm) { /* BERT */
            attention(m, L, x, w.tmp, b, rel_bias, &w);
            add_into(w.tmp, x, (int64_t)TD);
            modex_norm_forward(x, w.tmp, &L->attn_norm, c->norm, c->norm_eps, T, D);
            rc = c->n_experts ? ffn_moe(m, l, x, w.ffo, b, hk, emask, &w) : ffn_dense(m, l, x, w.ffo, b, hk, &w);
            if (rc) break;
            add_into(w.ffo, x, (int64_t)TD);
            modex_norm_forward(x, w.ffo, &L->ffn_norm, c->norm, c->norm_eps, T, D);
        } else if (c->parallel_residual) { /* NeoX */
            modex_norm_forward(w.xn, x, &L->attn_norm, c->norm, c->norm_eps, T, D);
            attention(m, L, w.xn, w.tmp, b, rel_bias, &w);
            modex_norm_forward(w.xn, x, &L->ffn_norm, c->norm, c->norm_eps, T, D);
            rc = c->n_experts ? ffn_moe(m, l, w.xn, w.ffo, b, hk, emask, &w) : ffn_dense(m, l, w.xn, w.ffo, b, hk, &w);
            if (rc) break;
            add_into(x, w.tmp, (int64_t)TD);
            add_into(x, w.ffo, (int64_t)TD);
        } else {
            modex_norm_forward(w.xn, x, &L->attn_norm, c->norm, c->norm_eps, T, D);
            attention(m, L, w.xn, w.tmp, b, rel_bias, &w);
            add_into(x, w.tmp, (int64_t)TD);
            modex_norm_forward(w.xn, x, &L->ffn_norm, c->norm, c->norm_eps, T, D);
            rc = c->n_experts ? ffn_moe(m, l, w.xn, w.ffo, b, hk, emask, &w) : ffn_dense(m, l, w.xn, w.ffo, b, hk, &w);
            if (rc) break;
            add_into(x, w.ffo, (int64_t)TD);
        }
        int last = l == c->n_layer - 1;
        if (last && m->final_norm.w) {
            modex_norm_forward(w.tmp, x, &m->final_norm, c->norm, c->norm_eps, T, D);
            memcpy(x, w.tmp, sizeof(float) * TD);
        }
        if (hk && hk->hidden) hk->hidden(hk->ctx, l + 1, x, T, D, b);
    }
    if (!rc && stop == c->n_layer && out) {
        if (!c->causal || !m->lm_head.w) {
            memcpy(out, x, sizeof(float) * TD);
        } else if (opts->logits == LOGITS_ALL) {
            modex_linear_forward(out, x, &m->lm_head, T);
        } else if (opts->logits == LOGITS_ROWS && opts->n_rows > 0) {
            float *sel = modex_xmalloc(sizeof(float) * (size_t)opts->n_rows * D);
            for (int i = 0; i < opts->n_rows; i++) memcpy(sel + (size_t)i * D, x + (size_t)opts->rows[i] * D, sizeof(float) * (size_t)D);
            modex_linear_forward(out, sel, &m->lm_head, opts->n_rows);
            free(sel);
        }
    }
    free(w.x); free(w.xn); free(w.tmp); free(w.ffo); free(w.q); free(w.att); free(w.k); free(w.v); free(w.qkv);
    free(w.h); free(w.g); free(w.scratch);
    (void)Dh;
    return rc;
}
