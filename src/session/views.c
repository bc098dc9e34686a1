/* views.c — the view models: one table per view, built from the analysis and perturbation
 * snapshots (cached until something changes), then filtered and sorted as the user asked. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "modex/forward.h"
#include "modex/session.h"
#include "modex/util.h"

// --- table building ---------------------------------------------------------------------------------
typedef struct Builder { ViewTable *t; int cap; } Builder;

static void tb_init(Builder *b, ViewTable *t, int n_cols) {
    memset(t, 0, sizeof *t);
    b->t = t;
    b->cap = 0;
    t->n_cols = n_cols;
    t->cols = modex_xcalloc((size_t)n_cols, sizeof *t->cols);
    t->kind = modex_xcalloc((size_t)n_cols, sizeof *t->kind);
    t->heat_lo = INFINITY;
    t->heat_hi = -INFINITY;
}

static void tb_col(Builder *b, int c, ColKind k, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void tb_col(Builder *b, int c, ColKind k, const char *fmt, ...) {
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    b->t->cols[c] = modex_xstrdup(buf);
    b->t->kind[c] = k;
}

static int tb_row(Builder *b, int id) {
    ViewTable *t = b->t;
    if (t->n_rows == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 16;
        size_t n = (size_t)b->cap * t->n_cols;
        t->cell = modex_xrealloc(t->cell, n * sizeof *t->cell);
        t->num = modex_xrealloc(t->num, n * sizeof *t->num);
        t->mark = modex_xrealloc(t->mark, n);
        t->id = modex_xrealloc(t->id, (size_t)b->cap * sizeof *t->id);
    }
    int r = t->n_rows++;
    for (int c = 0; c < t->n_cols; c++) {
        size_t i = (size_t)r * t->n_cols + c;
        t->cell[i] = NULL;
        t->num[i] = NAN;
        t->mark[i] = 0;
    }
    t->id[r] = id;
    return r;
}

static void tb_text(Builder *b, int r, int c, const char *s) {
    size_t i = (size_t)r * b->t->n_cols + c;
    free(b->t->cell[i]);
    b->t->cell[i] = modex_xstrdup(s ? s : "");
}

/* A number: shown with fmt (NaN shown as ""). */
static void tb_num(Builder *b, int r, int c, double v, const char *fmt) {
    char buf[64];
    if (isnan(v)) buf[0] = 0;
    else snprintf(buf, sizeof buf, fmt, v);
    tb_text(b, r, c, buf);
    b->t->num[(size_t)r * b->t->n_cols + c] = v;
}

static void tb_finish(Builder *b) {
    ViewTable *t = b->t;
    for (int i = 0; i < t->n_rows * t->n_cols; i++)
        if (!t->cell[i]) t->cell[i] = modex_xstrdup("");
    if (t->heat_lo > t->heat_hi) t->heat_lo = t->heat_hi = 0;
}

// --- layers -------------------------------------------------------------------------------------------
/* Histogram of the neurons' best predictivity over [0,1] in 10 bins, as ramp glyphs. */
static void sparkline(const LayerResult *lr, const Probe *p, char *out) {
    int bins[10] = {0}, mx = 0;
    for (int j = 0; j < lr->width; j++) {
        int s = lr->best_neuron_sub[j];
        if (s < 0 || s >= p->n_subs) continue;
        float v = lr->pred[(size_t)s * lr->width + j];
        if (isnan(v)) continue;
        int k = (int)(v * 10);
        bins[k < 0 ? 0 : k > 9 ? 9 : k]++;
    }
    for (int k = 0; k < 10; k++) mx = MODEX_MAX(mx, bins[k]);
    for (int k = 0; k < 10; k++) out[k] = bins[k] ? MODEX_RAMP[1 + (bins[k] * 8 + mx - 1) / mx] : ' ';
    out[10] = 0;
}

static void build_layers(Session *s, ViewTable *t) {
    Builder b;
    const Probe *p = &s->probe;
    int F = p->n_funcs, c = 0;
    int ri = s->o.analysis.random_init;
    tb_init(&b, t, 6 + 2 * F + (ri ? F : 0));
    tb_col(&b, c++, COL_NUM, "layer");
    tb_col(&b, c++, COL_TEXT, "state");
    tb_col(&b, c++, COL_NUM, "d_ff");
    tb_col(&b, c++, COL_NUM, "experts");
    for (int f = 0; f < F; f++) tb_col(&b, c++, COL_FRAC, "best:%s", p->funcs[f]);
    for (int f = 0; f < F && ri; f++) tb_col(&b, c++, COL_FRAC, "random-init:%s", p->funcs[f]);
    for (int f = 0; f < F; f++) tb_col(&b, c++, COL_NUM, "functional:%s", p->funcs[f]);
    tb_col(&b, c++, COL_NUM, "masked");
    tb_col(&b, c++, COL_SPARK, "predictivity");
    int width = modex_ffn_width(s->model);
    for (int l = 0; l < s->model->cfg.n_layer; l++) {
        int r = tb_row(&b, l);
        const LayerResult *lr = modex_session_layer(s, l);
        c = 0;
        tb_num(&b, r, c++, l, "%.0f");
        tb_text(&b, r, c++, lr ? "done" : "pending");
        tb_num(&b, r, c++, width, "%.0f");
        tb_num(&b, r, c++, lr ? lr->E : NAN, "%.0f");
        for (int f = 0; f < F; f++) tb_num(&b, r, c++, lr ? lr->best_fn[f] : NAN, "%.3f");
        for (int f = 0; f < F && ri; f++) tb_num(&b, r, c++, lr ? lr->rinit_best_fn[f] : NAN, "%.3f");
        for (int f = 0; f < F; f++) tb_num(&b, r, c++, lr ? lr->ffn[f].n_functional : NAN, "%.0f");
        int nm = s->mask.on ? modex_mask_layer_count(&s->mask, l) : 0;
        tb_num(&b, r, c, nm, "%.0f");
        b.t->mark[(size_t)r * t->n_cols + c++] = nm > 0;
        char sp[16] = "";
        if (lr) sparkline(lr, p, sp);
        tb_text(&b, r, c++, sp);
    }
    tb_finish(&b);
}

// --- experts (heatmap) ------------------------------------------------------------------------------
static int expert_masked(const Session *s, const LayerResult *lr, int e) {
    if (!s->mask.on) return 0;
    const unsigned char *on = s->mask.on + (size_t)lr->layer * s->mask.width;
    int n = 0, tot = 0;
    for (int j = 0; j < lr->width; j++)
        if (lr->assign[j] == e) { tot++; n += on[j]; }
    return n == 0 ? 0 : n == tot ? 2 : 1; /* 1 = some of its neurons */
}

static void build_experts(Session *s, ViewTable *t) {
    Builder b;
    const Probe *p = &s->probe;
    int S = p->n_subs, c = 0;
    tb_init(&b, t, 4 + S);
    tb_col(&b, c++, COL_NUM, "expert");
    tb_col(&b, c++, COL_TEXT, "mask");
    tb_col(&b, c++, COL_NUM, "functional");
    tb_col(&b, c++, COL_NUM, "neurons");
    for (int k = 0; k < S; k++) tb_col(&b, c++, COL_HEAT, "%s", p->subs[k].name);
    const LayerResult *lr = modex_session_layer(s, s->layer);
    for (int e = 0; lr && e < lr->E; e++) {
        int r = tb_row(&b, e), n = 0, nf = 0;
        for (int j = 0; j < lr->width; j++) n += lr->assign[j] == e;
        for (int k = 0; k < S; k++) nf += lr->fsub[k].functional[e];
        int m = expert_masked(s, lr, e);
        c = 0;
        tb_num(&b, r, c++, e, "%.0f");
        tb_text(&b, r, c++, m == 2 ? "M" : m == 1 ? "m" : "");
        tb_num(&b, r, c++, nf, "%.0f");
        tb_num(&b, r, c++, n, "%.0f");
        for (int k = 0; k < S; k++) {
            double v = (s->heat_raw ? lr->heat : lr->heat_z)[(size_t)e * S + k];
            tb_num(&b, r, c, v, "%.4g");
            b.t->mark[(size_t)r * t->n_cols + c] = lr->fsub[k].functional[e];
            if (!isnan(v)) { t->heat_lo = fmin(t->heat_lo, v); t->heat_hi = fmax(t->heat_hi, v); }
            c++;
        }
    }
    tb_finish(&b);
}

// --- neurons ------------------------------------------------------------------------------------------
static void build_neurons(Session *s, ViewTable *t) {
    Builder b;
    const Probe *p = &s->probe;
    int S = p->n_subs, c = 0;
    tb_init(&b, t, 5 + S);
    tb_col(&b, c++, COL_NUM, "neuron");
    tb_col(&b, c++, COL_NUM, "expert");
    tb_col(&b, c++, COL_TEXT, "mask");
    tb_col(&b, c++, COL_FRAC, "best");
    tb_col(&b, c++, COL_TEXT, "best_sub");
    for (int k = 0; k < S; k++) tb_col(&b, c++, COL_NUM, "%s", p->subs[k].name);
    const LayerResult *lr = modex_session_layer(s, s->layer);
    const unsigned char *on = lr && s->mask.on ? s->mask.on + (size_t)s->layer * s->mask.width : NULL;
    for (int j = 0; lr && j < lr->width; j++) {
        if (s->only_expert >= 0 && lr->assign[j] != s->only_expert) continue;
        int r = tb_row(&b, j), bs = lr->best_neuron_sub[j];
        c = 0;
        tb_num(&b, r, c++, j, "%.0f");
        tb_num(&b, r, c++, lr->assign[j], "%.0f");
        tb_text(&b, r, c++, on && on[j] ? "M" : "");
        tb_num(&b, r, c++, bs >= 0 ? lr->pred[(size_t)bs * lr->width + j] : NAN, "%.3f");
        tb_text(&b, r, c++, bs >= 0 && bs < S ? p->subs[bs].name : "");
        for (int k = 0; k < S; k++) tb_num(&b, r, c++, lr->pred[(size_t)k * lr->width + j], "%.3f");
    }
    tb_finish(&b);
}

// --- perturbation -----------------------------------------------------------------------------------
static void build_perturb(Session *s, ViewTable *t) {
    Builder b;
    const Probe *p = &s->probe;
    const PerturbSnap *ps = s->psnap_mask_gen == s->mask_gen ? s->ps : NULL;
    int c = 0;
    tb_init(&b, t, 10);
    tb_col(&b, c++, COL_TEXT, "subfunction");
    tb_col(&b, c++, COL_TEXT, "function");
    tb_col(&b, c++, COL_TEXT, "metric");
    tb_col(&b, c++, COL_NUM, "before");
    tb_col(&b, c++, COL_NUM, "after");
    tb_col(&b, c++, COL_NUM, "delta");
    tb_col(&b, c++, COL_NUM, "random_after");
    tb_col(&b, c++, COL_NUM, "random_sd");
    tb_col(&b, c++, COL_NUM, "random_delta");
    tb_col(&b, c++, COL_NUM, "excess");
    for (int k = 0; k < p->n_subs; k++) {
        int r = tb_row(&b, k);
        c = 0;
        tb_text(&b, r, c++, p->subs[k].name);
        tb_text(&b, r, c++, p->funcs[p->subs[k].function]);
        if (!ps || k >= ps->n_subs) continue;
        double cl = ps->clean[k], ma = ps->masked[k], rm = ps->rand_mean[k];
        tb_text(&b, r, c++, modex_perturb_metric_name(ps->kind[k]));
        tb_num(&b, r, c++, cl, "%.4f");
        tb_num(&b, r, c++, ma, "%.4f");
        tb_num(&b, r, c++, ma - cl, "%+.4f");
        tb_num(&b, r, c++, ps->draws > 0 ? rm : NAN, "%.4f");
        tb_num(&b, r, c++, ps->draws > 1 ? ps->rand_sd[k] : NAN, "%.4f");
        tb_num(&b, r, c++, ps->draws > 0 ? rm - cl : NAN, "%+.4f");
        tb_num(&b, r, c++, ps->draws > 0 ? ma - rm : NAN, "%+.4f");
    }
    tb_finish(&b);
}

// --- help ---------------------------------------------------------------------------------------------
static void build_help(Session *s, ViewTable *t) {
    (void)s;
    Builder b;
    tb_init(&b, t, 4);
    tb_col(&b, 0, COL_TEXT, "keys");
    tb_col(&b, 1, COL_TEXT, "command");
    tb_col(&b, 2, COL_TEXT, "arguments");
    tb_col(&b, 3, COL_TEXT, "what it does");
    for (int i = 0; i < CMD_COUNT; i++) {
        const CmdDef *d = modex_cmd_def(i);
        int r = tb_row(&b, i);
        tb_text(&b, r, 0, d->keys);
        tb_text(&b, r, 1, d->name);
        tb_text(&b, r, 2, d->args);
        tb_text(&b, r, 3, d->help);
    }
    tb_finish(&b);
}

// --- cached access ----------------------------------------------------------------------------------
/* Mask columns follow the mask without rebuilding the rest (a toggle must redraw fast). */
static void set_cell(ViewTable *t, int r, int c, const char *txt, double num, int mark) {
    size_t i = (size_t)r * t->n_cols + c;
    if (strcmp(t->cell[i], txt)) { free(t->cell[i]); t->cell[i] = modex_xstrdup(txt); }
    t->num[i] = num;
    t->mark[i] = (unsigned char)mark;
}

static void patch_masks(Session *s, ViewId v, ViewTable *b) {
    const LayerResult *lr = modex_session_layer(s, s->layer);
    if (v == VIEW_LAYERS) {
        int c = modex_table_col(b, "masked");
        for (int r = 0; r < b->n_rows && c >= 0; r++) {
            int n = s->mask.on ? modex_mask_layer_count(&s->mask, b->id[r]) : 0;
            char buf[32];
            snprintf(buf, sizeof buf, "%d", n);
            set_cell(b, r, c, buf, n, n > 0);
        }
    } else if (v == VIEW_EXPERTS && lr) {
        for (int r = 0; r < b->n_rows; r++) {
            int m = expert_masked(s, lr, b->id[r]);
            set_cell(b, r, 1, m == 2 ? "M" : m == 1 ? "m" : "", NAN, 0);
        }
    } else if (v == VIEW_NEURONS && lr) {
        const unsigned char *on = s->mask.on ? s->mask.on + (size_t)s->layer * s->mask.width : NULL;
        for (int r = 0; r < b->n_rows; r++) set_cell(b, r, 2, on && on[b->id[r]] ? "M" : "", NAN, 0);
    }
}

const ViewTable *modex_session_table(Session *s, ViewId v) {
    /* content (cell texts) is rebuilt when the data changes; sort and filter only reorder it */
    ViewTable *b = &s->base[v], *t = &s->tab[v];
    long long key = s->gen;
    if (v == VIEW_PERTURB) key = ((long long)s->gen * 1000003LL + s->pgen) * 1000003LL + s->mask_gen;
    else if (v == VIEW_LAYERS) key = (long long)s->gen * 1000003LL + s->agen;
    else if (v == VIEW_EXPERTS || v == VIEW_NEURONS) key = (long long)s->gen * 2 + (modex_session_layer(s, s->layer) != NULL);
    int fresh = 0;
    if (s->base_key[v] != key || !b->cols) {
        modex_table_free(t);
        modex_table_free(b);
        switch (v) {
        case VIEW_LAYERS: build_layers(s, b); break;
        case VIEW_EXPERTS: build_experts(s, b); break;
        case VIEW_NEURONS: build_neurons(s, b); break;
        case VIEW_PERTURB: build_perturb(s, b); break;
        default: build_help(s, b); break;
        }
        s->base_key[v] = key;
        s->base_mask_gen[v] = s->mask_gen;
        fresh = 1;
    }
    if (s->base_mask_gen[v] != s->mask_gen) {
        modex_table_free(t); /* it borrows the texts patch_masks replaces */
        patch_masks(s, v, b);
        s->base_mask_gen[v] = s->mask_gen;
        fresh = 1;
    }
    if (fresh || s->tab_vgen[v] != s->vgen[v] || !t->cols) {
        ViewState *vs = &s->vs[v];
        modex_table_free(t);
        modex_table_view(t, b);
        modex_table_filter(t, vs->filter);
        if (vs->sort_col >= t->n_cols) vs->sort_col = -1;
        if (vs->sort_col >= 0) modex_table_sort(t, vs->sort_col, vs->sort_desc);
        s->tab_vgen[v] = s->vgen[v];
    }
    ViewState *vs = &s->vs[v];
    if (vs->cur >= t->n_rows) vs->cur = t->n_rows - 1;
    if (vs->cur < 0) vs->cur = 0;
    if (vs->col >= t->n_cols) vs->col = t->n_cols - 1;
    if (vs->col < 0) vs->col = 0;
    return t;
}

// --- details ------------------------------------------------------------------------------------------
void modex_session_cell_info(Session *s, char *buf, int n) {
    buf[0] = 0;
    const ViewTable *t = modex_session_table(s, s->view);
    ViewState *vs = &s->vs[s->view];
    if (t->n_rows == 0) return;
    int r = vs->cur, c = vs->col, id = t->id[r];
    const Probe *p = &s->probe;
    if (s->view == VIEW_EXPERTS) {
        const LayerResult *lr = modex_session_layer(s, s->layer);
        int k = c - 4;
        if (!lr) return;
        if (k < 0 || k >= p->n_subs) { snprintf(buf, (size_t)n, "layer %d expert %d: %s neurons, functional for %s sub-functions", s->layer, id, modex_table_cell(t, r, 3), modex_table_cell(t, r, 2)); return; }
        const FunctionalResult *fr = &lr->fsub[k];
        snprintf(buf, (size_t)n, "L%d e%d x %s: heat %.4g (z %.3g)  count %d / threshold %d  p = %.3g%s", s->layer, id, p->subs[k].name,
                 lr->heat[(size_t)id * p->n_subs + k], lr->heat_z[(size_t)id * p->n_subs + k], fr->count[id], fr->threshold[id],
                 fr->p_value[id], fr->functional[id] ? "  FUNCTIONAL" : "");
    } else if (s->view == VIEW_NEURONS) {
        snprintf(buf, (size_t)n, "L%d neuron %d (expert %s): best AP %s on %s; %s = %s", s->layer, id, modex_table_cell(t, r, 1),
                 modex_table_cell(t, r, 3), modex_table_cell(t, r, 4), t->cols[c], modex_table_cell(t, r, c));
    } else if (s->view == VIEW_PERTURB) {
        snprintf(buf, (size_t)n, "%s (%s): %s -> %s (%s); random experts: %s +- %s", modex_table_cell(t, r, 0), modex_table_cell(t, r, 2),
                 modex_table_cell(t, r, 3), modex_table_cell(t, r, 4), modex_table_cell(t, r, 5), modex_table_cell(t, r, 6),
                 modex_table_cell(t, r, 7));
    } else if (s->view == VIEW_LAYERS) {
        const LayerResult *lr = modex_session_layer(s, id);
        if (!lr) { snprintf(buf, (size_t)n, "layer %d: being analysed", id); return; }
        int k = snprintf(buf, (size_t)n, "layer %d: %d experts; functional experts", id, lr->E);
        for (int f = 0; f < p->n_funcs && k < n; f++)
            k += snprintf(buf + k, (size_t)(n - k), "%s %s %d (modularisation %.2f)", f ? "," : "", p->funcs[f], lr->ffn[f].n_functional,
                          lr->ffn[f].modularisation);
        if (k < n) snprintf(buf + k, (size_t)(n - k), "; Enter: heatmap");
    }
}

/* Text of a probe unit: its span (or whole text), blanks flattened, at most w bytes. */
static void unit_text(const Probe *p, int u, char *out, int w) {
    const ProbeUnit *pu = &p->units[u];
    const char *txt = p->texts[pu->text];
    int b = pu->span_begin >= 0 ? pu->span_begin : 0;
    int e = pu->span_begin >= 0 ? pu->span_end : (int)p->text_len[pu->text];
    int n = 0;
    for (int i = b; i < e && n < w - 1; i++) out[n++] = (txt[i] == '\n' || txt[i] == '\t' || txt[i] == '\r') ? ' ' : txt[i];
    /* do not cut a UTF-8 sequence */
    while (n > 0 && n < e - b && ((unsigned char)out[n] & 0xC0) == 0x80 && ((unsigned char)txt[b + n] & 0xC0) == 0x80) n--;
    out[n] = 0;
}

int modex_session_neuron_detail(Session *s, int neuron, char (*lines)[160], int max) {
    const LayerResult *lr = modex_session_layer(s, s->layer);
    const Probe *p = &s->probe;
    if (!lr || neuron < 0 || neuron >= lr->width || max < 4) return 0;
    int U = p->n_units, top[5], nt = 0, nl = 0;
    for (int i = 0; i < 5 && i < U; i++) {
        int best = -1;
        for (int u = 0; u < U; u++) {
            int used = 0;
            for (int k = 0; k < nt; k++) used |= top[k] == u;
            if (used) continue;
            float v = lr->acts[(size_t)u * lr->width + neuron];
            if (best < 0 || v > lr->acts[(size_t)best * lr->width + neuron]) best = u;
        }
        if (best >= 0) top[nt++] = best;
    }
    snprintf(lines[nl++], 160, "neuron %d: top activating examples", neuron);
    for (int k = 0; k < nt && nl < max - 3; k++) {
        char txt[100];
        unit_text(p, top[k], txt, 70);
        snprintf(lines[nl++], 160, "%9.3f  %s", lr->acts[(size_t)top[k] * lr->width + neuron], txt);
    }
    float lo = INFINITY, hi = -INFINITY;
    for (int u = 0; u < U; u++) { float v = lr->acts[(size_t)u * lr->width + neuron]; lo = fminf(lo, v); hi = fmaxf(hi, v); }
    int bins[8] = {0}, mx = 1;
    for (int u = 0; u < U; u++) {
        float v = lr->acts[(size_t)u * lr->width + neuron];
        int k = hi > lo ? (int)((v - lo) / (hi - lo) * 8) : 0;
        bins[k > 7 ? 7 : k < 0 ? 0 : k]++;
    }
    for (int k = 0; k < 8; k++) mx = MODEX_MAX(mx, bins[k]);
    if (nl < max) snprintf(lines[nl++], 160, "activations over %d examples:", U);
    for (int k = 0; k < 8 && nl < max; k++) {
        char bar[41];
        int w = bins[k] * 40 / mx;
        memset(bar, '#', (size_t)w);
        bar[w] = 0;
        snprintf(lines[nl++], 160, "%9.3f %-40s %d", lo + (hi - lo) * k / 8, bar, bins[k]);
    }
    return nl;
}
