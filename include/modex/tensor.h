/* tensor.h — typed views of tensors stored in model files (safetensors, GGUF). */
#ifndef MODEX_TENSOR_H
#define MODEX_TENSOR_H
#include <stddef.h>
#include <stdint.h>

typedef enum DType {
    DT_F32, DT_F16, DT_BF16, DT_Q8_0, DT_F64, DT_I64, DT_I32, DT_I16, DT_I8, DT_U8, DT_BOOL,
    DT_OTHER
} DType;

const char *modex_dtype_name(DType t);

/* A tensor inside a mapped file. shape is in PyTorch order (outermost first); for GGUF the
 * reader reverses ggml's innermost-first ne[]. data points into the read-only map. */
typedef struct TensorView {
    const char *name;
    DType dtype;
    int ndim;
    int64_t shape[4];
    int64_t numel;
    const void *data;
    size_t nbytes;
    const char *file; /* the file it lives in (for errors) */
} TensorView;

/* Converts any floating dtype (F32/F16/BF16/Q8_0/F64) to n floats in out. -1 on unsupported. */
int modex_tensor_to_f32(const TensorView *t, float *out);
/* The reverse for F32/F16/BF16/Q8_0 (n a multiple of 32; ggml's reference quantizer):
 * writes modex_dtype_nbytes(t, n) bytes. -1 on other dtypes. */
int modex_tensor_from_f32(DType t, const float *in, int64_t n, void *out);
/* Bytes of n elements of t (0 for DT_OTHER, or Q8_0 with n not a multiple of 32). */
size_t modex_dtype_nbytes(DType t, int64_t n);

#include <stdio.h>
/* `modex bench` rows of the formats module (F16/BF16/Q8_0 → F32, GGUF open); 0 or -1. */
int modex_bench_formats(FILE *out);

#endif
