/* kmeans.c — balanced k-means on FFN keys (MoEfication's parameter split, KMeansConstrained
 * semantics) and the exact balanced assignment it rests on. Distances come from a fixed-order
 * float dot product per (item, centre), so results never depend on how items are split among
 * threads; sums over items run serially in item order. */
#include "modex/experts.h"
#include "modex/parallel.h"
#include "modex/rng.h"
#include "modex/util.h"
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

// --- exact balanced assignment ---------------------------------------------------------------

typedef struct Bins {
    int n, E;
    const double *cost;
    int *members;   /* [E][maxcap] items in each bin */
    int *cnt, *cap, maxcap;
    int *pos;       /* [n] index within its bin */
    double *W;      /* [E][E] cheapest move a->b among a's items */
    int *Wj;        /* [E][E] the item achieving it */
} Bins;

static void bins_row(Bins *B, int a) {
    int E = B->E;
    double *W = B->W + (size_t)a * E;
    int *Wj = B->Wj + (size_t)a * E;
    for (int b = 0; b < E; b++) { W[b] = INFINITY; Wj[b] = -1; }
    for (int t = 0; t < B->cnt[a]; t++) {
        int j = B->members[(size_t)a * B->maxcap + t];
        const double *c = B->cost + (size_t)j * E;
        double ca = c[a];
        for (int b = 0; b < E; b++) {
            double d = c[b] - ca;
            if (d < W[b] || (d == W[b] && j < Wj[b])) { W[b] = d; Wj[b] = j; }
        }
    }
    W[a] = INFINITY;
    Wj[a] = -1;
}

static void bins_add(Bins *B, int j, int b, int *assign) {
    B->pos[j] = B->cnt[b];
    B->members[(size_t)b * B->maxcap + B->cnt[b]++] = j;
    assign[j] = b;
}

static void bins_remove(Bins *B, int j, int a) {
    int p = B->pos[j], last = B->members[(size_t)a * B->maxcap + --B->cnt[a]];
    B->members[(size_t)a * B->maxcap + p] = last; /* fill the hole with the last member */
    B->pos[last] = p;
}

double modex_assign_balanced(const double *cost, int n, int E, const int *cap, int *assign) {
    long total = 0;
    int maxcap = 0;
    for (int e = 0; e < E; e++) { total += cap[e]; if (cap[e] > maxcap) maxcap = cap[e]; }
    if (E <= 0 || total != n || n <= 0) return NAN;
    Bins B = {.n = n, .E = E, .cost = cost, .maxcap = maxcap};
    B.members = modex_xmalloc((size_t)E * maxcap * sizeof *B.members);
    B.cnt = modex_xcalloc((size_t)E, sizeof *B.cnt);
    B.cap = (int *)cap;
    B.pos = modex_xmalloc((size_t)n * sizeof *B.pos);
    B.W = modex_xmalloc((size_t)E * E * sizeof *B.W);
    B.Wj = modex_xmalloc((size_t)E * E * sizeof *B.Wj);
    for (size_t t = 0; t < (size_t)E * E; t++) { B.W[t] = INFINITY; B.Wj[t] = -1; }
    double *pi = modex_xcalloc((size_t)E, sizeof *pi), *lab = modex_xmalloc((size_t)E * sizeof *lab);
    int *pred = modex_xmalloc((size_t)E * sizeof *pred), *path = modex_xmalloc((size_t)(E + 1) * sizeof *path);
    unsigned char *done = modex_xmalloc((size_t)E);
    for (int i = 0; i < n; i++) assign[i] = -1;

    /* Node E is the sink T (edges b->T of cost 0 from bins with room). Invariant: reduced costs
     * W[a][b] + pi[a] - pi[b] >= 0 and pi[b] - pi[T] >= 0 for bins with room (up to rounding).
     * A Dijkstra from the new item (first edges: its own costs) stops when T is settled: the
     * cheapest chain of moves ending in a bin with room. pi += min(dist, dist(T)) keeps the
     * invariant (settled nodes get their distance, the others dist(T)). */
    double piT = 0;
    for (int i = 0; i < n; i++) {
        const double *ci = cost + (size_t)i * E;
        for (int b = 0; b < E; b++) { lab[b] = ci[b] - pi[b]; pred[b] = -1; done[b] = 0; }
        double labT = INFINITY;
        int tpred = -1;
        for (;;) {
            int u = -1;
            for (int b = 0; b < E; b++)
                if (!done[b] && (u < 0 || lab[b] < lab[u])) u = b;
            if (u < 0 || labT <= lab[u]) break; /* T is the nearest unsettled node */
            done[u] = 1;
            if (B.cnt[u] < cap[u]) {
                double t = lab[u] + pi[u] - piT;
                if (t < labT) { labT = t; tpred = u; }
            }
            if (B.cnt[u] == 0) continue;
            const double *Wu = B.W + (size_t)u * E;
            double base = lab[u] + pi[u];
            for (int b = 0; b < E; b++) {
                if (done[b]) continue;
                double nd = base + Wu[b] - pi[b];
                if (nd < lab[b]) { lab[b] = nd; pred[b] = u; }
            }
        }
        int len = 0;
        for (int b = tpred; b >= 0; b = pred[b]) path[len++] = b;
        /* path[0] = the bin with room ... path[len-1] = the bin the new item enters */
        for (int t = 0; t + 1 < len; t++) {
            int to = path[t], from = path[t + 1], j = B.Wj[(size_t)from * E + to];
            bins_remove(&B, j, from);
            bins_add(&B, j, to, assign);
        }
        bins_add(&B, i, path[len - 1], assign);
        for (int b = 0; b < E; b++) pi[b] += done[b] ? lab[b] : labT;
        piT += labT;
        for (int t = 0; t < len; t++) bins_row(&B, path[t]);
    }
    double sum = 0;
    for (int i = 0; i < n; i++) sum += cost[(size_t)i * E + assign[i]];
    free(B.members); free(B.cnt); free(B.pos); free(B.W); free(B.Wj);
    free(pi); free(lab); free(pred); free(path); free(done);
    return sum;
}

// --- distances -------------------------------------------------------------------------------------

/* Fixed-order dot product: 8 lanes, then a fixed reduction. */
static inline float dot8(const float *a, const float *b, int d) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int i = 0;
    for (; i + 8 <= d; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += a[i + k] * b[i + k];
    float tail = 0;
    for (; i < d; i++) tail += a[i] * b[i];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail;
}

typedef struct DistCtx {
    const float *X;      /* [n x dim] */
    const float *C;      /* [k x dim] */
    const double *cn;    /* [k] |c|^2 */
    int dim, k;
    double *out;         /* [n x k]: |c|^2 - 2 x.c (|x|^2 left out) */
} DistCtx;

static void dist_fn(void *vctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const DistCtx *c = vctx;
    for (int64_t i = begin; i < end; i++) {
        const float *x = c->X + (size_t)i * c->dim;
        double *o = c->out + (size_t)i * c->k;
        for (int e = 0; e < c->k; e++)
            o[e] = c->cn[e] - 2.0 * (double)dot8(x, c->C + (size_t)e * c->dim, c->dim);
    }
}

static void distances(const float *X, int n, int dim, const float *C, int k, double *out) {
    double *cn = modex_xmalloc((size_t)k * sizeof *cn);
    for (int e = 0; e < k; e++) cn[e] = (double)dot8(C + (size_t)e * dim, C + (size_t)e * dim, dim);
    DistCtx ctx = {X, C, cn, dim, k, out};
    modex_parallel_for(n, 16, dist_fn, &ctx);
    free(cn);
}

// --- k-means ------------------------------------------------------------------------------------

static float *normalise(const float *keys, int n, int dim, double *sqn) {
    float *X = modex_xmalloc((size_t)n * dim * sizeof *X);
    for (int i = 0; i < n; i++) {
        const float *r = keys + (size_t)i * dim;
        double s = 0;
        for (int d = 0; d < dim; d++) s += (double)r[d] * r[d];
        double inv = s > 0 ? 1.0 / sqrt(s) : 0.0;
        float *o = X + (size_t)i * dim;
        for (int d = 0; d < dim; d++) o[d] = (float)(r[d] * inv);
        sqn[i] = (double)dot8(o, o, dim);
    }
    return X;
}

/* Greedy k-means++ (scikit-learn's: 2 + ln E candidates per step, keep the one that lowers
 * the potential most). */
static void init_pp(const float *X, const double *sqn, int n, int dim, int E, Rng *rng, float *C) {
    int trials = 2 + (int)log((double)E);
    double *closest = modex_xmalloc((size_t)n * sizeof *closest);
    double *cand = modex_xmalloc((size_t)n * trials * sizeof *cand);
    double *cum = modex_xmalloc((size_t)n * sizeof *cum);
    float *CC = modex_xmalloc((size_t)trials * dim * sizeof *CC);
    int first = (int)modex_rng_below(rng, (uint64_t)n);
    memcpy(C, X + (size_t)first * dim, (size_t)dim * sizeof *C);
    distances(X, n, dim, C, 1, closest);
    double pot = 0;
    for (int i = 0; i < n; i++) { closest[i] = fmax(closest[i] + sqn[i], 0); pot += closest[i]; }
    int *ids = modex_xmalloc((size_t)trials * sizeof *ids);
    for (int c = 1; c < E; c++) {
        double s = 0;
        for (int i = 0; i < n; i++) { s += closest[i]; cum[i] = s; }
        for (int t = 0; t < trials; t++) {
            double r = modex_rng_uniform(rng) * pot;
            int lo = 0, hi = n - 1; /* first index with cum > r */
            while (lo < hi) { int mid = (lo + hi) / 2; if (cum[mid] > r) hi = mid; else lo = mid + 1; }
            ids[t] = lo;
            memcpy(CC + (size_t)t * dim, X + (size_t)lo * dim, (size_t)dim * sizeof *CC);
        }
        distances(X, n, dim, CC, trials, cand);
        int best = 0;
        double best_pot = INFINITY;
        for (int t = 0; t < trials; t++) {
            double p = 0;
            for (int i = 0; i < n; i++) p += fmin(closest[i], fmax(cand[(size_t)i * trials + t] + sqn[i], 0));
            if (p < best_pot) { best_pot = p; best = t; }
        }
        for (int i = 0; i < n; i++) closest[i] = fmin(closest[i], fmax(cand[(size_t)i * trials + best] + sqn[i], 0));
        pot = best_pot;
        memcpy(C + (size_t)c * dim, X + (size_t)ids[best] * dim, (size_t)dim * sizeof *C);
    }
    free(closest); free(cand); free(cum); free(CC); free(ids);
}

typedef struct MeanCtx {
    const float *X;
    const int *order, *start; /* items grouped by cluster, ascending within each */
    int dim;
    float *C;
} MeanCtx;

static void mean_fn(void *vctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const MeanCtx *m = vctx;
    double *acc = modex_xmalloc((size_t)m->dim * sizeof *acc);
    for (int64_t e = begin; e < end; e++) {
        memset(acc, 0, (size_t)m->dim * sizeof *acc);
        int a = m->start[e], b = m->start[e + 1];
        for (int t = a; t < b; t++) {
            const float *x = m->X + (size_t)m->order[t] * m->dim;
            for (int d = 0; d < m->dim; d++) acc[d] += x[d];
        }
        float *c = m->C + (size_t)e * m->dim;
        for (int d = 0; d < m->dim; d++) c[d] = b > a ? (float)(acc[d] / (b - a)) : 0.0f;
    }
    free(acc);
}

static void update_centres(const float *X, int n, int dim, int E, const int *assign, float *C) {
    int *start = modex_xcalloc((size_t)E + 1, sizeof *start), *order = modex_xmalloc((size_t)n * sizeof *order);
    for (int i = 0; i < n; i++) start[assign[i] + 1]++;
    for (int e = 0; e < E; e++) start[e + 1] += start[e];
    int *fill = modex_xmalloc((size_t)E * sizeof *fill);
    memcpy(fill, start, (size_t)E * sizeof *fill);
    for (int i = 0; i < n; i++) order[fill[assign[i]]++] = i;
    MeanCtx m = {X, order, start, dim, C};
    modex_parallel_for(E, 1, mean_fn, &m);
    free(start); free(order); free(fill);
}

double modex_kmeans_objective(const float *keys, int n, int dim, const float *centres, const int *assign) {
    double *sqn = modex_xmalloc((size_t)(n > 0 ? n : 1) * sizeof *sqn);
    float *X = normalise(keys, n, dim, sqn);
    double s = 0;
    for (int i = 0; i < n; i++) {
        const float *x = X + (size_t)i * dim, *c = centres + (size_t)assign[i] * dim;
        for (int d = 0; d < dim; d++) { double t = (double)x[d] - c[d]; s += t * t; }
    }
    free(X); free(sqn);
    return s;
}

int modex_kmeans_balanced_ex(const float *keys, int n, int dim, int E, unsigned long long seed,
                             int iters, int *assign, float *centres, double *objective,
                             int *steps, Error *err) {
    if (n <= 0 || dim <= 0 || E <= 0)
        return modex_error(err, "kmeans", "bad shape: %d keys of dim %d into %d experts (expected positive sizes)", n, dim, E);
    if (n % E != 0)
        return modex_error(err, "kmeans", "%d neurons do not split into %d equal experts (expected a divisor of %d)", n, E, n);
    if (iters <= 0) iters = 300;
    double *sqn = modex_xmalloc((size_t)n * sizeof *sqn);
    float *X = normalise(keys, n, dim, sqn);
    float *C = modex_xmalloc((size_t)E * dim * sizeof *C);
    double *cost = modex_xmalloc((size_t)n * E * sizeof *cost);
    int *cap = modex_xmalloc((size_t)E * sizeof *cap), *prev = modex_xmalloc((size_t)n * sizeof *prev);
    for (int e = 0; e < E; e++) cap[e] = n / E;
    Rng rng;
    modex_rng_seed(&rng, seed);
    init_pp(X, sqn, n, dim, E, &rng, C);
    int step = 0;
    for (int i = 0; i < n; i++) prev[i] = -1;
    while (step < iters) {
        distances(X, n, dim, C, E, cost);
        modex_assign_balanced(cost, n, E, cap, assign);
        step++;
        int same = !memcmp(prev, assign, (size_t)n * sizeof *assign);
        update_centres(X, n, dim, E, assign, C);
        if (same) break;
        memcpy(prev, assign, (size_t)n * sizeof *prev);
    }
    if (steps) *steps = step;
    if (centres) memcpy(centres, C, (size_t)E * dim * sizeof *C);
    if (objective) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            const float *x = X + (size_t)i * dim, *c = C + (size_t)assign[i] * dim;
            for (int d = 0; d < dim; d++) { double t = (double)x[d] - c[d]; s += t * t; }
        }
        *objective = s;
    }
    free(sqn); free(X); free(C); free(cost); free(cap); free(prev);
    return 0;
}

int modex_kmeans_balanced(const float *keys, int n, int dim, int E, unsigned long long seed,
                          int iters, int *assign, Error *err) {
    return modex_kmeans_balanced_ex(keys, n, dim, E, seed, iters, assign, NULL, NULL, NULL, err);
}
