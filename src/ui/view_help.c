/* view_help.c — every key and command, from the command table that binds them. */
#include "ui.h"

static void draw(App *a, Canvas *cv, int y0, int y1) {
    ui_canvas_put(cv, y0, 0, -1, EL_DIM, "keys and : commands (Esc: back). modex(1) has the same list.");
    ui_draw_table(a, cv, modex_session_table(a->s, VIEW_HELP), &a->s->vs[VIEW_HELP], y0 + 1, y1, &a->geom);
}

const ViewOps ui_view_help = {VIEW_HELP, NULL, draw, NULL, ui_view_select, ui_view_export};

const ViewOps *ui_view_ops(ViewId v) {
    static const ViewOps *ops[VIEW_COUNT] = {&ui_view_layers, &ui_view_experts, &ui_view_neurons, &ui_view_perturb, &ui_view_help};
    return v >= 0 && v < VIEW_COUNT ? ops[v] : &ui_view_layers;
}
