/* tensor.c — dtype names and conversion of stored tensors to float32. */
#include "modex/tensor.h"
#include "modex/util.h"
#include <string.h>

const char *modex_dtype_name(DType t) {
    static const char *names[] = {"F32", "F16", "BF16", "Q8_0", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL", "?"};
    return (unsigned)t <= DT_OTHER ? names[t] : "?";
}

int modex_tensor_to_f32(const TensorView *t, float *out) {
    const uint8_t *p = t->data;
    int64_t n = t->numel;
    switch (t->dtype) {
    case DT_F32: memcpy(out, p, (size_t)n * 4); return 0;
    case DT_F16:
        for (int64_t i = 0; i < n; i++) { uint16_t h; memcpy(&h, p + 2 * i, 2); out[i] = modex_f16_to_f32(h); }
        return 0;
    case DT_BF16:
        for (int64_t i = 0; i < n; i++) { uint16_t h; memcpy(&h, p + 2 * i, 2); out[i] = modex_bf16_to_f32(h); }
        return 0;
    case DT_F64:
        for (int64_t i = 0; i < n; i++) { double d; memcpy(&d, p + 8 * i, 8); out[i] = (float)d; }
        return 0;
    case DT_Q8_0: /* blocks of 32: f16 scale + 32 int8 */
        if (n % 32) return -1;
        for (int64_t b = 0; b < n / 32; b++) {
            const uint8_t *blk = p + 34 * b;
            uint16_t h; memcpy(&h, blk, 2);
            float d = modex_f16_to_f32(h);
            for (int j = 0; j < 32; j++) out[b * 32 + j] = d * (float)(int8_t)blk[2 + j];
        }
        return 0;
    default: return -1;
    }
}
