/* select.c — which neurons a perturbation hits (method.md §6): top by a sub-function's AP, by
 * a function's mean AP, whole experts by summed AP, or random. */
#include "modex/analysis.h"
#include "modex/forward.h"
#include "modex/perturb.h"
#include "modex/rng.h"
#include "modex/stats.h"
#include "modex/util.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

int modex_perturb_select_parse(PerturbSelect *s, const char *spec, const Probe *p, Error *err) {
    memset(s, 0, sizeof *s);
    s->target = -1;
    const char *colon = strchr(spec, ':');
    if (!strcmp(spec, "random")) { s->kind = SELECT_RANDOM; return 0; }
    if (!colon) return modex_error(err, "--select", "'%s' (ap:SUB, ap_avg:FUNCTION, experts:FUNCTION or random)", spec);
    size_t n = (size_t)(colon - spec);
    const char *name = colon + 1;
    if (n == 2 && !strncmp(spec, "ap", 2)) {
        s->kind = SELECT_AP;
        s->target = modex_probe_find_sub(p, name);
        if (s->target < 0) return modex_error(err, "--select", "'%s': no sub-function '%s' in %s (a sub-function of the probe)", spec, name, p->path);
        return 0;
    }
    if ((n == 6 && !strncmp(spec, "ap_avg", 6)) || (n == 7 && !strncmp(spec, "experts", 7))) {
        s->kind = n == 6 ? SELECT_AP_AVG : SELECT_EXPERTS;
        for (int f = 0; f < p->n_funcs; f++) if (!strcmp(p->funcs[f], name)) s->target = f;
        if (s->target < 0) return modex_error(err, "--select", "'%s': no function '%s' in %s (a function of the probe)", spec, name, p->path);
        return 0;
    }
    return modex_error(err, "--select", "'%s' (ap:SUB, ap_avg:FUNCTION, experts:FUNCTION or random)", spec);
}

static int how_many(const PerturbSelect *s, int n) {
    int k = s->count > 0 ? s->count : (int)floor(s->fraction * n + 0.5);
    if (k < 0) k = 0;
    return k > n ? n : k;
}

int modex_perturb_select(const PerturbSelect *s, const Analysis *a, const Model *m, PerturbMask *out, Error *err) {
    int L = m->cfg.n_layer, W = modex_ffn_width(m), per = 0;
    modex_mask_clear(out);
    Rng r;
    modex_rng_seed(&r, s->seed);
    float *score = modex_xmalloc(sizeof(float) * (size_t)(W + 1));
    int *idx = modex_xmalloc(sizeof(int) * (size_t)(W + 1));
    int rc = 0;
    for (int l = 0; l < L && !rc; l++) {
        if (s->layers && !s->layers[l]) continue;
        unsigned char *row = out->on + (size_t)l * W;
        if (s->kind == SELECT_RANDOM) {
            per = how_many(s, W);
            for (int j = 0; j < W; j++) idx[j] = j;
            for (int i = 0; i < per; i++) {
                int j = i + (int)modex_rng_below(&r, (uint64_t)(W - i));
                int x = idx[i]; idx[i] = idx[j]; idx[j] = x;
                row[idx[i]] = 1;
            }
            continue;
        }
        const LayerResult *R = a && a->layers ? &a->layers[l] : NULL;
        if (!R || !R->pred || !R->assign) { rc = modex_error(err, "--select", "layer %d was not analysed (a layer of the analysis)", l); break; }
        const Probe *p = a->probe;
        /* neuron scores */
        int nsub = 0;
        for (int j = 0; j < W; j++) score[j] = 0;
        for (int q = 0; q < p->n_subs; q++) {
            int use = s->kind == SELECT_AP ? q == s->target : p->subs[q].function == s->target;
            if (!use) continue;
            nsub++;
            const float *pr = R->pred + (size_t)q * W;
            for (int j = 0; j < W; j++) score[j] += pr[j];
        }
        if (s->kind == SELECT_AP_AVG) for (int j = 0; j < W; j++) score[j] /= (float)(nsub ? nsub : 1);
        for (int j = 0; j < W; j++) if (isnan(score[j])) score[j] = -INFINITY;
        if (s->kind != SELECT_EXPERTS) {
            per = how_many(s, W);
            modex_top_k(score, W, per, idx);
            for (int i = 0; i < per; i++) row[idx[i]] = 1;
        } else {
            int E = R->E;
            float *es = modex_xcalloc((size_t)E + 1, sizeof(float));
            for (int j = 0; j < W; j++) if (R->assign[j] >= 0 && R->assign[j] < E && isfinite(score[j])) es[R->assign[j]] += score[j];
            per = how_many(s, E);
            int *top = modex_xmalloc(sizeof(int) * (size_t)(E + 1));
            modex_top_k(es, E, per, top);
            for (int i = 0; i < per; i++) modex_mask_set_expert(out, l, R->assign, top[i], 1);
            free(top); free(es);
        }
    }
    free(score); free(idx);
    return rc ? -1 : per;
}
