/* predictivity.c — pred(neuron, sub-function) = max(AP(y, a), AP(1-y, a)) for every neuron of
 * a layer (method.md §3), and task importance (§9). Each neuron's activations over the units
 * in use are sorted once (radix sort on float keys); descending walks then give AP(y) and
 * AP(1-y) of every sub-function, with the same arithmetic as modex_ap: a dense walk (one pass
 * per sub-function over all units) when the sub-functions share most units, else a sparse one
 * (one pass over the units, visiting each unit's memberships). */
#include "modex/stats.h"
#include "modex/parallel.h"
#include "modex/util.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 32 /* neurons gathered together: one 128-byte read per unit row */

// --- plan: the units in use and what each belongs to ------------------------------------------

typedef struct Plan {
    const float *acts;
    long ld;
    int d_ff, n_subs, m;        /* m = distinct units in use */
    int *unit;                  /* [m] row of the store */
    int *mem_start;             /* [m+1] CSR into mem */
    int *mem;                   /* (sub << 1) | label */
    long *P, *N;                /* [n_subs] class sizes */
    unsigned char *lab;         /* dense plans: [n_subs][m] label, 2 = not in the sub-function */
    float *const *out;
} Plan;

static void plan_build(Plan *pl, const float *acts, long ld, int n_units, int d_ff, int n_subs,
                       const int *const *idx, const unsigned char *const *y, const int *n,
                       float *const *out) {
    memset(pl, 0, sizeof *pl);
    pl->acts = acts; pl->ld = ld; pl->d_ff = d_ff; pl->n_subs = n_subs; pl->out = out;
    int *slot = modex_xmalloc((size_t)(n_units > 0 ? n_units : 1) * sizeof *slot);
    for (int u = 0; u < n_units; u++) slot[u] = -1;
    long total = 0;
    for (int s = 0; s < n_subs; s++) total += n[s];
    pl->unit = modex_xmalloc((size_t)(total + 1) * sizeof *pl->unit);
    pl->mem = modex_xmalloc((size_t)(total + 1) * sizeof *pl->mem);
    int *count = modex_xcalloc((size_t)total + 1, sizeof *count);
    pl->P = modex_xcalloc((size_t)n_subs + 1, sizeof *pl->P);
    pl->N = modex_xcalloc((size_t)n_subs + 1, sizeof *pl->N);
    for (int s = 0; s < n_subs; s++)
        for (int i = 0; i < n[s]; i++) {
            int u = idx[s][i];
            if (slot[u] < 0) { slot[u] = pl->m; pl->unit[pl->m++] = u; }
            count[slot[u]]++;
            if (y[s][i]) pl->P[s]++; else pl->N[s]++;
        }
    pl->mem_start = modex_xmalloc((size_t)(pl->m + 1) * sizeof *pl->mem_start);
    pl->mem_start[0] = 0;
    for (int i = 0; i < pl->m; i++) pl->mem_start[i + 1] = pl->mem_start[i] + count[i];
    for (int i = 0; i < pl->m; i++) count[i] = pl->mem_start[i];
    for (int s = 0; s < n_subs; s++)
        for (int i = 0; i < n[s]; i++) {
            int k = slot[idx[s][i]];
            pl->mem[count[k]++] = (s << 1) | (y[s][i] ? 1 : 0);
        }
    /* Dense walk (one pass per sub-function over all sorted units) when the sub-functions
     * cover most units and no unit appears twice in one sub-function. */
    int dup = 0;
    int *last = count; /* reuse: last sub-function seen per slot */
    for (int i = 0; i < pl->m; i++) last[i] = -1;
    for (int s = 0; s < n_subs && !dup; s++)
        for (int i = 0; i < n[s]; i++) {
            int k = slot[idx[s][i]];
            if (last[k] == s) { dup = 1; break; }
            last[k] = s;
        }
    if (!dup && total * 4 >= (long)pl->m * n_subs) {
        pl->lab = modex_xmalloc((size_t)n_subs * pl->m + 1);
        memset(pl->lab, 2, (size_t)n_subs * pl->m);
        for (int s = 0; s < n_subs; s++)
            for (int i = 0; i < n[s]; i++) pl->lab[(size_t)s * pl->m + slot[idx[s][i]]] = y[s][i] ? 1 : 0;
    }
    free(count);
    free(slot);
}

static void plan_free(Plan *pl) {
    free(pl->unit); free(pl->mem_start); free(pl->mem); free(pl->P); free(pl->N); free(pl->lab);
}

// --- the walk ------------------------------------------------------------------------------------

typedef struct Scratch {
    float *vals;            /* [BLOCK][m] */
    uint32_t *key, *tk;
    int32_t *ord, *tv, *zord;
    long *tp, *fp, *dp, *dn; /* per sub-function */
    double *s1, *s0;
    int *touched;
    unsigned char *is_touched;
} Scratch;

#define ZERO_KEY 0x80000000u /* modex_float_key(0) */

/* Sorts the m values ascending into w->key / w->ord. Exact zeros (ReLU's many) skip the sort:
 * they are one tie group placed between the negatives and the positives. */
static void sort_values(Scratch *w, const float *v, int m) {
    int nn = 0, nz = 0, nneg = 0;
    for (int i = 0; i < m; i++) { /* branch-free: zeros and non-zeros alternate at random */
        uint32_t k = modex_float_key(v[i]);
        int z = k == ZERO_KEY;
        w->zord[nz] = i;
        w->key[nn] = k;
        w->ord[nn] = i;
        nz += z;
        nn += !z;
        nneg += k < ZERO_KEY;
    }
    modex_radix_sort_u32(w->key, w->ord, nn, w->tk, w->tv);
    if (nz) {
        memmove(w->key + nneg + nz, w->key + nneg, (size_t)(nn - nneg) * sizeof *w->key);
        memmove(w->ord + nneg + nz, w->ord + nneg, (size_t)(nn - nneg) * sizeof *w->ord);
        for (int i = 0; i < nz; i++) { w->key[nneg + i] = ZERO_KEY; w->ord[nneg + i] = w->zord[i]; }
    }
}

static void finish(const Plan *pl, const Scratch *w, int j) {
    for (int s = 0; s < pl->n_subs; s++) {
        float r;
        if (pl->P[s] == 0 || pl->N[s] == 0) r = NAN;
        else {
            double a1 = w->s1[s] / (double)pl->P[s], a0 = w->s0[s] / (double)pl->N[s];
            r = (float)(a1 > a0 ? a1 : a0);
        }
        pl->out[s][j] = r;
    }
}

/* Dense: for each sub-function one pass down the sorted units; a threshold closes where the
 * key changes. */
static void walk_dense(const Plan *pl, Scratch *w, int j) {
    int m = pl->m;
    const uint32_t *key = w->key;
    const int32_t *ord = w->ord;
    for (int s = 0; s < pl->n_subs; s++) {
        const unsigned char *L = pl->lab + (size_t)s * m;
        long tp = 0, fp = 0, dp = 0, dn = 0;
        double s1 = 0, s0 = 0;
        for (int r = m - 1; r >= 0; r--) {
            unsigned l = L[ord[r]];
            dp += l == 1;
            dn += l == 0;
            if ((r == 0 || key[r - 1] != key[r]) && (dp | dn)) {
                tp += dp; fp += dn;
                double all = (double)(tp + fp);
                if (dp) s1 += (double)dp * ((double)tp / all);
                if (dn) s0 += (double)dn * ((double)fp / all);
                dp = dn = 0;
            }
        }
        w->s1[s] = s1;
        w->s0[s] = s0;
    }
    finish(pl, w, j);
}

/* Sparse: one pass over the sorted units, visiting each unit's memberships; the sub-functions
 * touched by a tie group are closed at its end. */
static void walk_sparse(const Plan *pl, Scratch *w, int j) {
    int m = pl->m, S = pl->n_subs;
    for (int s = 0; s < S; s++) { w->tp[s] = w->fp[s] = 0; w->s1[s] = w->s0[s] = 0; }
    for (int i = m - 1; i >= 0;) {
        int nt = 0, g = i;
        for (; g >= 0 && w->key[g] == w->key[i]; g--) {
            int u = w->ord[g];
            for (int q = pl->mem_start[u]; q < pl->mem_start[u + 1]; q++) {
                int s = pl->mem[q] >> 1;
                if (!w->is_touched[s]) { w->is_touched[s] = 1; w->touched[nt++] = s; w->dp[s] = w->dn[s] = 0; }
                if (pl->mem[q] & 1) w->dp[s]++; else w->dn[s]++;
            }
        }
        for (int t = 0; t < nt; t++) { /* close this threshold for every sub-function in it */
            int s = w->touched[t];
            w->is_touched[s] = 0;
            long tp = w->tp[s] += w->dp[s], fp = w->fp[s] += w->dn[s];
            double all = (double)(tp + fp);
            if (w->dp[s]) w->s1[s] += (double)w->dp[s] * ((double)tp / all);
            if (w->dn[s]) w->s0[s] += (double)w->dn[s] * ((double)fp / all);
        }
        i = g;
    }
    finish(pl, w, j);
}

static void neuron_walk(const Plan *pl, Scratch *w, const float *v, int j) {
    sort_values(w, v, pl->m);
    if (pl->lab) walk_dense(pl, w, j);
    else walk_sparse(pl, w, j);
}

static void block_fn(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const Plan *pl = ctx;
    int m = pl->m, S = pl->n_subs;
    Scratch w;
    size_t mm = (size_t)(m > 0 ? m : 1), ss = (size_t)S + 1;
    w.vals = modex_xmalloc(BLOCK * mm * sizeof *w.vals);
    w.key = modex_xmalloc(2 * mm * sizeof *w.key); w.tk = w.key + mm;
    w.ord = modex_xmalloc(3 * mm * sizeof *w.ord); w.tv = w.ord + mm; w.zord = w.tv + mm;
    w.tp = modex_xmalloc(4 * ss * sizeof *w.tp);
    w.fp = w.tp + ss; w.dp = w.fp + ss; w.dn = w.dp + ss;
    w.s1 = modex_xmalloc(2 * ss * sizeof *w.s1); w.s0 = w.s1 + ss;
    w.touched = modex_xmalloc(ss * sizeof *w.touched);
    w.is_touched = modex_xcalloc(ss, 1);
    for (int64_t b = begin; b < end; b++) {
        int j0 = (int)b * BLOCK, nb = MODEX_MIN(BLOCK, pl->d_ff - j0);
        for (int i = 0; i < m; i++) { /* transpose a [m x nb] tile: contiguous reads per row */
            const float *row = pl->acts + (long)pl->unit[i] * pl->ld + j0;
            for (int c = 0; c < nb; c++) w.vals[(size_t)c * mm + i] = row[c];
        }
        for (int c = 0; c < nb; c++) neuron_walk(pl, &w, w.vals + (size_t)c * mm, j0 + c);
    }
    free(w.vals); free(w.key); free(w.ord); free(w.tp); free(w.s1); free(w.touched); free(w.is_touched);
}

// --- public --------------------------------------------------------------------------------------

void modex_predictivity_multi(const float *acts, long ld, int n_units, int d_ff, int n_subs,
                              const int *const *idx, const unsigned char *const *y,
                              const int *n, float *const *out) {
    if (d_ff <= 0 || n_subs <= 0) return;
    Plan pl;
    plan_build(&pl, acts, ld, n_units, d_ff, n_subs, idx, y, n, out);
    int64_t blocks = (d_ff + BLOCK - 1) / BLOCK;
    modex_parallel_for(blocks, 2, block_fn, &pl);
    plan_free(&pl);
}

void modex_predictivity_ld(const float *acts, long ld, int n_units, int d_ff, const int *idx,
                           const unsigned char *y, int n, float *out) {
    modex_predictivity_multi(acts, ld, n_units, d_ff, 1, &idx, &y, &n, &out);
}

void modex_predictivity(const float *acts, int n_units, int d_ff, const int *idx,
                        const unsigned char *y, int n, float *out) {
    modex_predictivity_ld(acts, d_ff, n_units, d_ff, idx, y, n, out);
}

// --- task importance (Pochinkov et al.) ------------------------------------------------------------

void modex_task_importance(const float *acts, long ld, int d_ff, const int *task_idx, int n_task,
                           const int *gen_idx, int n_gen, float *out) {
    double *st = modex_xcalloc((size_t)d_ff * 2 + 1, sizeof *st), *sg = st + d_ff;
    for (int i = 0; i < n_task; i++) {
        const float *r = acts + (long)task_idx[i] * ld;
        for (int j = 0; j < d_ff; j++) st[j] += fabsf(r[j]);
    }
    for (int i = 0; i < n_gen; i++) {
        const float *r = acts + (long)gen_idx[i] * ld;
        for (int j = 0; j < d_ff; j++) sg[j] += fabsf(r[j]);
    }
    for (int j = 0; j < d_ff; j++) {
        double a = n_task ? st[j] / n_task : NAN, b = n_gen ? sg[j] / n_gen : NAN;
        out[j] = (b > 0) ? (float)(a / b) : NAN;
    }
    free(st);
}
