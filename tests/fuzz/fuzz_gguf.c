/* fuzz_gguf.c — libFuzzer harness for the GGUF reader (`make fuzz`). Each input is written
 * to a file in /dev/shm (the reader maps files); open must either fail with a message naming the file
 * or succeed with every tensor inside the map, and every accessor must be safe to call. */
#include "fuzz_common.h"
#include "modex/gguf.h"

static int fuzz_gguf(const uint8_t *d, size_t n) {
    const char *path = fuzz_write("input.gguf", d, n, 0);
    Gguf g;
    Error err = {{0}};
    if (modex_gguf_open(&g, path, &err) != 0) {
        if (!strstr(err.msg, path)) abort();
        return 0;
    }
    volatile double sink = 0;
    for (int i = 0; i < g.n_kv; i++) {
        const GgufKV *kv = &g.kv[i];
        sink += (double)modex_gguf_int(&g, kv->key, 0) + modex_gguf_float(&g, kv->key, 0);
        free(modex_gguf_str(&g, kv->key));
        GgufStr *s;
        int m = modex_gguf_arr_strs(&g, kv, &s);
        for (int k = 0; k < m; k++) sink += s[k].len ? (unsigned char)s[k].s[s[k].len - 1] : 0;
        free(s);
        if (kv->type == GGUF_ARRAY && kv->arr_n) sink += modex_gguf_arr_num(kv, kv->arr_n - 1);
    }
    for (int i = 0; i < g.n_tensors; i++) {
        const TensorView *t = &g.t[i];
        const uint8_t *p = t->data;
        if (modex_gguf_find(&g, t->name) != t) abort();
        if (t->nbytes && (p < g.map.data || p + t->nbytes > g.map.data + g.map.size)) abort();
        if (t->nbytes) sink += p[0] + p[t->nbytes - 1];
        if (t->numel <= 4096) {
            float *out = malloc((size_t)(t->numel ? t->numel : 1) * sizeof *out);
            modex_tensor_to_f32(t, out);
            free(out);
        }
    }
    (void)sink;
    modex_gguf_close(&g);
    return 1;
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { fuzz_gguf(d, n); return 0; }
#endif
