/* fuzz_stindex.c — libFuzzer harness for the sharded safetensors index
 * (model.safetensors.index.json). The input is the index; beside it lie two small valid
 * shards, a.safetensors (tensors "x", "y") and b.safetensors ("z"). Open must fail with a
 * message naming a file, or give every tensor of weight_map inside its shard's map. */
#include "fuzz_common.h"
#include "modex/safetensors.h"

static void put_shard(const char *name, const char *hdr, const uint8_t *data, size_t n) {
    size_t hl = strlen(hdr);
    uint8_t buf[512];
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)(hl >> (8 * i));
    memcpy(buf + 8, hdr, hl);
    memcpy(buf + 8 + hl, data, n);
    fuzz_write(name, buf, 8 + hl + n, 3);
}

static int fuzz_stindex(const uint8_t *d, size_t n) {
    static int init;
    if (!init) {
        static const uint8_t f32[16] = {0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40, 0, 0, 0x80, 0x40};
        put_shard("a.safetensors", "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                  "\"y\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", f32, 16);
        put_shard("b.safetensors", "{\"__metadata__\":{\"format\":\"pt\"},"
                  "\"z\":{\"dtype\":\"BF16\",\"shape\":[1,2],\"data_offsets\":[0,4]}}  ", f32, 4);
        init = 1;
    }
    const char *path = fuzz_write("model.safetensors.index.json", d, n, 0);
    SafeTensors st;
    Error err = {{0}};
    if (modex_st_open(&st, path, &err) != 0) {
        if (!strstr(err.msg, fuzz_folder())) { fprintf(stderr, "bad error message: '%s'\n", err.msg); abort(); }
        return 0;
    }
    volatile double sink = 0;
    for (int i = 0; i < st.n; i++) {
        const TensorView *t = &st.t[i];
        const uint8_t *p = t->data;
        int inside = t->nbytes == 0;
        for (int k = 0; k < st.n_files && !inside; k++)
            inside = p >= st.files[k].data && p + t->nbytes <= st.files[k].data + st.files[k].size;
        if (!inside || modex_st_find(&st, t->name) != t) abort();
        float out[4];
        if (t->numel <= 4 && modex_tensor_to_f32(t, out) == 0 && t->numel) sink += out[0];
    }
    (void)sink;
    modex_st_close(&st);
    return 1;
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { fuzz_stindex(d, n); return 0; }
#endif
