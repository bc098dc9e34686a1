/* gguf.h — read-only mapped GGUF (v2, v3) files: metadata and tensors. Every count, length
 * and offset is checked against the file size before use. */
#ifndef MODEX_GGUF_H
#define MODEX_GGUF_H
#include <stdint.h>
#include "modex/error.h"
#include "modex/tensor.h"
#include "modex/util.h"

enum GgufType {
    GGUF_UINT8 = 0, GGUF_INT8 = 1, GGUF_UINT16 = 2, GGUF_INT16 = 3, GGUF_UINT32 = 4,
    GGUF_INT32 = 5, GGUF_FLOAT32 = 6, GGUF_BOOL = 7, GGUF_STRING = 8, GGUF_ARRAY = 9,
    GGUF_UINT64 = 10, GGUF_INT64 = 11, GGUF_FLOAT64 = 12
};

typedef struct GgufStr { const char *s; uint64_t len; } GgufStr; /* not NUL-terminated */

typedef struct GgufKV {
    char *key;          /* NUL-terminated copy */
    int type;           /* enum GgufType */
    int arr_type;       /* element type when type == GGUF_ARRAY */
    uint64_t arr_n;     /* element count when type == GGUF_ARRAY */
    const uint8_t *val; /* points at the value (for arrays: at the first element) in the map */
} GgufKV;

typedef struct Gguf {
    MappedFile map;
    uint32_t version;
    uint64_t alignment;
    int n_kv;
    GgufKV *kv;
    int n_tensors;
    TensorView *t;      /* shape in PyTorch order (ggml ne[] reversed); names are copies */
    int *ggml_type;     /* per tensor: the raw ggml type id */
    uint64_t data_start; /* file offset of the data section (aligned) */
    int *by_name;       /* tensor indices sorted by name (for modex_gguf_find) */
} Gguf;

int  modex_gguf_open(Gguf *g, const char *path, Error *err);
void modex_gguf_close(Gguf *g);

const GgufKV *modex_gguf_kv(const Gguf *g, const char *key);          /* NULL if absent */
/* Scalars: integer/float/bool of any width are converted; def returned if absent or not numeric. */
int64_t modex_gguf_int(const Gguf *g, const char *key, int64_t def);
double  modex_gguf_float(const Gguf *g, const char *key, double def);
/* String value; NULL if absent or not a string. Result is malloc'd and NUL-terminated. */
char   *modex_gguf_str(const Gguf *g, const char *key);
/* Array elements (kv->type == GGUF_ARRAY). Strings: pointer into the map + length.
 * Elements of strings are found by walking; modex_gguf_arr_strs builds an index once
 * (*out is malloc'd: free it; NULL on -1). */
int     modex_gguf_arr_strs(const Gguf *g, const GgufKV *kv, GgufStr **out); /* n or -1 */
double  modex_gguf_arr_num(const GgufKV *kv, uint64_t i); /* numeric arrays; NaN otherwise */

const TensorView *modex_gguf_find(const Gguf *g, const char *name);

/* ggml tensor type ids: name ("Q4_K"; "?" if unknown) and bytes per block of *block elements
 * (-1 if unknown). Tensors of types other than F32/F16/BF16/Q8_0/F64/I* get DT_OTHER. */
const char *modex_gguf_type_name(int ggml_type);
int         modex_gguf_type_size(int ggml_type, int *block);
/* Metadata value type name ("u32", "string", ...). */
const char *modex_gguf_kv_type_name(int type);

/* --- writer (gguf_write.c): GGUF v3; metadata is copied in, tensor data is referenced until
 * modex_gguf_w_write(), which writes a temp file and renames it (force: replace a file).
 * Setting general.alignment (u32, a power of two) changes the data alignment (default 32). */
typedef struct GgufWriter GgufWriter;
GgufWriter *modex_gguf_writer_new(void);
void modex_gguf_writer_free(GgufWriter *w);
void modex_gguf_w_u32(GgufWriter *w, const char *key, uint32_t v);
void modex_gguf_w_i32(GgufWriter *w, const char *key, int32_t v);
void modex_gguf_w_u64(GgufWriter *w, const char *key, uint64_t v);
void modex_gguf_w_i64(GgufWriter *w, const char *key, int64_t v);
void modex_gguf_w_f32(GgufWriter *w, const char *key, float v);
void modex_gguf_w_f64(GgufWriter *w, const char *key, double v);
void modex_gguf_w_bool(GgufWriter *w, const char *key, int v);
void modex_gguf_w_str(GgufWriter *w, const char *key, const char *v);
/* elems: n host values of elem_type (a numeric GgufType); -1 for other types */
int  modex_gguf_w_arr_num(GgufWriter *w, const char *key, int elem_type, const void *elems, uint64_t n);
void modex_gguf_w_arr_str(GgufWriter *w, const char *key, const char *const *s, uint64_t n);
/* Copies one key/value (any type, arrays included) from an open file. */
void modex_gguf_w_copy_kv(GgufWriter *w, const GgufKV *kv);
/* shape in PyTorch order (outermost first); data holds the ggml encoding of that type
 * (see modex_tensor_from_f32 for F32/F16/BF16/Q8_0) and must stay valid until the write. */
int  modex_gguf_w_tensor(GgufWriter *w, const char *name, int ggml_type, int ndim, const int64_t *shape,
                         const void *data, Error *err);
int  modex_gguf_w_write(GgufWriter *w, const char *path, int force, Error *err);

/* ggml type ids of the types modex converts */
enum { GGML_T_F32 = 0, GGML_T_F16 = 1, GGML_T_Q8_0 = 8, GGML_T_BF16 = 30 };

#endif
