/* table.c — draws a view table: frozen first column, horizontal scrolling, cursor row and
 * column, bars for fractions, glyph cells for heatmaps (heatmap.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "modex/util.h"
#include "ui.h"

static int text_width(const char *s) { /* columns, for ASCII and most UTF-8 */
    int n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static int col_width(const ViewTable *t, int c) {
    int w = text_width(t->cols[c]) + 1; /* room for the sort mark */
    if (t->kind[c] == COL_HEAT) return w < 4 ? 4 : w > 11 ? 11 : w;
    int cap = t->kind[c] == COL_TEXT ? 40 : 16;
    for (int r = 0; r < t->n_rows; r++) {
        int k = text_width(t->cell[(size_t)r * t->n_cols + c]);
        if (k > w) w = k;
        if (w >= cap) { w = cap; break; }
    }
    if (t->kind[c] == COL_FRAC) w = MODEX_MAX(w, 12);
    return w;
}

static void draw_cell(Canvas *cv, const ViewTable *t, int r, int c, int y, int x, int w, UiElem base, int cursor) {
    size_t i = (size_t)r * t->n_cols + c;
    const char *s = t->cell[i];
    UiElem el = cursor ? EL_CURSOR_CELL : base;
    if (t->mark[i] && t->kind[c] != COL_HEAT && !cursor) el = EL_MASKED;
    switch (t->kind[c]) {
    case COL_HEAT:
        ui_heat_cell(cv, y, x, w, t->num[i], t->heat_lo, t->heat_hi, t->mark[i], cursor);
        return;
    case COL_FRAC: {
        ui_canvas_fill(cv, y, x, w, el, ' ');
        int nw = text_width(s);
        ui_canvas_put(cv, y, x + MODEX_MAX(0, 6 - nw), 6, el, s);
        double v = t->num[i];
        if (!isnan(v)) {
            int bw = w - 7, k = (int)lround(fmin(1, fmax(0, v)) * bw);
            ui_canvas_fill(cv, y, x + 7, k, cursor ? EL_CURSOR_CELL : EL_BAR, '#');
        }
        return;
    }
    case COL_NUM: {
        ui_canvas_fill(cv, y, x, w, el, ' ');
        int nw = text_width(s);
        ui_canvas_put(cv, y, x + MODEX_MAX(0, w - nw), w, el, s);
        return;
    }
    default:
        ui_canvas_fill(cv, y, x, w, el, ' ');
        ui_canvas_put(cv, y, x, w, el, s);
    }
}

int ui_draw_table(App *a, Canvas *cv, const ViewTable *t, ViewState *vs, int y0, int y1, TableGeom *g) {
    if (y1 - y0 < 2 || t->n_cols == 0) return y0;
    int C = t->n_cols, W = cv->w;
    int *w = modex_xmalloc(sizeof *w * (size_t)C);
    for (int c = 0; c < C; c++) w[c] = col_width(t, c);
    /* horizontal: column 0 frozen, then from vs->left; keep the cursor column visible */
    if (vs->left < 1) vs->left = 1;
    if (vs->col > 0 && vs->col < vs->left) vs->left = vs->col;
    for (;;) {
        int x = w[0] + 1, last = vs->left - 1;
        for (int c = vs->left; c < C && x + w[c] <= W; c++) { x += w[c] + 1; last = c; }
        if (vs->col <= last || vs->left >= vs->col) break;
        vs->left++;
    }
    /* vertical */
    int n_vis = y1 - y0 - 1;
    if (vs->cur < vs->top) vs->top = vs->cur;
    if (vs->cur >= vs->top + n_vis) vs->top = vs->cur - n_vis + 1;
    if (vs->top > t->n_rows - n_vis) vs->top = MODEX_MAX(0, t->n_rows - n_vis);
    if (vs->top < 0) vs->top = 0;
    a->s->page_rows = n_vis;
    /* header */
    ui_canvas_fill(cv, y0, 0, W, EL_HEADER, ' ');
    for (int k = 0, x = 0; k < C && x < W; k++) {
        int c = k == 0 ? 0 : vs->left + k - 1;
        if (c >= C) break;
        if (x + w[c] > W && k > 0) break;
        char h[160];
        snprintf(h, sizeof h, "%s%s", t->cols[c], vs->sort_col == c ? (vs->sort_desc ? "v" : "^") : "");
        UiElem el = c == vs->col ? EL_HEADER_SEL : EL_HEADER;
        if (t->kind[c] == COL_NUM || t->kind[c] == COL_FRAC) {
            int hw = text_width(h) < w[c] ? text_width(h) : w[c];
            ui_canvas_fill(cv, y0, x, w[c], el, ' ');
            ui_canvas_put(cv, y0, x + (t->kind[c] == COL_NUM ? w[c] - hw : 0), w[c], el, h);
        } else { ui_canvas_fill(cv, y0, x, w[c], el, ' '); ui_canvas_put(cv, y0, x, w[c], el, h); }
        x += w[c] + 1;
    }
    /* rows */
    int y = y0 + 1;
    for (int r = vs->top; r < t->n_rows && y < y1; r++, y++) {
        int cur = r == vs->cur;
        UiElem base = cur ? EL_CURSOR : EL_NORMAL;
        if (!cur && a->s->view == VIEW_LAYERS && !strcmp(modex_table_cell(t, r, 1), "pending")) base = EL_PENDING;
        if (cur) ui_canvas_fill(cv, y, 0, W, EL_CURSOR, ' ');
        for (int k = 0, x = 0; k < C && x < W; k++) {
            int c = k == 0 ? 0 : vs->left + k - 1;
            if (c >= C || (x + w[c] > W && k > 0)) break;
            draw_cell(cv, t, r, c, y, x, MODEX_MIN(w[c], W - x), base, cur && c == vs->col);
            x += w[c] + 1;
        }
    }
    if (t->n_rows == 0) ui_canvas_put(cv, y0 + 1, 1, W - 2, EL_DIM, vs->filter[0] ? "(no rows match the filter)" : "(no rows yet)");
    if (g) { g->y0 = y0; g->y_rows = y0 + 1; g->n_shown = MODEX_MIN(n_vis, t->n_rows - vs->top); }
    free(w);
    return y;
}

int ui_view_export(App *a, const char *path, int force, Error *err) { return modex_session_export(a->s, path, force, err); }

void ui_view_select(App *a, int row) {
    const ViewTable *t = modex_session_table(a->s, a->s->view);
    if (row >= 0 && row < t->n_rows) a->s->vs[a->s->view].cur = row;
}
