/* view_experts.c — the expert × sub-function heatmap of the selected layer. */
#include "ui.h"

static void draw(App *a, Canvas *cv, int y0, int y1) {
    Session *s = a->s;
    const ViewTable *t = modex_session_table(s, VIEW_EXPERTS);
    const LayerResult *lr = modex_session_layer(s, s->layer);
    if (!lr) {
        ui_canvas_printf(cv, y0, 0, -1, EL_PENDING, "layer %d: being analysed ... its heatmap appears when the layer is done", s->layer);
        return;
    }
    ui_canvas_printf(cv, y0, 0, -1, EL_DIM, "layer %d: %d experts x %d sub-functions; Space masks the expert, Enter lists its neurons", s->layer, lr->E,
                     s->probe.n_subs);
    ui_draw_table(a, cv, t, &s->vs[VIEW_EXPERTS], y0 + 1, y1 - 1, &a->geom);
    ui_heat_legend(cv, y1 - 1, t->heat_lo, t->heat_hi, s->heat_raw);
}

const ViewOps ui_view_experts = {VIEW_EXPERTS, NULL, draw, NULL, ui_view_select, ui_view_export};
