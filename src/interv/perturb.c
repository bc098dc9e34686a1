/* perturb.c — the perturbation engine (perturb.h): masks, the clean run with its cache of
 * per-layer hidden states, masked evaluations resumed from the first masked layer, metrics
 * (answer accuracy, LM loss, relative change) and the random baseline. */
#include "modex/perturb.h"
#include "modex/analysis.h"
#include "modex/forward.h"
#include "modex/parallel.h"
#include "modex/rng.h"
#include "modex/util.h"
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

// --- modes and metric names -----------------------------------------------------------------

const char *modex_perturb_mode_name(PerturbMode m) {
    return m == PERTURB_ZERO ? "zero" : m == PERTURB_MEAN ? "mean" : "shuffle";
}

int modex_perturb_mode_parse(const char *s, PerturbMode *m) {
    if (!strcmp(s, "zero")) *m = PERTURB_ZERO;
    else if (!strcmp(s, "mean")) *m = PERTURB_MEAN;
    else if (!strcmp(s, "shuffle")) *m = PERTURB_SHUFFLE;
    else return -1;
    return 0;
}

const char *modex_perturb_metric_name(int kind) {
    return kind == 0 ? "accuracy" : kind == 1 ? "loss" : "rel_change";
}

// --- masks ------------------------------------------------------------------------------------

void modex_mask_init(PerturbMask *k, const Model *m) {
    k->n_layer = m->cfg.n_layer;
    k->width = modex_ffn_width(m);
    k->on = modex_xcalloc((size_t)k->n_layer * k->width + 1, 1);
}

void modex_mask_free(PerturbMask *k) {
    if (!k) return;
    free(k->on);
    k->on = NULL;
}

void modex_mask_copy(PerturbMask *dst, const PerturbMask *src) {
    dst->n_layer = src->n_layer;
    dst->width = src->width;
    size_t n = (size_t)src->n_layer * src->width;
    dst->on = modex_xmalloc(n + 1);
    memcpy(dst->on, src->on, n);
}

void modex_mask_clear(PerturbMask *k) { memset(k->on, 0, (size_t)k->n_layer * k->width); }

void modex_mask_set_expert(PerturbMask *k, int layer, const int *assign, int expert, int on) {
    if (layer < 0 || layer >= k->n_layer || !assign) return;
    unsigned char *r = k->on + (size_t)layer * k->width;
    for (int j = 0; j < k->width; j++)
        if (assign[j] == expert) r[j] = on ? 1 : 0;
}

int modex_mask_layer_count(const PerturbMask *k, int layer) {
    const unsigned char *r = k->on + (size_t)layer * k->width;
    int n = 0;
    for (int j = 0; j < k->width; j++) n += r[j] != 0;
    return n;
}

int modex_mask_count(const PerturbMask *k) {
    int n = 0;
    for (int l = 0; l < k->n_layer; l++) n += modex_mask_layer_count(k, l);
    return n;
}

int modex_mask_first_layer(const PerturbMask *k) {
    for (int l = 0; l < k->n_layer; l++)
        if (modex_mask_layer_count(k, l)) return l;
    return -1;
}

int modex_mask_layer_experts(const PerturbMask *k, int layer, const int *assign, int E) {
    const unsigned char *r = k->on + (size_t)layer * k->width;
    int *on = modex_xcalloc((size_t)E + 1, sizeof(int)), *sz = modex_xcalloc((size_t)E + 1, sizeof(int));
    int ok = 1, full = 0;
    for (int j = 0; j < k->width; j++) {
        int e = assign[j];
        if (e < 0 || e >= E) { if (r[j]) ok = 0; continue; }
        sz[e]++;
        on[e] += r[j] != 0;
    }
    for (int e = 0; e < E && ok; e++) {
        if (on[e] && on[e] != sz[e]) ok = 0;
        else if (on[e]) full++;
    }
    free(on); free(sz);
    return ok ? full : -1;
}

// --- the perturber ----------------------------------------------------------------------------

typedef struct PBatch {
    int n_seq, T;
    int *texts;       /* [n_seq] probe text of each sequence */
    int *start;       /* [n_seq + 1] */
    int32_t *ids;     /* [T] */
    float **x;        /* [n_layer] cached input of layer l [T x D], NULL if not cached */
    float *clean_h;   /* encoders: clean final hidden state [T x D] */
} PBatch;

typedef struct TextStats {
    double loss_sum, rel_sum;
    long loss_n, rel_n;
    int32_t pred;     /* argmax at the answer position, -1 none */
    int all_ok;       /* answer sequences: every answer token was the argmax (teacher forced) */
} TextStats;

struct Perturber {
    const Model *m;
    const Tokenizer *t;
    const Probe *p;
    int L, W, D, causal, n_suffix;
    int32_t **ids; int *n_ids; int *ub, *ue;  /* [n_seq]: the texts, then answer sequences */
    int n_seq;                /* sequences run: n_texts, plus one per answer of 2+ tokens when answer_all */
    int *seq_row;             /* [n_seq] row of an answer sequence (-1 for texts) */
    int n_tokens;             /* tokens of the texts */
    int *text_off;            /* [n_texts] offset of each text in probe order */
    int32_t *ans;             /* [n_rows] answer's first token, -1 none */
    int32_t **ans_ids; int *ans_n; /* [n_rows] every token of the answer */
    int32_t **ctx_ids; int *ctx_n; /* [n_rows] rows with a span: the tokens of the text before it */
    int answer_all;           /* accuracy: every answer token (teacher forced), not only the first */
    int *row_seq;             /* [n_rows] answer sequence of a row, -1 */
    int *pred_pos;            /* [n_seq] position the answer is predicted from (answer sequences: of its first token) */
    unsigned char *need_loss, *need_ans; /* [n_seq] */
    int **sub_texts; int *n_sub_texts;   /* texts behind loss/change per sub-function */
    int *sub_has_ans;         /* [n_subs] */
    int batch_tokens, reuse;
    size_t cache_bytes;
    int n_batch;
    PBatch *b;
    unsigned char *cached;    /* [n_layer] */
    float *mean;              /* [n_layer * W] */
    int clean_done;
    TextStats *clean_stats;   /* [n_texts] */
    pthread_mutex_t mu;
};

/* A statement that ends with its span ("The capital of France is Paris.": only punctuation
 * and blanks follow the span) is completed at the span; any other text at its end. */
static int span_ends_text(const char *text, size_t len, const ProbeUnit *u) {
    if (u->span_begin < 0) return 0;
    for (size_t i = (size_t)u->span_end; i < len; i++)
        if (!strchr(" \t.,!?;:'\"", text[i])) return 0;
    return 1;
}

/* The answer's tokens for a row (rule in perturb.h). Rows whose text ends with the span
 * predict the answer from the text before the span (its trailing blanks dropped when the
 * answer starts with one: "The capital of France is| Paris"); other rows from the whole text. */
static int answer_token(Perturber *pt, int row, Error *err) {
    const Probe *p = pt->p;
    const ProbeRow *r = &p->rows[row];
    const ProbeUnit *u = &p->units[r->unit];
    int ti = u->text;
    size_t lt = p->text_len[ti], la = strlen(r->answer);
    const int32_t *ctx = pt->ids[ti];
    int n = pt->n_ids[ti] - pt->n_suffix;
    TokEncoding ce = {0};
    if (span_ends_text(p->texts[ti], lt, u)) {
        lt = (size_t)u->span_begin;
        if (la && (r->answer[0] == ' ' || r->answer[0] == '\t'))
            while (lt > 0 && (p->texts[ti][lt - 1] == ' ' || p->texts[ti][lt - 1] == '\t')) lt--;
        if (lt == 0) return modex_error_line(err, p->path, r->line, 0, "span starts the text: no context to predict the answer from (text before the span)");
        if (modex_tok_encode(pt->t, p->texts[ti], lt, 1, &ce, err)) return -1;
        n = ce.n - pt->n_suffix;
        if (n <= 0) { modex_tok_encoding_free(&ce); return modex_error_line(err, p->path, r->line, 0, "no token before the span (text before the span)"); }
        pt->ctx_ids[row] = modex_xmalloc(sizeof(int32_t) * (size_t)n);
        memcpy(pt->ctx_ids[row], ce.ids, sizeof(int32_t) * (size_t)n);
        pt->ctx_n[row] = n;
        ctx = pt->ctx_ids[row];
        modex_tok_encoding_free(&ce);
    }
    char *cat = modex_xmalloc(lt + la + 1);
    memcpy(cat, p->texts[ti], lt);
    memcpy(cat + lt, r->answer, la + 1);
    TokEncoding e = {0};
    if (modex_tok_encode(pt->t, cat, lt + la, 1, &e, err)) { free(cat); return -1; }
    free(cat);
    int na = e.n - n - pt->n_suffix;
    int prefix = na > 0;
    for (int i = 0; i < n && prefix; i++) prefix = e.ids[i] == ctx[i];
    if (prefix) {
        pt->ans_ids[row] = modex_xmalloc(sizeof(int32_t) * (size_t)na);
        memcpy(pt->ans_ids[row], e.ids + n, sizeof(int32_t) * (size_t)na);
        pt->ans_n[row] = na;
    }
    modex_tok_encoding_free(&e);
    if (!prefix) { /* the context's last token merges with the answer: the answer alone */
        if (modex_tok_encode(pt->t, r->answer, la, 0, &e, err)) return -1;
        if (e.n > 0) {
            pt->ans_ids[row] = modex_xmalloc(sizeof(int32_t) * (size_t)e.n);
            memcpy(pt->ans_ids[row], e.ids, sizeof(int32_t) * (size_t)e.n);
            pt->ans_n[row] = e.n;
        }
        modex_tok_encoding_free(&e);
    }
    if (!pt->ans_n[row]) return modex_error_line(err, p->path, r->line, 0, "answer gives no token (a non-empty answer)");
    for (int i = 0; i < pt->ans_n[row]; i++)
        if (pt->ans_ids[row][i] < 0 || pt->ans_ids[row][i] >= pt->m->cfg.vocab)
            return modex_error_line(err, p->path, r->line, 0, "answer token %d outside the model's vocabulary (%d)", pt->ans_ids[row][i],
                                    pt->m->cfg.vocab);
    pt->ans[row] = pt->ans_ids[row][0];
    return 0;
}

Perturber *modex_perturber_new(const Model *m, const Tokenizer *t, const Probe *p, Error *err) {
    Perturber *pt = modex_xcalloc(1, sizeof *pt);
    pt->m = m; pt->t = t; pt->p = p;
    pt->L = m->cfg.n_layer; pt->W = modex_ffn_width(m); pt->D = m->cfg.d_model;
    pt->causal = m->cfg.causal && m->lm_head.w;
    pt->batch_tokens = 2048;
    pt->cache_bytes = (size_t)1 << 30;
    pt->reuse = 1;
    pthread_mutex_init(&pt->mu, NULL);
    modex_tok_special_added(t, NULL, NULL, NULL, &pt->n_suffix);
    if (modex_probe_tokenize(t, p, &pt->ids, &pt->n_ids, &pt->ub, &pt->ue, err)) { pt->ids = NULL; goto fail; }
    pt->n_seq = p->n_texts;
    pt->text_off = modex_xmalloc(sizeof(int) * (size_t)(p->n_texts + 1));
    for (int i = 0; i < p->n_texts; i++) {
        if (m->cfg.learned_pos && pt->n_ids[i] > m->cfg.max_pos) {
            modex_error(err, p->path, "text %d has %d tokens (the model takes at most %d)", i + 1, pt->n_ids[i], m->cfg.max_pos);
            goto fail;
        }
        pt->text_off[i] = pt->n_tokens;
        pt->n_tokens += pt->n_ids[i];
    }
    pt->text_off[p->n_texts] = pt->n_tokens;
    /* answers and prediction positions */
    pt->ans = modex_xmalloc(sizeof(int32_t) * (size_t)(p->n_rows + 1));
    pt->ans_ids = modex_xcalloc((size_t)p->n_rows + 1, sizeof(int32_t *));
    pt->ans_n = modex_xcalloc((size_t)p->n_rows + 1, sizeof(int));
    pt->ctx_ids = modex_xcalloc((size_t)p->n_rows + 1, sizeof(int32_t *));
    pt->ctx_n = modex_xcalloc((size_t)p->n_rows + 1, sizeof(int));
    pt->row_seq = modex_xmalloc(sizeof(int) * (size_t)(p->n_rows + 1));
    for (int r = 0; r < p->n_rows; r++) pt->row_seq[r] = -1;
    pt->pred_pos = modex_xmalloc(sizeof(int) * (size_t)(p->n_texts + 1));
    pt->need_ans = modex_xcalloc((size_t)p->n_texts + 1, 1);
    pt->need_loss = modex_xcalloc((size_t)p->n_texts + 1, 1);
    for (int i = 0; i < p->n_texts; i++) pt->pred_pos[i] = MODEX_MAX(0, pt->n_ids[i] - 1 - pt->n_suffix);
    for (int r = 0; r < p->n_rows; r++) {
        pt->ans[r] = -1;
        if (!pt->causal || !p->rows[r].answer || !p->rows[r].answer[0]) continue;
        if (answer_token(pt, r, err)) goto fail;
        if (!pt->ctx_n[r]) pt->need_ans[p->units[p->rows[r].unit].text] = 1;
    }
    /* texts per sub-function */
    pt->sub_texts = modex_xcalloc((size_t)p->n_subs + 1, sizeof(int *));
    pt->n_sub_texts = modex_xcalloc((size_t)p->n_subs + 1, sizeof(int));
    pt->sub_has_ans = modex_xcalloc((size_t)p->n_subs + 1, sizeof(int));
    unsigned char *seen = modex_xcalloc((size_t)p->n_texts + 1, 1);
    for (int s = 0; s < p->n_subs; s++) {
        const SubFunction *S = &p->subs[s];
        int want_label = S->n_pos > 0 ? 1 : -1;
        pt->sub_texts[s] = modex_xmalloc(sizeof(int) * (size_t)(S->n_rows + 1));
        for (int q = 0; q < S->n_rows; q++) {
            const ProbeRow *r = &p->rows[S->rows[q]];
            if (pt->ans[S->rows[q]] >= 0) pt->sub_has_ans[s] = 1;
            if (want_label == 1 && r->label != 1) continue;
            int ti = p->units[r->unit].text;
            if (seen[ti]) continue;
            seen[ti] = 1;
            pt->sub_texts[s][pt->n_sub_texts[s]++] = ti;
            pt->need_loss[ti] = 1;
        }
        for (int k = 0; k < pt->n_sub_texts[s]; k++) seen[pt->sub_texts[s][k]] = 0;
    }
    free(seen);
    return pt; /* batches are planned at the clean run */
fail:
    modex_perturber_free(pt);
    return NULL;
}

void modex_perturber_set_cache_bytes(Perturber *pt, size_t bytes) { pt->cache_bytes = bytes; }
void modex_perturber_set_reuse(Perturber *pt, int reuse) { pt->reuse = reuse; }
void modex_perturber_set_answer_all(Perturber *pt, int all) {
    pthread_mutex_lock(&pt->mu);
    if (pt->answer_all != (all != 0)) { pt->answer_all = all != 0; pt->clean_done = 0; }
    pthread_mutex_unlock(&pt->mu);
}
void modex_perturber_set_batch_tokens(Perturber *pt, int tokens) { if (tokens > 0) pt->batch_tokens = tokens; }
int  modex_perturber_n_tokens(const Perturber *pt) { return pt->n_tokens; }
const float *modex_perturber_means(const Perturber *pt) { return pt->clean_done ? pt->mean : NULL; }

static void batches_free(Perturber *pt) {
    for (int i = 0; i < pt->n_batch; i++) {
        PBatch *b = &pt->b[i];
        if (b->x) for (int l = 0; l < pt->L; l++) free(b->x[l]);
        free(b->x); free(b->texts); free(b->start); free(b->ids); free(b->clean_h);
    }
    free(pt->b);
    pt->b = NULL;
    pt->n_batch = 0;
}

void modex_perturber_free(Perturber *pt) {
    if (!pt) return;
    batches_free(pt);
    if (pt->ids) for (int i = 0; i < pt->n_seq; i++) free(pt->ids[i]);
    if (pt->ans_ids) for (int r = 0; r < pt->p->n_rows; r++) free(pt->ans_ids[r]);
    if (pt->ctx_ids) for (int r = 0; r < pt->p->n_rows; r++) free(pt->ctx_ids[r]);
    free(pt->ctx_ids); free(pt->ctx_n);
    free(pt->ans_ids); free(pt->ans_n); free(pt->row_seq); free(pt->seq_row);
    free(pt->ids); free(pt->n_ids); free(pt->ub); free(pt->ue);
    free(pt->text_off); free(pt->ans); free(pt->pred_pos); free(pt->need_ans); free(pt->need_loss);
    if (pt->sub_texts) for (int s = 0; s < pt->p->n_subs; s++) free(pt->sub_texts[s]);
    free(pt->sub_texts); free(pt->n_sub_texts); free(pt->sub_has_ans);
    free(pt->cached); free(pt->mean); free(pt->clean_stats);
    pthread_mutex_destroy(&pt->mu);
    free(pt);
}

/* Answer sequences: context + answer, for every answer of two or more tokens (answer_all),
 * and for every row with a span (its context is the text before the span; without
 * answer_all only the answer's first token is appended). */
static void answer_sequences(Perturber *pt) {
    const Probe *p = pt->p;
    for (int i = p->n_texts; i < pt->n_seq; i++) free(pt->ids[i]);
    pt->n_seq = p->n_texts;
    int extra = 0;
    for (int r = 0; r < p->n_rows; r++) { pt->row_seq[r] = -1; extra += pt->ctx_n[r] > 0 || (pt->answer_all && pt->ans_n[r] > 1); }
    int n = p->n_texts + extra;
    pt->ids = modex_xrealloc(pt->ids, sizeof(int32_t *) * (size_t)(n + 1));
    pt->n_ids = modex_xrealloc(pt->n_ids, sizeof(int) * (size_t)(n + 1));
    pt->pred_pos = modex_xrealloc(pt->pred_pos, sizeof(int) * (size_t)(n + 1));
    pt->need_ans = modex_xrealloc(pt->need_ans, (size_t)n + 1);
    pt->need_loss = modex_xrealloc(pt->need_loss, (size_t)n + 1);
    free(pt->seq_row);
    pt->seq_row = modex_xmalloc(sizeof(int) * (size_t)(n + 1));
    for (int i = 0; i < p->n_texts; i++) pt->seq_row[i] = -1;
    for (int r = 0; r < p->n_rows && extra; r++) {
        if (!pt->ctx_n[r] && !(pt->answer_all && pt->ans_n[r] > 1)) continue;
        int ti = p->units[p->rows[r].unit].text, k = pt->n_seq++;
        int nt = pt->ctx_n[r] ? pt->ctx_n[r] : pt->n_ids[ti] - pt->n_suffix, na = pt->answer_all ? pt->ans_n[r] : 1;
        const int32_t *ctx = pt->ctx_n[r] ? pt->ctx_ids[r] : pt->ids[ti];
        pt->n_ids[k] = nt + na;
        pt->ids[k] = modex_xmalloc(sizeof(int32_t) * (size_t)pt->n_ids[k]);
        memcpy(pt->ids[k], ctx, sizeof(int32_t) * (size_t)nt);
        memcpy(pt->ids[k] + nt, pt->ans_ids[r], sizeof(int32_t) * (size_t)na);
        pt->pred_pos[k] = nt - 1;
        pt->need_ans[k] = 1;
        pt->need_loss[k] = 0;
        pt->seq_row[k] = r;
        pt->row_seq[r] = k;
    }
}

static void plan(Perturber *pt) {
    answer_sequences(pt);
    int nt = pt->n_seq;
    int *order = modex_xmalloc(sizeof(int) * (size_t)(nt + 1));
    modex_batch_order(order, nt, pt->ids, pt->n_ids);
    pt->b = modex_xcalloc((size_t)nt + 1, sizeof(PBatch));
    for (int i = 0; i < nt;) {
        PBatch *b = &pt->b[pt->n_batch++];
        int j = i, T = 0;
        while (j < nt && (j == i || T + pt->n_ids[order[j]] <= pt->batch_tokens)) T += pt->n_ids[order[j++]];
        b->n_seq = j - i;
        b->T = T;
        b->texts = modex_xmalloc(sizeof(int) * (size_t)b->n_seq);
        b->start = modex_xmalloc(sizeof(int) * (size_t)(b->n_seq + 1));
        b->ids = modex_xmalloc(sizeof(int32_t) * (size_t)T);
        b->x = modex_xcalloc((size_t)pt->L, sizeof(float *));
        int o = 0;
        for (int s = 0; s < b->n_seq; s++) {
            int ti = order[i + s];
            b->texts[s] = ti;
            b->start[s] = o;
            memcpy(b->ids + o, pt->ids[ti], sizeof(int32_t) * (size_t)pt->n_ids[ti]);
            o += pt->n_ids[ti];
        }
        b->start[b->n_seq] = o;
        i = j;
    }
    free(order);
    /* which layer inputs to cache: all of 1..L-1 if they fit, else every s-th */
    pt->cached = modex_xcalloc((size_t)pt->L + 1, 1);
    size_t all = 0;
    for (int i = 0; i < pt->n_seq; i++) all += (size_t)pt->n_ids[i];
    size_t per = all * pt->D * sizeof(float);
    size_t k = per ? pt->cache_bytes / per : 0;
    if (pt->L > 1 && k > 0) {
        int s = (int)(((size_t)pt->L + k) / (k + 1)); /* ceil(L / (k+1)) */
        if (s < 1) s = 1;
        for (int l = s; l < pt->L; l += s) pt->cached[l] = 1;
    }
}

// --- one batch --------------------------------------------------------------------------------

typedef struct EvalCtx {
    Perturber *pt;
    int batch;
    /* clean run */
    int clean;
    double *sum;              /* [L * W] activation sums */
    /* masked run */
    int **sel; int *n_sel;    /* [L] selected neurons per layer */
    PerturbMode mode;
    unsigned long long seed;
    float *final;             /* [T x D] final hidden state of the batch */
    const PerturbHook *custom;
    int (*cancelled)(void *); void *cctx;
} EvalCtx;

static uint64_t mix64(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int hook_ffn(void *c, int layer, float *act, int T, int width, const Batch *b) {
    (void)b;
    EvalCtx *e = c;
    if (e->cancelled && e->cancelled(e->cctx)) return 1;
    if (e->sum) { /* the texts' tokens (not answer sequences) */
        double *s = e->sum + (size_t)layer * width;
        const PBatch *pb = &e->pt->b[e->batch];
        for (int q = 0; q < pb->n_seq; q++) {
            if (pb->texts[q] >= e->pt->p->n_texts) continue;
            for (int t = pb->start[q]; t < pb->start[q + 1]; t++) {
                const float *r = act + (size_t)t * width;
                for (int j = 0; j < width; j++) s[j] += r[j];
            }
        }
    }
    if (e->custom && e->custom->ffn && layer >= e->custom->first_layer && e->custom->ffn(e->custom->ctx, layer, act, T, width)) return 1;
    if (!e->sel || !e->n_sel[layer]) return 0;
    int n = e->n_sel[layer];
    const int *sel = e->sel[layer];
    if (e->mode == PERTURB_ZERO) {
        for (int t = 0; t < T; t++)
            for (int i = 0; i < n; i++) act[(size_t)t * width + sel[i]] = 0.0f;
    } else if (e->mode == PERTURB_MEAN) {
        const float *mu = e->pt->mean + (size_t)layer * width;
        for (int t = 0; t < T; t++)
            for (int i = 0; i < n; i++) act[(size_t)t * width + sel[i]] = mu[sel[i]];
    } else { /* the paper's shuffle: permute over tokens and neurons, x4, ReLU */
        size_t N = (size_t)T * n;
        float *v = modex_xmalloc(sizeof(float) * N);
        for (int t = 0; t < T; t++)
            for (int i = 0; i < n; i++) v[(size_t)t * n + i] = act[(size_t)t * width + sel[i]];
        Rng r;
        modex_rng_seed(&r, mix64(mix64(e->seed ^ mix64((uint64_t)e->batch + 1)) ^ ((uint64_t)layer + 1)));
        for (size_t i = N; i > 1; i--) {
            size_t j = (size_t)modex_rng_below(&r, i);
            float x = v[i - 1]; v[i - 1] = v[j]; v[j] = x;
        }
        for (int t = 0; t < T; t++)
            for (int i = 0; i < n; i++) {
                float x = 4.0f * v[(size_t)t * n + i];
                act[(size_t)t * width + sel[i]] = x > 0.0f ? x : 0.0f;
            }
        free(v);
    }
    return 0;
}

static void hook_ffn_in(void *c, int layer, const float *x, int T, int D, const Batch *b) {
    (void)b;
    EvalCtx *e = c;
    if (layer >= e->custom->first_layer) e->custom->ffn_in(e->custom->ctx, layer, x, T, D);
}

static void hook_hidden(void *c, int index, const float *x, int T, int D, const Batch *b) {
    (void)b;
    EvalCtx *e = c;
    Perturber *pt = e->pt;
    size_t n = (size_t)T * D;
    if (index == pt->L) { memcpy(e->final, x, sizeof(float) * n); return; }
    if (e->clean && index > 0 && pt->cached[index]) {
        PBatch *bt = &pt->b[e->batch];
        bt->x[index] = modex_xmalloc(sizeof(float) * n);
        memcpy(bt->x[index], x, sizeof(float) * n);
    }
}

/* Logits rows: loss and argmax per row, in parallel (each row alone: deterministic). */
typedef struct RowsCtx {
    const float *logits; int V;
    const int32_t *target;    /* -1 = none */
    double *loss; int32_t *arg;
} RowsCtx;

static void rows_fn(void *c, int64_t b, int64_t e, int th) {
    (void)th;
    const RowsCtx *k = c;
    for (int64_t i = b; i < e; i++) {
        const float *l = k->logits + (size_t)i * k->V;
        float mx = l[0];
        int arg = 0;
        for (int v = 1; v < k->V; v++) if (l[v] > mx) { mx = l[v]; arg = v; }
        k->arg[i] = arg;
        if (k->target[i] < 0) { k->loss[i] = 0; continue; }
        double s = 0;
        for (int v = 0; v < k->V; v++) s += exp((double)(l[v] - mx));
        k->loss[i] = (double)mx + log(s) - (double)l[k->target[i]];
    }
}

#define ROW_CHUNK 128

static void batch_metrics(Perturber *pt, const PBatch *b, const float *h, TextStats *st) {
    int D = pt->D;
    if (!pt->causal) {
        if (!b->clean_h) return;
        for (int s = 0; s < b->n_seq; s++) {
            int ti = b->texts[s];
            if (!pt->need_loss[ti]) continue;
            for (int t = b->start[s]; t < b->start[s + 1]; t++) {
                double dn = 0, nn = 0;
                const float *x = h + (size_t)t * D, *y = b->clean_h + (size_t)t * D;
                for (int d = 0; d < D; d++) { double z = (double)x[d] - y[d]; dn += z * z; nn += (double)y[d] * y[d]; }
                st[ti].rel_sum += nn > 0 ? sqrt(dn / nn) : 0.0;
                st[ti].rel_n++;
            }
        }
        return;
    }
    /* rows wanted: every position but the last of loss texts, the answer position */
    int V = pt->m->cfg.vocab, cap = 0, n = 0;
    for (int s = 0; s < b->n_seq; s++) cap += b->start[s + 1] - b->start[s] + 1;
    int *pos = modex_xmalloc(sizeof(int) * (size_t)cap), *txt = modex_xmalloc(sizeof(int) * (size_t)cap);
    int32_t *tgt = modex_xmalloc(sizeof(int32_t) * (size_t)cap), *expect = modex_xmalloc(sizeof(int32_t) * (size_t)cap);
    unsigned char *is_ans = modex_xmalloc((size_t)cap);
    for (int s = 0; s < b->n_seq; s++) {
        int ti = b->texts[s], t0 = b->start[s], len = b->start[s + 1] - t0;
        if (pt->seq_row[ti] >= 0) { /* answer sequence: every answer token, teacher forced */
            int r = pt->seq_row[ti];
            for (int i = 0; i < pt->n_ids[ti] - 1 - pt->pred_pos[ti]; i++) { /* the answer tokens appended */
                pos[n] = t0 + pt->pred_pos[ti] + i; txt[n] = ti; tgt[n] = -1; is_ans[n] = 2; expect[n] = pt->ans_ids[r][i]; n++;
            }
            continue;
        }
        if (pt->need_loss[ti])
            for (int i = 0; i + 1 < len; i++) {
                pos[n] = t0 + i; txt[n] = ti; tgt[n] = b->ids[t0 + i + 1]; is_ans[n] = pt->need_ans[ti] && i == pt->pred_pos[ti]; n++;
            }
        if (pt->need_ans[ti] && !(pt->need_loss[ti] && pt->pred_pos[ti] + 1 < len)) {
            pos[n] = t0 + pt->pred_pos[ti]; txt[n] = ti; tgt[n] = -1; is_ans[n] = 1; n++;
        }
    }
    float *sel = modex_xmalloc(sizeof(float) * (size_t)ROW_CHUNK * D);
    float *logits = modex_xmalloc(sizeof(float) * (size_t)ROW_CHUNK * V);
    double loss[ROW_CHUNK];
    int32_t arg[ROW_CHUNK];
    for (int c0 = 0; c0 < n; c0 += ROW_CHUNK) {
        int k = MODEX_MIN(ROW_CHUNK, n - c0);
        for (int i = 0; i < k; i++) memcpy(sel + (size_t)i * D, h + (size_t)pos[c0 + i] * D, sizeof(float) * (size_t)D);
        modex_linear_forward(logits, sel, &pt->m->lm_head, k);
        RowsCtx rc = {logits, V, tgt + c0, loss, arg};
        modex_parallel_for(k, 1, rows_fn, &rc);
        for (int i = 0; i < k; i++) {
            TextStats *x = &st[txt[c0 + i]];
            if (tgt[c0 + i] >= 0) { x->loss_sum += loss[i]; x->loss_n++; }
            if (is_ans[c0 + i] == 1) x->pred = arg[i];
            else if (is_ans[c0 + i] == 2 && arg[i] != expect[c0 + i]) x->all_ok = 0;
        }
    }
    free(sel); free(logits); free(pos); free(txt); free(tgt); free(is_ans); free(expect);
}

/* Runs batch bi from layer `start`; fills st (and hidden_out, text order, if given). */
static int run_batch(Perturber *pt, int bi, int start, EvalCtx *e, TextStats *st, float *hidden_out, Error *err) {
    PBatch *b = &pt->b[bi];
    Batch bt = {b->n_seq, b->ids, b->start};
    ForwardOpts o = {0};
    o.logits = LOGITS_NONE;
    if (start > 0) { o.start_layer = start; o.start_x = b->x[start]; }
    ForwardHooks hk = {0};
    hk.ctx = e;
    hk.hidden = hook_hidden;
    if (e->sum || e->sel || (e->custom && e->custom->ffn)) hk.ffn = hook_ffn;
    if (e->custom && e->custom->ffn_in) o.ffn_in = hook_ffn_in;
    e->batch = bi;
    e->final = modex_xmalloc(sizeof(float) * (size_t)b->T * pt->D);
    const Model *m = e->custom && e->custom->model ? e->custom->model : pt->m;
    int rc = modex_forward(m, &bt, &o, &hk, NULL, err);
    if (rc == 0) {
        if (e->clean && !pt->causal) {
            b->clean_h = e->final;
            e->final = NULL;
            batch_metrics(pt, b, b->clean_h, st);
        } else batch_metrics(pt, b, e->final, st);
        if (hidden_out)
            for (int s = 0; s < b->n_seq; s++) {
                int ti = b->texts[s];
                if (ti >= pt->p->n_texts) continue;
                memcpy(hidden_out + (size_t)pt->text_off[ti] * pt->D, (e->final ? e->final : b->clean_h) + (size_t)b->start[s] * pt->D,
                       sizeof(float) * (size_t)pt->n_ids[ti] * pt->D);
            }
    }
    free(e->final);
    e->final = NULL;
    return rc;
}

static void stats_init(TextStats *st, int n) {
    for (int i = 0; i < n; i++) st[i] = (TextStats){0, 0, 0, 0, -1, 1};
}

static void result_alloc(PerturbResult *r, int n) {
    r->n_subs = n;
    r->value = modex_xmalloc(sizeof(double) * (size_t)(n + 1));
    r->loss = modex_xmalloc(sizeof(double) * (size_t)(n + 1));
    r->kind = modex_xmalloc(sizeof(int) * (size_t)(n + 1));
    r->n = modex_xmalloc(sizeof(int) * (size_t)(n + 1));
}

void modex_perturb_result_free(PerturbResult *r) {
    if (!r) return;
    free(r->value); free(r->loss); free(r->kind); free(r->n);
    memset(r, 0, sizeof *r);
}

static void aggregate(const Perturber *pt, const TextStats *st, PerturbResult *out) {
    const Probe *p = pt->p;
    result_alloc(out, p->n_subs);
    for (int s = 0; s < p->n_subs; s++) {
        double ls = 0, rs = 0;
        long ln = 0, rn = 0;
        for (int k = 0; k < pt->n_sub_texts[s]; k++) {
            const TextStats *x = &st[pt->sub_texts[s][k]];
            ls += x->loss_sum; ln += x->loss_n; rs += x->rel_sum; rn += x->rel_n;
        }
        out->loss[s] = pt->causal && ln ? ls / (double)ln : NAN;
        if (!pt->causal) {
            out->kind[s] = 2;
            out->value[s] = rn ? rs / (double)rn : NAN;
            out->n[s] = (int)rn;
        } else if (pt->sub_has_ans[s]) {
            const SubFunction *S = &p->subs[s];
            int ok = 0, n = 0;
            for (int q = 0; q < S->n_rows; q++) {
                int r = S->rows[q];
                if (pt->ans[r] < 0) continue;
                n++;
                ok += pt->row_seq[r] >= 0 ? st[pt->row_seq[r]].all_ok : st[p->units[p->rows[r].unit].text].pred == pt->ans[r];
            }
            out->kind[s] = 0;
            out->value[s] = (double)ok / (double)n;
            out->n[s] = n;
        } else {
            out->kind[s] = 1;
            out->value[s] = out->loss[s];
            out->n[s] = (int)ln;
        }
    }
}

// --- clean run --------------------------------------------------------------------------------

static int ensure_clean(Perturber *pt, int (*cancelled)(void *), void *ctx, Error *err) {
    pthread_mutex_lock(&pt->mu);
    if (pt->clean_done) { pthread_mutex_unlock(&pt->mu); return 0; }
    batches_free(pt);
    free(pt->cached);
    plan(pt);
    int nt = pt->n_seq;
    TextStats *st = modex_xmalloc(sizeof(TextStats) * (size_t)(nt + 1));
    stats_init(st, nt);
    EvalCtx e = {.pt = pt, .clean = 1, .cancelled = cancelled, .cctx = ctx};
    e.sum = modex_xcalloc((size_t)pt->L * pt->W + 1, sizeof(double));
    int rc = 0;
    for (int bi = 0; bi < pt->n_batch && !rc; bi++) {
        if (cancelled && cancelled(ctx)) { rc = 1; break; }
        rc = run_batch(pt, bi, 0, &e, st, NULL, err);
    }
    if (rc) {
        batches_free(pt);
        free(st);
    } else {
        free(pt->mean);
        pt->mean = modex_xmalloc(sizeof(float) * ((size_t)pt->L * pt->W + 1));
        for (size_t i = 0; i < (size_t)pt->L * pt->W; i++) pt->mean[i] = (float)(e.sum[i] / (double)pt->n_tokens);
        free(pt->clean_stats);
        pt->clean_stats = st;
        pt->clean_done = 1;
    }
    free(e.sum);
    pthread_mutex_unlock(&pt->mu);
    return rc;
}

int modex_perturber_clean(Perturber *pt, PerturbResult *out, int (*cancelled)(void *), void *ctx, Error *err) {
    int rc = ensure_clean(pt, cancelled, ctx, err);
    if (rc) return rc;
    aggregate(pt, pt->clean_stats, out);
    return 0;
}

// --- masked runs --------------------------------------------------------------------------------

static int eval_stats(Perturber *pt, const PerturbMask *mask, PerturbMode mode, unsigned long long seed,
                      const PerturbHook *custom, TextStats *st, float *hidden_out, int (*cancelled)(void *), void *ctx,
                      Error *err) {
    int rc = ensure_clean(pt, cancelled, ctx, err);
    if (rc) return rc;
    if (mask && (mask->n_layer != pt->L || mask->width != pt->W))
        return modex_error(err, "mask", "mask is %d x %d (the model has %d layers of %d neurons)", mask->n_layer, mask->width, pt->L, pt->W);
    int nt = pt->n_seq;
    int first = mask ? modex_mask_first_layer(mask) : -1;
    if (custom) first = MODEX_MAX(0, MODEX_MIN(custom->first_layer, pt->L - 1));
    if (first < 0 && !hidden_out) { memcpy(st, pt->clean_stats, sizeof(TextStats) * (size_t)nt); return 0; }
    stats_init(st, nt);
    EvalCtx e = {.pt = pt, .mode = mode, .seed = seed, .cancelled = cancelled, .cctx = ctx, .custom = custom};
    if (first >= 0 && mask) {
        e.sel = modex_xcalloc((size_t)pt->L, sizeof(int *));
        e.n_sel = modex_xcalloc((size_t)pt->L, sizeof(int));
        for (int l = 0; l < pt->L; l++) {
            const unsigned char *r = mask->on + (size_t)l * pt->W;
            e.sel[l] = modex_xmalloc(sizeof(int) * (size_t)pt->W);
            for (int j = 0; j < pt->W; j++) if (r[j]) e.sel[l][e.n_sel[l]++] = j;
        }
    }
    int start = 0;
    if (pt->reuse) {
        int f = first < 0 ? pt->L - 1 : first;
        for (int l = f; l > 0; l--) if (pt->cached[l]) { start = l; break; }
    }
    for (int bi = 0; bi < pt->n_batch && !rc; bi++) {
        if (cancelled && cancelled(ctx)) { rc = 1; break; }
        rc = run_batch(pt, bi, start, &e, st, hidden_out, err);
    }
    if (e.sel) { for (int l = 0; l < pt->L; l++) free(e.sel[l]); free(e.sel); free(e.n_sel); }
    return rc;
}

int modex_perturber_eval(Perturber *pt, const PerturbMask *mask, PerturbMode mode, unsigned long long seed,
                         PerturbResult *out, int (*cancelled)(void *), void *ctx, Error *err) {
    int rc = ensure_clean(pt, cancelled, ctx, err);
    if (rc) return rc;
    TextStats *st = modex_xmalloc(sizeof(TextStats) * (size_t)(pt->n_seq + 1));
    rc = eval_stats(pt, mask, mode, seed, NULL, st, NULL, cancelled, ctx, err);
    if (rc == 0) aggregate(pt, st, out);
    free(st);
    return rc;
}

int modex_perturber_hidden(Perturber *pt, const PerturbMask *mask, PerturbMode mode, unsigned long long seed, float *out,
                           Error *err) {
    int rc = ensure_clean(pt, NULL, NULL, err);
    if (rc) return rc;
    TextStats *st = modex_xmalloc(sizeof(TextStats) * (size_t)(pt->n_seq + 1));
    rc = eval_stats(pt, mask, mode, seed, NULL, st, out, NULL, NULL, err);
    free(st);
    return rc;
}

int modex_perturber_eval_hook(Perturber *pt, const PerturbHook *h, PerturbResult *out, int (*cancelled)(void *), void *ctx,
                              Error *err) {
    int rc = ensure_clean(pt, cancelled, ctx, err);
    if (rc) return rc;
    TextStats *st = modex_xmalloc(sizeof(TextStats) * (size_t)(pt->n_seq + 1));
    rc = eval_stats(pt, NULL, PERTURB_ZERO, 0, h, st, NULL, cancelled, ctx, err);
    if (rc == 0) aggregate(pt, st, out);
    free(st);
    return rc;
}

int modex_perturber_hidden_hook(Perturber *pt, const PerturbHook *h, float *out, Error *err) {
    int rc = ensure_clean(pt, NULL, NULL, err);
    if (rc) return rc;
    TextStats *st = modex_xmalloc(sizeof(TextStats) * (size_t)(pt->n_seq + 1));
    rc = eval_stats(pt, NULL, PERTURB_ZERO, 0, h, st, out, NULL, NULL, err);
    free(st);
    return rc;
}

// --- random baseline ----------------------------------------------------------------------------

void modex_perturb_random_mask(const PerturbMask *mask, const int *const *assign, int E, unsigned long long seed, int d,
                               PerturbMask *out) {
    int W = mask->width;
    modex_mask_clear(out);
    Rng r;
    modex_rng_seed(&r, mix64(mix64(seed) ^ mix64((uint64_t)d + 0x5151)));
    int *idx = modex_xmalloc(sizeof(int) * (size_t)(MODEX_MAX(W, E) + 1));
    for (int l = 0; l < mask->n_layer; l++) {
        int c = modex_mask_layer_count(mask, l);
        if (!c) continue;
        int k = assign && assign[l] && E > 0 ? modex_mask_layer_experts(mask, l, assign[l], E) : -1;
        if (k > 0) { /* k random experts */
            for (int e = 0; e < E; e++) idx[e] = e;
            for (int i = 0; i < k; i++) {
                int j = i + (int)modex_rng_below(&r, (uint64_t)(E - i));
                int x = idx[i]; idx[i] = idx[j]; idx[j] = x;
                modex_mask_set_expert(out, l, assign[l], idx[i], 1);
            }
        } else { /* c random neurons */
            for (int j = 0; j < W; j++) idx[j] = j;
            for (int i = 0; i < c; i++) {
                int j = i + (int)modex_rng_below(&r, (uint64_t)(W - i));
                int x = idx[i]; idx[i] = idx[j]; idx[j] = x;
                out->on[(size_t)l * W + idx[i]] = 1;
            }
        }
    }
    free(idx);
}

int modex_perturber_random_draw(Perturber *pt, const PerturbMask *mask, const int *const *assign, int E, PerturbMode mode,
                                unsigned long long seed, int d, PerturbResult *out, int (*cancelled)(void *), void *ctx,
                                Error *err) {
    PerturbMask rm;
    modex_mask_init(&rm, pt->m);
    modex_perturb_random_mask(mask, assign, E, seed, d, &rm);
    int rc = modex_perturber_eval(pt, &rm, mode, mix64(seed + 0x1000 + (uint64_t)d), out, cancelled, ctx, err);
    modex_mask_free(&rm);
    return rc;
}

static void mean_sd(const double *v, int n, int stride, int s, double *mean, double *sd) {
    double m = 0;
    int k = 0;
    for (int i = 0; i < n; i++) if (!isnan(v[(size_t)i * stride + s])) { m += v[(size_t)i * stride + s]; k++; }
    m = k ? m / k : NAN;
    double q = 0;
    for (int i = 0; i < n; i++) if (!isnan(v[(size_t)i * stride + s])) { double z = v[(size_t)i * stride + s] - m; q += z * z; }
    *mean = m;
    *sd = k >= 2 ? sqrt(q / (k - 1)) : NAN;
}

int modex_perturber_random_ex(Perturber *pt, const PerturbMask *mask, const int *const *assign, int E, PerturbMode mode,
                              int draws, unsigned long long seed, double *mean, double *sd, double *mean_loss,
                              double *sd_loss, int (*cancelled)(void *), void (*progress)(void *, int, int), void *ctx,
                              Error *err) {
    int ns = pt->p->n_subs;
    double *vals = modex_xmalloc(sizeof(double) * ((size_t)draws * ns + 1));
    double *loss = modex_xmalloc(sizeof(double) * ((size_t)draws * ns + 1));
    int rc = 0;
    for (int d = 0; d < draws && !rc; d++) {
        PerturbResult r = {0};
        rc = modex_perturber_random_draw(pt, mask, assign, E, mode, seed, d, &r, cancelled, ctx, err);
        if (rc) break;
        memcpy(vals + (size_t)d * ns, r.value, sizeof(double) * (size_t)ns);
        memcpy(loss + (size_t)d * ns, r.loss, sizeof(double) * (size_t)ns);
        modex_perturb_result_free(&r);
        if (progress) progress(ctx, d + 1, draws);
    }
    if (!rc)
        for (int s = 0; s < ns; s++) {
            mean_sd(vals, draws, ns, s, &mean[s], &sd[s]);
            double a, b;
            mean_sd(loss, draws, ns, s, &a, &b);
            if (mean_loss) mean_loss[s] = a;
            if (sd_loss) sd_loss[s] = b;
        }
    free(vals); free(loss);
    return rc;
}

int modex_perturber_random(Perturber *pt, const PerturbMask *mask, const int *const *assign, int E, PerturbMode mode,
                           int draws, unsigned long long seed, double *mean, double *sd, int (*cancelled)(void *),
                           void *ctx, Error *err) {
    return modex_perturber_random_ex(pt, mask, assign, E, mode, draws, seed, mean, sd, NULL, NULL, cancelled, NULL, ctx, err);
}
