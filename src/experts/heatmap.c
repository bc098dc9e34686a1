/* heatmap.c — expert x sub-function view: mean activation of each expert's neurons over a
 * sub-function's positive units, z-scored per expert across sub-functions. */
#include "modex/experts.h"
#include "modex/util.h"
#include <math.h>
#include <stdlib.h>

void modex_heatmap_ld(const float *acts, long ld, int n_units, int d_ff, const int *assign, int E,
                      const int *pos_idx, int n_pos, float *mean_out) {
    (void)n_units;
    double *col = modex_xcalloc((size_t)d_ff + 1, sizeof *col), *sum = modex_xcalloc((size_t)E + 1, sizeof *sum);
    int *n = modex_xcalloc((size_t)E + 1, sizeof *n);
    for (int i = 0; i < n_pos; i++) {
        const float *r = acts + (long)pos_idx[i] * ld;
        for (int j = 0; j < d_ff; j++) col[j] += r[j];
    }
    for (int j = 0; j < d_ff; j++) { sum[assign[j]] += col[j]; n[assign[j]]++; }
    for (int e = 0; e < E; e++)
        mean_out[e] = (n[e] && n_pos) ? (float)(sum[e] / ((double)n[e] * n_pos)) : NAN;
    free(col); free(sum); free(n);
}

void modex_heatmap(const float *acts, int n_units, int d_ff, const int *assign, int E,
                   const int *pos_idx, int n_pos, float *mean_out) {
    modex_heatmap_ld(acts, d_ff, n_units, d_ff, assign, E, pos_idx, n_pos, mean_out);
}

void modex_zscore_rows(const float *m, int rows, int cols, float *z) {
    for (int r = 0; r < rows; r++) {
        const float *x = m + (size_t)r * cols;
        double mu = 0, v = 0;
        for (int c = 0; c < cols; c++) mu += x[c];
        mu /= cols > 0 ? cols : 1;
        for (int c = 0; c < cols; c++) v += (x[c] - mu) * (x[c] - mu);
        double sd = cols > 0 ? sqrt(v / cols) : 0;
        for (int c = 0; c < cols; c++) z[(size_t)r * cols + c] = sd > 0 ? (float)((x[c] - mu) / sd) : 0.0f;
    }
}
