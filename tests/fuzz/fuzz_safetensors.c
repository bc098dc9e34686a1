/* fuzz_safetensors.c — libFuzzer harness for the safetensors reader (`make fuzz`). Each input
 * is written to a file; open must fail with a message naming the file, or succeed with
 * every tensor inside the map, sorted, and convertible without reading out of bounds. */
#include "fuzz_common.h"
#include "modex/safetensors.h"

static int fuzz_safetensors(const uint8_t *d, size_t n) {
    const char *path = fuzz_write("input.safetensors", d, n, 0);
    SafeTensors st;
    Error err = {{0}};
    if (modex_st_open(&st, path, &err) != 0) {
        if (!strstr(err.msg, path)) abort();
        return 0;
    }
    volatile double sink = 0;
    const MappedFile *m = &st.files[0];
    for (int i = 0; i < st.n; i++) {
        const TensorView *t = &st.t[i];
        const uint8_t *p = t->data;
        if (modex_st_find(&st, t->name) != t) abort();
        if (t->nbytes && (p < m->data || p + t->nbytes > m->data + m->size)) abort();
        if (t->numel <= 4096) {
            float *out = malloc((size_t)(t->numel ? t->numel : 1) * sizeof *out);
            if (modex_tensor_to_f32(t, out) == 0 && t->numel) sink += out[t->numel - 1];
            free(out);
        }
    }
    (void)sink;
    modex_st_close(&st);
    return 1;
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { fuzz_safetensors(d, n); return 0; }
#endif
