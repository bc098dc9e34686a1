/* view_layers.c — one row per layer; rows fill in as the analysis job finishes layers. */
#include "ui.h"

static void draw(App *a, Canvas *cv, int y0, int y1) {
    Session *s = a->s;
    const ViewTable *t = modex_session_table(s, VIEW_LAYERS);
    int done = 0;
    for (int l = 0; l < s->model->cfg.n_layer; l++) done += modex_session_layer(s, l) != NULL;
    ui_canvas_printf(cv, y0, 0, -1, EL_DIM, "%d of %d layers analysed; best = mean over a function's sub-functions of the best neuron AP; Enter: experts",
                     done, s->model->cfg.n_layer);
    ui_draw_table(a, cv, t, &s->vs[VIEW_LAYERS], y0 + 1, y1, &a->geom);
}

const ViewOps ui_view_layers = {VIEW_LAYERS, NULL, draw, NULL, ui_view_select, ui_view_export};
