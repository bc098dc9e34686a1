/* analysis_csv.c — the seven CSVs of `modex analyze`, written to temp files and renamed
 * together: either all appear or none. */
#include "modex/analysis.h"
#include "modex/csvout.h"
#include "modex/util.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define N_FILES MODEX_ANALYSIS_N_FILES
const char *const modex_analysis_files[N_FILES] = {"predictivity.csv", "neurons.csv", "experts.csv", "functional_experts.csv",
                                                   "heatmap.csv", "summary.csv", "subfunctions.csv"};

static void w_pred(const Analysis *a, CsvOut *c) {
    const Probe *p = a->probe;
    modex_csv_header(c, "layer,neuron,function,subfunction,ap");
    for (int l = 0; l < a->n_layer; l++) {
        const LayerResult *R = &a->layers[l];
        if (!R->done) continue;
        for (int j = 0; j < R->width; j++)
            for (int s = 0; s < p->n_subs; s++) {
                modex_csv_int(c, l); modex_csv_int(c, j);
                modex_csv_str(c, p->funcs[p->subs[s].function]); modex_csv_str(c, p->subs[s].name);
                modex_csv_num(c, R->pred[(size_t)s * R->width + j]);
                modex_csv_end_row(c);
            }
    }
}

static void w_neurons(const Analysis *a, CsvOut *c) {
    const Probe *p = a->probe;
    modex_csv_header(c, "layer,neuron,expert,best_function,best_subfunction,best_ap");
    for (int l = 0; l < a->n_layer; l++) {
        const LayerResult *R = &a->layers[l];
        if (!R->done) continue;
        for (int j = 0; j < R->width; j++) {
            int s = R->best_neuron_sub[j];
            modex_csv_int(c, l); modex_csv_int(c, j); modex_csv_int(c, R->assign[j]);
            modex_csv_str(c, p->funcs[p->subs[s].function]); modex_csv_str(c, p->subs[s].name);
            modex_csv_num(c, R->pred[(size_t)s * R->width + j]);
            modex_csv_end_row(c);
        }
    }
}

static void w_experts(const Analysis *a, CsvOut *c) {
    modex_csv_header(c, "layer,expert,size,neurons");
    for (int l = 0; l < a->n_layer; l++) {
        const LayerResult *R = &a->layers[l];
        if (!R->done) continue;
        size_t cap = (size_t)R->width * 8 + 16;
        char *buf = modex_xmalloc(cap);
        for (int e = 0; e < R->E; e++) {
            size_t k = 0; int n = 0;
            buf[0] = 0;
            for (int j = 0; j < R->width; j++)
                if (R->assign[j] == e) { k += (size_t)snprintf(buf + k, cap - k, n ? " %d" : "%d", j); n++; }
            modex_csv_int(c, l); modex_csv_int(c, e); modex_csv_int(c, n); modex_csv_str(c, buf);
            modex_csv_end_row(c);
        }
        free(buf);
    }
}

static void func_rows(CsvOut *c, int l, const char *fn, const char *sub, const FunctionalResult *r) {
    for (int e = 0; e < r->E; e++) {
        modex_csv_int(c, l); modex_csv_str(c, fn); modex_csv_str(c, sub); modex_csv_int(c, e);
        modex_csv_int(c, r->count[e]); modex_csv_int(c, r->threshold[e]); modex_csv_num(c, r->p_value[e]);
        modex_csv_int(c, r->functional[e]);
        modex_csv_end_row(c);
    }
}

static void w_func(const Analysis *a, CsvOut *c) {
    const Probe *p = a->probe;
    modex_csv_header(c, "layer,function,subfunction,expert,count,threshold,p_value,functional");
    for (int l = 0; l < a->n_layer; l++) {
        const LayerResult *R = &a->layers[l];
        if (!R->done) continue;
        for (int s = 0; s < p->n_subs; s++) func_rows(c, l, p->funcs[p->subs[s].function], p->subs[s].name, &R->fsub[s]);
        for (int f = 0; f < p->n_funcs; f++) func_rows(c, l, p->funcs[f], "*", &R->ffn[f]); /* pooled, binomial */
    }
}

static void w_heat(const Analysis *a, CsvOut *c) {
    const Probe *p = a->probe;
    modex_csv_header(c, "layer,expert,function,subfunction,mean_activation,z");
    for (int l = 0; l < a->n_layer; l++) {
        const LayerResult *R = &a->layers[l];
        if (!R->done) continue;
        for (int e = 0; e < R->E; e++)
            for (int s = 0; s < p->n_subs; s++) {
                modex_csv_int(c, l); modex_csv_int(c, e);
                modex_csv_str(c, p->funcs[p->subs[s].function]); modex_csv_str(c, p->subs[s].name);
                modex_csv_num(c, R->heat[(size_t)e * p->n_subs + s]); modex_csv_num(c, R->heat_z[(size_t)e * p->n_subs + s]);
                modex_csv_end_row(c);
            }
    }
}

static void w_summary(const Analysis *a, CsvOut *c) {
    const Probe *p = a->probe;
    modex_csv_header(c, "layer,function,best_ap_mean,functional_proportion,modularisation_degree,random_init_best_ap_mean,random_partition_proportion,random_partition_modularisation");
    for (int l = 0; l < a->n_layer; l++) {
        const LayerResult *R = &a->layers[l];
        if (!R->done) continue;
        for (int f = 0; f < p->n_funcs; f++) {
            modex_csv_int(c, l); modex_csv_str(c, p->funcs[f]);
            modex_csv_num(c, R->best_fn[f]);
            modex_csv_num(c, (double)R->ffn[f].n_functional / R->E);
            modex_csv_num(c, R->ffn[f].modularisation);
            modex_csv_num(c, R->rinit_best_fn ? R->rinit_best_fn[f] : NAN);
            modex_csv_num(c, R->rand_prop[f]);
            modex_csv_num(c, R->rand_mod[f]);
            modex_csv_end_row(c);
        }
    }
}

/* per layer and sub-function: the best neuron's AP, the random-init copy's (empty without
 * --random-init) and how many experts are functional for it; summary.csv's means come from
 * these rows */
static void w_subs(const Analysis *a, CsvOut *c) {
    const Probe *p = a->probe;
    modex_csv_header(c, "layer,function,subfunction,best_ap,random_init_best_ap,functional_experts");
    for (int l = 0; l < a->n_layer; l++) {
        const LayerResult *R = &a->layers[l];
        if (!R->done) continue;
        for (int s = 0; s < p->n_subs; s++) {
            modex_csv_int(c, l);
            modex_csv_str(c, p->funcs[p->subs[s].function]); modex_csv_str(c, p->subs[s].name);
            modex_csv_num(c, R->best_sub[s]);
            modex_csv_num(c, R->rinit_best_sub ? R->rinit_best_sub[s] : NAN);
            modex_csv_int(c, R->fsub[s].n_functional);
            modex_csv_end_row(c);
        }
    }
}

int modex_analysis_write(const Analysis *a, const char *dir, int force, Error *err) {
    void (*fns[N_FILES])(const Analysis *, CsvOut *) = {w_pred, w_neurons, w_experts, w_func, w_heat, w_summary, w_subs};
    OutFile of[N_FILES];
    memset(of, 0, sizeof of);
    int i, rc = 0;
    for (i = 0; i < N_FILES; i++) { /* refuse early: nothing is created if any target exists */
        char *p = modex_path_join(dir, modex_analysis_files[i]);
        if (!force && modex_file_exists(p)) rc = modex_error(err, p, "already exists (another folder, or --force to overwrite)");
        free(p);
        if (rc) return -1;
    }
    for (i = 0; i < N_FILES; i++) {
        char *p = modex_path_join(dir, modex_analysis_files[i]);
        rc = modex_out_open(&of[i], p, force, err);
        free(p);
        if (rc) break;
        CsvOut c;
        modex_csv_begin(&c, of[i].f);
        fns[i](a, &c);
        if (c.bad) { rc = modex_error(err, of[i].path, "write failed (space on the device)"); i++; break; }
    }
    if (rc) { for (int k = 0; k < i; k++) modex_out_abort(&of[k]); return -1; }
    /* ^C / kill wait until the renames are done: all seven files or none, even then */
    modex_signals_hold();
    for (i = 0; i < N_FILES; i++)
        if (modex_out_commit(&of[i], err)) {
            for (int k = i + 1; k < N_FILES; k++) modex_out_abort(&of[k]);
            /* remove the ones already renamed: all or none */
            for (int k = 0; k < i; k++) { char *p = modex_path_join(dir, modex_analysis_files[k]); if (!force) remove(p); free(p); }
            modex_signals_release();
            return -1;
        }
    modex_signals_release();
    return 0;
}
