/* reference.h — shared by the tests that compare with ../shared/fixtures: read reference.json
 * and .f32 files, and report max |diff| per tensor like llm.c's test_gpt2.c. */
#ifndef MODEX_TEST_REFERENCE_H
#define MODEX_TEST_REFERENCE_H
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIX "../shared/fixtures/"

static inline float *ref_read_f32(const char *path, size_t n) {
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "cannot open %s\n", path); return NULL; }
    float *p = malloc(sizeof(float) * (n ? n : 1));
    size_t r = fread(p, sizeof(float), n, f);
    int extra = fgetc(f) != EOF;
    fclose(f);
    if (r != n || extra) { fprintf(stderr, "%s: %zu floats, expected %zu\n", path, r, n); free(p); return NULL; }
    return p;
}

/* Compares with the fixtures' tolerance |a-b| <= abs + rel*|b|; prints the max diff. Returns the
 * number of elements out of tolerance (0 = pass). */
static inline long ref_compare(const char *what, const float *got, const float *want, size_t n, double tol_abs, double tol_rel) {
    double maxd = 0; long bad = 0; size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)want[i]);
        if (!(d <= tol_abs + tol_rel * fabs((double)want[i]))) bad++;
        if (d > maxd || isnan(d)) { maxd = d; at = i; }
    }
    printf("  %-28s n=%-7zu max|diff| %.3g%s", what, n, maxd, bad ? "  FAIL" : "  ok");
    if (bad) printf(" (%ld out of tolerance; first worst at %zu: got %g want %g)", bad, at, (double)got[at], (double)want[at]);
    printf("\n");
    return bad;
}
#endif
