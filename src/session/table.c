/* table.c — the rows a view shows: sort, filter, heat shading and CSV export. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "modex/csvout.h"
#include "modex/session.h"
#include "modex/util.h"

void modex_table_free(ViewTable *t) {
    if (!t->borrowed) {
        if (t->cell)
            for (int i = 0; i < t->n_rows * t->n_cols; i++) free(t->cell[i]);
        for (int c = 0; c < t->n_cols && t->cols; c++) free(t->cols[c]);
        free(t->cols);
        free(t->kind);
    }
    free(t->cell); free(t->num); free(t->mark); free(t->id);
    memset(t, 0, sizeof *t);
}

void modex_table_view(ViewTable *dst, const ViewTable *b) {
    *dst = *b;
    dst->borrowed = 1;
    size_t n = (size_t)b->n_rows * b->n_cols + 1;
    dst->cell = modex_xmalloc(n * sizeof *dst->cell);
    dst->num = modex_xmalloc(n * sizeof *dst->num);
    dst->mark = modex_xmalloc(n);
    dst->id = modex_xmalloc(((size_t)b->n_rows + 1) * sizeof *dst->id);
    if (n > 1) {
        memcpy(dst->cell, b->cell, (n - 1) * sizeof *dst->cell);
        memcpy(dst->num, b->num, (n - 1) * sizeof *dst->num);
        memcpy(dst->mark, b->mark, n - 1);
        memcpy(dst->id, b->id, (size_t)b->n_rows * sizeof *dst->id);
    }
}

const char *modex_table_cell(const ViewTable *t, int row, int col) {
    if (row < 0 || row >= t->n_rows || col < 0 || col >= t->n_cols) return "";
    return t->cell[(size_t)row * t->n_cols + col];
}

int modex_table_col(const ViewTable *t, const char *name) {
    for (int c = 0; c < t->n_cols; c++)
        if (!strcasecmp(t->cols[c], name)) return c;
    return -1;
}

// --- sort ---------------------------------------------------------------------------------------
static const ViewTable *g_sort_t; /* qsort has no context argument; sorting is UI-thread only */
static int g_sort_col, g_sort_desc;

static int cmp_rows(const void *pa, const void *pb) {
    int a = *(const int *)pa, b = *(const int *)pb;
    const ViewTable *t = g_sort_t;
    size_t ia = (size_t)a * t->n_cols + g_sort_col, ib = (size_t)b * t->n_cols + g_sort_col;
    int r = 0;
    if (t->kind[g_sort_col] == COL_TEXT || t->kind[g_sort_col] == COL_SPARK) {
        r = strcmp(t->cell[ia], t->cell[ib]);
        if (g_sort_desc) r = -r;
    } else {
        double x = t->num[ia], y = t->num[ib];
        int nx = isnan(x), ny = isnan(y);
        if (nx || ny) r = nx - ny; /* NaN last either way */
        else {
            r = (x > y) - (x < y);
            if (g_sort_desc) r = -r;
        }
    }
    return r ? r : (a > b) - (a < b); /* stable */
}

static void permute(ViewTable *t, const int *order) {
    int R = t->n_rows, C = t->n_cols;
    char **cell = modex_xmalloc(sizeof *cell * (size_t)(R * C + 1));
    double *num = modex_xmalloc(sizeof *num * (size_t)(R * C + 1));
    unsigned char *mark = modex_xmalloc((size_t)(R * C + 1));
    int *id = modex_xmalloc(sizeof *id * (size_t)(R + 1));
    for (int i = 0; i < R; i++) {
        memcpy(cell + (size_t)i * C, t->cell + (size_t)order[i] * C, sizeof *cell * C);
        memcpy(num + (size_t)i * C, t->num + (size_t)order[i] * C, sizeof *num * C);
        memcpy(mark + (size_t)i * C, t->mark + (size_t)order[i] * C, C);
        id[i] = t->id[order[i]];
    }
    free(t->cell); free(t->num); free(t->mark); free(t->id);
    t->cell = cell; t->num = num; t->mark = mark; t->id = id;
}

void modex_table_sort(ViewTable *t, int col, int desc) {
    if (col < 0 || col >= t->n_cols || t->n_rows < 2) return;
    int *order = modex_xmalloc(sizeof *order * (size_t)t->n_rows);
    for (int i = 0; i < t->n_rows; i++) order[i] = i;
    g_sort_t = t; g_sort_col = col; g_sort_desc = desc;
    qsort(order, (size_t)t->n_rows, sizeof *order, cmp_rows);
    permute(t, order);
    free(order);
}

// --- filter -------------------------------------------------------------------------------------
void modex_table_filter(ViewTable *t, const char *text) {
    if (!text || !*text) return;
    int C = t->n_cols, kept = 0;
    int *order = modex_xmalloc(sizeof *order * (size_t)(t->n_rows + 1));
    for (int i = 0; i < t->n_rows; i++) {
        int hit = 0;
        for (int c = 0; c < C && !hit; c++) hit = strcasestr(t->cell[(size_t)i * C + c], text) != NULL;
        if (hit) order[kept++] = i;
        else if (!t->borrowed)
            for (int c = 0; c < C; c++) { free(t->cell[(size_t)i * C + c]); t->cell[(size_t)i * C + c] = NULL; }
    }
    int R = t->n_rows;
    t->n_rows = kept;
    permute(t, order);
    (void)R;
    free(order);
}

// --- shading ------------------------------------------------------------------------------------
int modex_heat_level(double v, double lo, double hi) {
    if (isnan(v)) return -1;
    if (!(hi > lo)) return v > 0 ? 9 : 0; /* a flat map: all cells alike */
    double f = (v - lo) / (hi - lo);
    int k = (int)floor(f * 10.0);
    return k < 0 ? 0 : k > 9 ? 9 : k;
}

char modex_heat_glyph(double v, double lo, double hi) {
    int k = modex_heat_level(v, lo, hi);
    return k < 0 ? '?' : MODEX_RAMP[k];
}

// --- export -------------------------------------------------------------------------------------
int modex_table_write_csv(const ViewTable *t, FILE *f) {
    CsvOut c;
    modex_csv_begin(&c, f);
    for (int k = 0; k < t->n_cols; k++) modex_csv_str(&c, t->cols[k]);
    modex_csv_end_row(&c);
    for (int i = 0; i < t->n_rows; i++) {
        for (int k = 0; k < t->n_cols; k++) modex_csv_str(&c, modex_table_cell(t, i, k));
        modex_csv_end_row(&c);
    }
    return c.bad ? -1 : 0;
}
