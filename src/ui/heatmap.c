/* heatmap.c — one expert × sub-function cell: glyph density of the ramp (which alone carries
 * the value on a monochrome screen) in the colour of its level, '!' marking a functional
 * expert. */
#include "ui.h"

int ui_heat_cell(Canvas *cv, int y, int x, int w, double v, double lo, double hi, int functional, int cursor) {
    int k = modex_heat_level(v, lo, hi);
    char g = k < 0 ? '?' : MODEX_RAMP[k];
    UiElem el = cursor ? EL_CURSOR_CELL : k < 0 ? EL_DIM : (UiElem)(EL_HEAT0 + k);
    ui_canvas_fill(cv, y, x, w - 1, el, g);
    ui_canvas_fill(cv, y, x + w - 1, 1, cursor ? EL_CURSOR_CELL : functional ? EL_FUNCTIONAL : EL_NORMAL, functional ? '!' : ' ');
    return w;
}

/* The legend line under a heatmap. */
void ui_heat_legend(Canvas *cv, int y, double lo, double hi, int raw) {
    int x = ui_canvas_printf(cv, y, 0, -1, EL_DIM, "%s %.3g ", raw ? "mean activation" : "z-score", lo);
    for (int k = 0; k < 10; k++) {
        char s[2] = {MODEX_RAMP[k] == ' ' ? ' ' : MODEX_RAMP[k], 0};
        ui_canvas_fill(cv, y, x, 2, (UiElem)(EL_HEAT0 + k), s[0]);
        x += 2;
    }
    ui_canvas_printf(cv, y, x, -1, EL_DIM, " %.3g   ! functional expert   M masked   (set heat raw|z)", hi);
}
