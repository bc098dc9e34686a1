/* test_ui_models.c — the explorer's view models without a terminal, on the probe-e2e fixture:
 * tables equal the analysis they show, sorting (stable, NaN last), filtering, heat shading,
 * the perturbation table against a direct perturber run, masks from commands, export content
 * equal to the view's rows, and the screen drawn into a canvas. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "modex/session.h"
#include "modex/util.h"
#include "reference.h"
#include "../src/ui/ui.h"

#define E2E FIX "probe-e2e/"

static Session *open_e2e(void) {
    static Session s;
    SessionOpts o;
    modex_session_opts_defaults(&o);
    o.model_path = E2E "model";
    o.probe_path = E2E "probe.csv";
    o.analysis.expert_size = 16;
    o.analysis.shuffles = 20;
    o.draws = 3;
    Error err = {0};
    assert_int_equal(modex_session_open(&s, &o, &err), 0);
    assert_int_equal(modex_session_wait(&s, 120), 0);
    return &s;
}

// --- tables from the analysis --------------------------------------------------------------------
static void test_layers_and_neurons(void **st) {
    (void)st;
    Session *s = open_e2e();
    const Analysis *a = s->as->a;
    const ViewTable *t = modex_session_table(s, VIEW_LAYERS);
    assert_int_equal(t->n_rows, 3);
    int bt = modex_table_col(t, "best:task"), ex = modex_table_col(t, "experts");
    assert_true(bt > 0 && ex > 0);
    int task = -1;
    for (int f = 0; f < s->probe.n_funcs; f++) if (!strcmp(s->probe.funcs[f], "task")) task = f;
    for (int l = 0; l < 3; l++) {
        assert_int_equal(t->id[l], l);
        assert_string_equal(modex_table_cell(t, l, 1), "done");
        assert_true(fabs(t->num[l * t->n_cols + bt] - a->layers[l].best_fn[task]) < 1e-12);
        assert_string_equal(modex_table_cell(t, l, ex), "16"); /* 256 / 16 */
    }
    /* neurons: best = max over the sub-function columns, expert = assign */
    assert_int_equal(modex_session_exec(s, "layer 2") & SESS_ERROR, 0);
    t = modex_session_table(s, VIEW_NEURONS);
    assert_int_equal(t->n_rows, 256);
    for (int r = 0; r < t->n_rows; r++) {
        int j = t->id[r];
        double mx = -1;
        for (int k = 0; k < s->probe.n_subs; k++) mx = fmax(mx, a->layers[2].pred[(size_t)k * 256 + j]);
        assert_true(fabs(t->num[r * t->n_cols + 3] - mx) < 1e-6);
        assert_int_equal((int)t->num[r * t->n_cols + 1], a->layers[2].assign[j]);
    }
    modex_session_close(s);
}

static void test_sort_filter(void **st) {
    (void)st;
    Session *s = open_e2e();
    modex_session_exec(s, "layer 1");
    modex_session_exec(s, "view neurons");
    assert_int_equal(s->view, VIEW_NEURONS);
    assert_int_equal(modex_session_exec(s, "sort sentiment desc") & SESS_ERROR, 0);
    const ViewTable *t = modex_session_table(s, VIEW_NEURONS);
    int c = modex_table_col(t, "sentiment");
    for (int r = 1; r < t->n_rows; r++) {
        double x = t->num[(r - 1) * t->n_cols + c], y = t->num[r * t->n_cols + c];
        assert_true(x >= y);
        if (x == y) assert_true(t->id[r - 1] < t->id[r]); /* stable: index order among ties */
    }
    assert_true(modex_session_exec(s, "sort nosuchcolumn") & SESS_ERROR);
    /* filter: rows whose cells contain the text */
    modex_session_exec(s, "find capital_of");
    t = modex_session_table(s, VIEW_NEURONS);
    int n = 0;
    for (int j = 0; j < 256; j++) n += s->as->a->layers[1].best_neuron_sub[j] == modex_probe_find_sub(&s->probe, "capital_of");
    assert_int_equal(t->n_rows, n); /* only best_sub holds sub-function names */
    assert_true(n > 0 && n < 256);
    for (int r = 0; r < t->n_rows; r++) assert_string_equal(modex_table_cell(t, r, 4), "capital_of");
    modex_session_exec(s, "find");
    assert_int_equal(modex_session_table(s, VIEW_NEURONS)->n_rows, 256);
    modex_session_close(s);

    /* NaN last in both directions, on a hand-made table */
    ViewTable x = {0};
    x.n_cols = 1;
    x.n_rows = 4;
    x.cols = calloc(1, sizeof(char *)); x.cols[0] = strdup("v");
    x.kind = calloc(1, sizeof(ColKind)); x.kind[0] = COL_NUM;
    x.cell = calloc(4, sizeof(char *)); x.num = calloc(4, sizeof(double)); x.mark = calloc(4, 1); x.id = calloc(4, sizeof(int));
    double v[4] = {2, NAN, 1, 3};
    for (int i = 0; i < 4; i++) { x.num[i] = v[i]; x.id[i] = i; x.cell[i] = strdup("x"); }
    modex_table_sort(&x, 0, 0);
    assert_int_equal(x.id[0], 2); assert_int_equal(x.id[1], 0); assert_int_equal(x.id[2], 3); assert_int_equal(x.id[3], 1);
    modex_table_sort(&x, 0, 1);
    assert_int_equal(x.id[0], 3); assert_int_equal(x.id[1], 0); assert_int_equal(x.id[2], 2); assert_int_equal(x.id[3], 1);
    modex_table_free(&x);
}

static void test_heat_shading(void **st) {
    (void)st;
    assert_int_equal(modex_heat_level(0, 0, 1), 0);
    assert_int_equal(modex_heat_level(0.0999, 0, 1), 0);
    assert_int_equal(modex_heat_level(0.1, 0, 1), 1);
    assert_int_equal(modex_heat_level(0.55, 0, 1), 5);
    assert_int_equal(modex_heat_level(1, 0, 1), 9);
    assert_int_equal(modex_heat_level(-5, 0, 1), 0);
    assert_int_equal(modex_heat_level(NAN, 0, 1), -1);
    assert_int_equal(modex_heat_glyph(1, 0, 1), '@');
    assert_int_equal(modex_heat_glyph(0.35, 0, 1), '-');
    assert_int_equal(modex_heat_glyph(NAN, 0, 1), '?');
    /* the experts table: heat cells are heat_z of the analysis, marks = functional tests */
    Session *s = open_e2e();
    modex_session_exec(s, "layer 0");
    const ViewTable *t = modex_session_table(s, VIEW_EXPERTS);
    const LayerResult *lr = &s->as->a->layers[0];
    int S = s->probe.n_subs;
    assert_int_equal(t->n_rows, lr->E);
    double lo = INFINITY, hi = -INFINITY;
    for (int e = 0; e < lr->E; e++)
        for (int k = 0; k < S; k++) {
            assert_true(fabs(t->num[e * t->n_cols + 4 + k] - lr->heat_z[e * S + k]) < 1e-6);
            assert_int_equal(t->mark[e * t->n_cols + 4 + k], lr->fsub[k].functional[e]);
            lo = fmin(lo, lr->heat_z[e * S + k]); hi = fmax(hi, lr->heat_z[e * S + k]);
        }
    assert_true(fabs(t->heat_lo - lo) < 1e-6 && fabs(t->heat_hi - hi) < 1e-6);
    /* the canvas shows the glyph of each cell's level */
    App app;
    memset(&app, 0, sizeof app);
    app.s = s;
    ui_canvas_resize(&app.cv, 120, 40);
    s->view = VIEW_EXPERTS;
    s->vs[VIEW_EXPERTS].cur = 1; /* the cursor cell is drawn apart */
    ui_app_draw(&app);
    int y = app.geom.y_rows, x = 0;
    /* find the first heat column's x: after expert, mask, functional, neurons */
    const char *hdr = "";
    char line[256];
    for (int i = 0; i < 120; i++) line[i] = app.cv.c[(app.geom.y0) * 120 + i].ch[0];
    line[120] = 0;
    hdr = strstr(line, s->probe.subs[0].name);
    assert_non_null(hdr);
    x = (int)(hdr - line);
    char g = app.cv.c[y * 120 + x].ch[0];
    assert_int_equal(g, modex_heat_glyph(lr->heat_z[0], t->heat_lo, t->heat_hi));
    ui_canvas_free(&app.cv);
    modex_session_close(s);
}

// --- perturbation -------------------------------------------------------------------------------------
static void test_perturb_table(void **st) {
    (void)st;
    Session *s = open_e2e();
    assert_int_equal(modex_session_exec(s, "mask 1:2,5") & SESS_ERROR, 0);
    assert_true(modex_session_exec(s, "mask 1:99") & SESS_ERROR);
    assert_true(modex_session_exec(s, "mask x") & SESS_ERROR);
    assert_int_equal(modex_mask_count(&s->mask), 32);
    modex_session_exec(s, "view perturb");
    assert_int_equal(modex_session_wait(s, 120), 0);
    const ViewTable *t = modex_session_table(s, VIEW_PERTURB);
    assert_int_equal(t->n_rows, s->probe.n_subs);
    /* the same numbers straight from the perturber */
    Error err = {0};
    Perturber *pt = modex_perturber_new(s->model, s->tok, &s->probe, &err);
    assert_non_null(pt);
    PerturbResult clean, masked;
    assert_int_equal(modex_perturber_clean(pt, &clean, NULL, NULL, &err), 0);
    assert_int_equal(modex_perturber_eval(pt, &s->mask, PERTURB_ZERO, s->o.seed, &masked, NULL, NULL, &err), 0);
    int cb = modex_table_col(t, "before"), ca = modex_table_col(t, "after"), cd = modex_table_col(t, "delta");
    int cr = modex_table_col(t, "random_after");
    for (int r = 0; r < t->n_rows; r++) {
        int k = t->id[r];
        assert_true(fabs(t->num[r * t->n_cols + cb] - clean.value[k]) < 1e-12);
        assert_true(fabs(t->num[r * t->n_cols + ca] - masked.value[k]) < 1e-12);
        assert_true(fabs(t->num[r * t->n_cols + cd] - (masked.value[k] - clean.value[k])) < 1e-12);
        assert_false(isnan(t->num[r * t->n_cols + cr]));
        assert_string_equal(modex_table_cell(t, r, 2), modex_perturb_metric_name(clean.kind[k]));
    }
    /* masking changes the numbers; unmasking brings them back to the clean run */
    int changed = 0;
    for (int k = 0; k < s->probe.n_subs; k++) changed |= masked.value[k] != clean.value[k];
    assert_true(changed);
    modex_session_exec(s, "unmask 1:2,5");
    assert_int_equal(modex_mask_count(&s->mask), 0);
    assert_int_equal(modex_session_wait(s, 120), 0);
    t = modex_session_table(s, VIEW_PERTURB);
    for (int r = 0; r < t->n_rows; r++) assert_true(fabs(t->num[r * t->n_cols + cd]) < 1e-12);
    /* Space on the experts view toggles the expert under the cursor */
    modex_session_exec(s, "layer 0");
    modex_session_exec(s, "view experts");
    s->vs[VIEW_EXPERTS].cur = 3;
    assert_int_equal(modex_session_run(s, CMD_TOGGLE, NULL) & SESS_ERROR, 0);
    assert_int_equal(modex_mask_layer_count(&s->mask, 0), 16);
    assert_string_equal(modex_table_cell(modex_session_table(s, VIEW_EXPERTS), 3, 1), "M");
    const ViewTable *lt = modex_session_table(s, VIEW_LAYERS);
    assert_string_equal(modex_table_cell(lt, 0, modex_table_col(lt, "masked")), "16");
    assert_string_equal(modex_table_cell(lt, 1, modex_table_col(lt, "masked")), "0");
    /* the neurons of expert 3 show the mask too, the others do not */
    const ViewTable *nt = modex_session_table(s, VIEW_NEURONS);
    for (int r = 0; r < nt->n_rows; r++)
        assert_string_equal(modex_table_cell(nt, r, 2), s->as->a->layers[0].assign[nt->id[r]] == 3 ? "M" : "");
    modex_session_run(s, CMD_TOGGLE, NULL);
    assert_int_equal(modex_mask_count(&s->mask), 0);
    assert_string_equal(modex_table_cell(modex_session_table(s, VIEW_EXPERTS), 3, 1), "");
    lt = modex_session_table(s, VIEW_LAYERS);
    assert_string_equal(modex_table_cell(lt, 0, modex_table_col(lt, "masked")), "0");
    modex_perturb_result_free(&clean);
    modex_perturb_result_free(&masked);
    modex_perturber_free(pt);
    modex_session_close(s);
}

// --- export --------------------------------------------------------------------------------------------
static void test_export(void **st) {
    (void)st;
    Session *s = open_e2e();
    modex_session_exec(s, "layer 2");
    modex_session_exec(s, "view neurons");
    modex_session_exec(s, "sort best desc");
    modex_session_exec(s, "find sentiment");
    char path[64];
    snprintf(path, sizeof path, "/tmp/modex-test-ui-%d.csv", (int)getpid());
    remove(path);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "export %s", path);
    assert_int_equal(modex_session_exec(s, cmd) & SESS_ERROR, 0);
    assert_true(modex_session_exec(s, cmd) & SESS_ERROR); /* never overwrites */
    snprintf(cmd, sizeof cmd, "export! %s", path);
    assert_int_equal(modex_session_exec(s, cmd) & SESS_ERROR, 0);
    const ViewTable *t = modex_session_table(s, VIEW_NEURONS);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[4096];
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "neuron,expert,mask,best,best_sub,sentiment,animal_vs_tool,capital_of\r\n");
    int r = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        char want[4096];
        int n = 0;
        for (int c = 0; c < t->n_cols; c++) n += snprintf(want + n, sizeof want - (size_t)n, "%s%s", c ? "," : "", modex_table_cell(t, r, c));
        assert_string_equal(line, want);
        r++;
    }
    fclose(f);
    assert_int_equal(r, t->n_rows);
    assert_true(r > 0 && r < 256);
    remove(path);
    modex_session_close(s);
}

// --- open / probe / options -----------------------------------------------------------------------
static void test_reopen(void **st) {
    (void)st;
    Session *s = open_e2e();
    Model *m = s->model;
    assert_true(modex_session_exec(s, "open /nonexistent/model") & SESS_ERROR);
    assert_ptr_equal(s->model, m); /* a failed open keeps what was open */
    assert_int_equal(s->probe.n_subs, 3);
    assert_true(modex_session_exec(s, "probe /nonexistent.csv") & SESS_ERROR);
    assert_int_equal(modex_session_exec(s, "probe assets/probes/english.csv") & SESS_ERROR, 0);
    assert_int_equal(s->probe.n_subs, 12);
    assert_int_equal(modex_session_wait(s, 120), 0);
    const ViewTable *t = modex_session_table(s, VIEW_EXPERTS);
    assert_int_equal(t->n_cols, 4 + 12);
    /* options that re-run the analysis */
    assert_int_equal(modex_session_exec(s, "experts 4") & SESS_ERROR, 0);
    assert_true(modex_session_exec(s, "experts 7") & SESS_ERROR); /* 256 % 7 */
    assert_int_equal(modex_session_wait(s, 120), 0);
    assert_int_equal(modex_session_table(s, VIEW_EXPERTS)->n_rows, 4);
    assert_int_equal(modex_session_exec(s, "agg mean") & SESS_ERROR, 0);
    assert_int_equal(s->o.analysis.agg, AGG_MEAN);
    assert_true(modex_session_exec(s, "agg median") & SESS_ERROR);
    assert_true(modex_session_exec(s, "set nothing 1") & SESS_ERROR);
    assert_int_equal(modex_session_exec(s, "set heat raw") & SESS_ERROR, 0);
    assert_int_equal(modex_session_wait(s, 120), 0);
    const LayerResult *lr = modex_session_layer(s, 0);
    t = modex_session_table(s, VIEW_EXPERTS);
    assert_true(fabs(t->num[4] - lr->heat[0]) < 1e-6); /* raw heat now */
    assert_int_equal(modex_session_exec(s, "mode shuffle") & SESS_ERROR, 0);
    assert_int_equal(s->o.mode, PERTURB_SHUFFLE);
    modex_session_close(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layers_and_neurons), cmocka_unit_test(test_sort_filter), cmocka_unit_test(test_heat_shading),
        cmocka_unit_test(test_perturb_table), cmocka_unit_test(test_export), cmocka_unit_test(test_reopen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
