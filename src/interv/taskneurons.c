/* taskneurons.c — Pochinkov-style task importance, top neurons, overlaps (taskneurons.h). */
#include "modex/taskneurons.h"
#include "modex/stats.h"
#include "modex/util.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

void modex_taskneurons_free(TaskNeurons *t) {
    if (!t) return;
    free(t->layer_on); free(t->importance); free(t->top); free(t->jaccard); free(t->expert_jaccard); free(t->best_expert);
    memset(t, 0, sizeof *t);
}

int modex_taskneurons_compute(const Analysis *a, double fraction, TaskNeurons *out, Error *err) {
    memset(out, 0, sizeof *out);
    const Probe *p = a->probe;
    int L = a->n_layer, ns = p->n_subs, nu = p->n_units;
    int W = L > 0 ? a->layers[0].width : 0;
    if (!(fraction > 0 && fraction <= 1)) return modex_error(err, "--fraction", "%g (a number in (0, 1])", fraction);
    int k = (int)floor(fraction * W + 0.5);
    if (k < 1) k = 1;
    out->n_layer = L; out->n_subs = ns; out->width = W; out->k = k;
    out->layer_on = modex_xcalloc((size_t)L + 1, 1);
    out->importance = modex_xmalloc(sizeof(float) * ((size_t)L * ns * W + 1));
    out->top = modex_xmalloc(sizeof(int) * ((size_t)L * ns * k + 1));
    out->jaccard = modex_xmalloc(sizeof(double) * ((size_t)L * ns * ns + 1));
    out->expert_jaccard = modex_xmalloc(sizeof(double) * ((size_t)L * ns + 1));
    out->best_expert = modex_xmalloc(sizeof(int) * ((size_t)L * ns + 1));
    for (size_t i = 0; i < (size_t)L * ns * W; i++) out->importance[i] = NAN;
    for (size_t i = 0; i < (size_t)L * ns * k; i++) out->top[i] = -1;
    for (size_t i = 0; i < (size_t)L * ns * ns; i++) out->jaccard[i] = NAN;
    for (size_t i = 0; i < (size_t)L * ns; i++) { out->expert_jaccard[i] = NAN; out->best_expert[i] = -1; }
    /* task units (positives of s) and general units (every other unit) */
    int **task = modex_xcalloc((size_t)ns + 1, sizeof(int *)), **gen = modex_xcalloc((size_t)ns + 1, sizeof(int *));
    int *nt = modex_xcalloc((size_t)ns + 1, sizeof(int)), *ng = modex_xcalloc((size_t)ns + 1, sizeof(int));
    unsigned char *pos = modex_xmalloc((size_t)nu + 1);
    for (int s = 0; s < ns; s++) {
        memset(pos, 0, (size_t)nu);
        const SubFunction *S = &p->subs[s];
        for (int q = 0; q < S->n_rows; q++)
            if (p->rows[S->rows[q]].label == 1) pos[p->rows[S->rows[q]].unit] = 1;
        task[s] = modex_xmalloc(sizeof(int) * (size_t)(nu + 1));
        gen[s] = modex_xmalloc(sizeof(int) * (size_t)(nu + 1));
        for (int u = 0; u < nu; u++) { if (pos[u]) task[s][nt[s]++] = u; else gen[s][ng[s]++] = u; }
    }
    free(pos);
    int *members = modex_xmalloc(sizeof(int) * (size_t)(W + 1));
    for (int l = 0; l < L; l++) {
        const LayerResult *R = &a->layers[l];
        if (!R->acts) continue;
        out->layer_on[l] = 1;
        for (int s = 0; s < ns; s++) {
            float *imp = out->importance + ((size_t)l * ns + s) * W;
            modex_task_importance(R->acts, W, W, task[s], nt[s], gen[s], ng[s], imp);
            modex_top_k(imp, W, k, out->top + ((size_t)l * ns + s) * k);
        }
        for (int s = 0; s < ns; s++)
            for (int t = 0; t < ns; t++)
                out->jaccard[((size_t)l * ns + s) * ns + t] =
                    modex_jaccard(out->top + ((size_t)l * ns + s) * k, k, out->top + ((size_t)l * ns + t) * k, k);
        if (!R->assign) continue;
        for (int s = 0; s < ns; s++) {
            double best = -1;
            for (int e = 0; e < R->E; e++) {
                int n = 0;
                for (int j = 0; j < W; j++) if (R->assign[j] == e) members[n++] = j;
                double jc = modex_jaccard(out->top + ((size_t)l * ns + s) * k, k, members, n);
                if (jc > best) { best = jc; out->best_expert[(size_t)l * ns + s] = e; }
            }
            out->expert_jaccard[(size_t)l * ns + s] = best;
        }
    }
    free(members);
    for (int s = 0; s < ns; s++) { free(task[s]); free(gen[s]); }
    free(task); free(gen); free(nt); free(ng);
    return 0;
}
