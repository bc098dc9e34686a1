/* tensor.c — dtype names and conversion of stored tensors to float32. */
#include "modex/tensor.h"
#include "modex/util.h"
#include <math.h>
#include <pthread.h>
#include <string.h>

/* F16 → F32 through a table of all 65536 halves (built once from modex_f16_to_f32, so the
 * results are the same): several times faster than converting each element's bits. */
static float f16_table[65536];
static pthread_once_t f16_once = PTHREAD_ONCE_INIT;
static void f16_build(void) {
    for (uint32_t i = 0; i < 65536; i++) f16_table[i] = modex_f16_to_f32((uint16_t)i);
}

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
        pthread_once(&f16_once, f16_build);
        for (int64_t i = 0; i < n; i++) { uint16_t h; memcpy(&h, p + 2 * i, 2); out[i] = f16_table[h]; }
        return 0;
    case DT_BF16: /* the upper half of a float32 */
        for (int64_t i = 0; i < n; i++) {
            uint16_t h; memcpy(&h, p + 2 * i, 2);
            uint32_t b = (uint32_t)h << 16;
            memcpy(out + i, &b, 4);
        }
        return 0;
    case DT_F64:
        for (int64_t i = 0; i < n; i++) { double d; memcpy(&d, p + 8 * i, 8); out[i] = (float)d; }
        return 0;
    case DT_Q8_0: /* blocks of 32: f16 scale + 32 int8 */
        if (n % 32) return -1;
        pthread_once(&f16_once, f16_build);
        for (int64_t b = 0; b < n / 32; b++) {
            const uint8_t *blk = p + 34 * b;
            uint16_t h; memcpy(&h, blk, 2);
            float d = f16_table[h];
            for (int j = 0; j < 32; j++) out[b * 32 + j] = d * (float)(int8_t)blk[2 + j];
        }
        return 0;
    default: return -1;
    }
}

/* Q8_0 as ggml's reference quantizer does it: per block of 32, d = max|x| / 127 stored as
 * f16, q = round(x / d). */
int modex_tensor_from_f32(DType t, const float *in, int64_t n, void *out) {
    uint8_t *p = out;
    switch (t) {
    case DT_F32: memcpy(out, in, (size_t)n * 4); return 0;
    case DT_F16:
        for (int64_t i = 0; i < n; i++) { uint16_t h = modex_f32_to_f16(in[i]); memcpy(p + 2 * i, &h, 2); }
        return 0;
    case DT_BF16:
        for (int64_t i = 0; i < n; i++) { uint16_t h = modex_f32_to_bf16(in[i]); memcpy(p + 2 * i, &h, 2); }
        return 0;
    case DT_Q8_0:
        if (n % 32) return -1;
        for (int64_t b = 0; b < n / 32; b++) {
            const float *x = in + 32 * b;
            uint8_t *blk = p + 34 * b;
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[j]));
            float d = amax / 127, id = d ? 1 / d : 0;
            uint16_t h = modex_f32_to_f16(d);
            memcpy(blk, &h, 2);
            for (int j = 0; j < 32; j++) blk[2 + j] = (uint8_t)(int8_t)roundf(x[j] * id);
        }
        return 0;
    default: return -1;
    }
}

size_t modex_dtype_nbytes(DType t, int64_t n) {
    switch (t) {
    case DT_F32: case DT_I32: return (size_t)n * 4;
    case DT_F16: case DT_BF16: case DT_I16: return (size_t)n * 2;
    case DT_F64: case DT_I64: return (size_t)n * 8;
    case DT_I8: case DT_U8: case DT_BOOL: return (size_t)n;
    case DT_Q8_0: return n % 32 ? 0 : (size_t)(n / 32) * 34;
    default: return 0;
    }
}
