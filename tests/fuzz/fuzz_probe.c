/* fuzz_probe.c — libFuzzer harness for probe CSV files (modex_probe_parse from memory): a
 * parse fails with "NAME:LINE..." or gives a probe whose indices are all consistent. */
#include "fuzz_common.h"
#include "modex/probe.h"

static int fuzz_probe(const uint8_t *d, size_t n) {
    Probe p;
    Error err = {{0}};
    if (modex_probe_parse(&p, "fuzz.csv", (const char *)d, n, &err) != 0) {
        if (strncmp(err.msg, "fuzz.csv:", 9) != 0) { fprintf(stderr, "bad error message: '%s'\n", err.msg); abort(); }
        return 0;
    }
    for (int i = 0; i < p.n_units; i++) {
        const ProbeUnit *u = &p.units[i];
        if (u->text < 0 || u->text >= p.n_texts) abort();
        if (!(u->span_begin == -1 && u->span_end == -1) &&
            (u->span_begin < 0 || u->span_end < u->span_begin || (size_t)u->span_end > p.text_len[u->text])) abort();
    }
    int rows = 0;
    for (int s = 0; s < p.n_subs; s++) {
        const SubFunction *sf = &p.subs[s];
        if (sf->function < 0 || sf->function >= p.n_funcs) abort();
        int pos = 0;
        for (int k = 0; k < sf->n_rows; k++) {
            int r = sf->rows[k];
            if (r < 0 || r >= p.n_rows || p.rows[r].sub != s) abort();
            pos += p.rows[r].label;
        }
        rows += sf->n_rows;
        if (modex_probe_find_sub(&p, sf->name) < 0) abort();
        (void)pos;
    }
    if (rows != p.n_rows) abort();
    for (int r = 0; r < p.n_rows; r++)
        if (p.rows[r].unit < 0 || p.rows[r].unit >= p.n_units || p.rows[r].label > 1) abort();
    modex_probe_free(&p);
    return 1;
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { fuzz_probe(d, n); return 0; }
#endif
