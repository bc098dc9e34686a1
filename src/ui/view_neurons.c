/* view_neurons.c — the neurons of the selected layer (or of one expert), sortable and
 * searchable, with the top-activating examples and activation histogram of the cursor's. */
#include "modex/util.h"
#include "ui.h"

static void draw(App *a, Canvas *cv, int y0, int y1) {
    Session *s = a->s;
    const ViewTable *t = modex_session_table(s, VIEW_NEURONS);
    ViewState *vs = &s->vs[VIEW_NEURONS];
    if (!modex_session_layer(s, s->layer)) {
        ui_canvas_printf(cv, y0, 0, -1, EL_PENDING, "layer %d: being analysed ...", s->layer);
        return;
    }
    if (s->only_expert >= 0)
        ui_canvas_printf(cv, y0, 0, -1, EL_DIM, "layer %d, expert %d: %d neurons%s%s (Esc: back)", s->layer, s->only_expert, t->n_rows,
                         vs->filter[0] ? " containing " : "", vs->filter);
    else
        ui_canvas_printf(cv, y0, 0, -1, EL_DIM, "layer %d: %d neurons%s%s; s sorts by the column, / finds, Space masks", s->layer, t->n_rows,
                         vs->filter[0] ? " containing " : "", vs->filter);
    int detail = (y1 - y0) >= 24 ? 14 : (y1 - y0) >= 16 ? 8 : 0;
    ui_draw_table(a, cv, t, vs, y0 + 1, y1 - detail, &a->geom);
    if (detail && t->n_rows > 0) {
        char lines[16][160];
        int n = modex_session_neuron_detail(s, t->id[vs->cur], lines, MODEX_MIN(detail - 1, 16));
        ui_canvas_fill(cv, y1 - detail, 0, cv->w, EL_DIM, '-');
        for (int i = 0; i < n; i++) ui_canvas_put(cv, y1 - detail + 1 + i, 1, cv->w - 2, i == 0 ? EL_HEADER : EL_NORMAL, lines[i]);
    }
}

const ViewOps ui_view_neurons = {VIEW_NEURONS, NULL, draw, NULL, ui_view_select, ui_view_export};
