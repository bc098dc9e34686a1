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
 * Elements of strings are found by walking; modex_gguf_arr_strs builds an index once. */
int     modex_gguf_arr_strs(const Gguf *g, const GgufKV *kv, GgufStr **out); /* n or -1 */
double  modex_gguf_arr_num(const GgufKV *kv, uint64_t i); /* numeric arrays */

const TensorView *modex_gguf_find(const Gguf *g, const char *name);

/* ggml tensor type ids: name ("Q4_K"; "?" if unknown) and bytes per block of *block elements
 * (-1 if unknown). Tensors of types other than F32/F16/BF16/Q8_0/F64/I* get DT_OTHER. */
const char *modex_gguf_type_name(int ggml_type);
int         modex_gguf_type_size(int ggml_type, int *block);
/* Metadata value type name ("u32", "string", ...). */
const char *modex_gguf_kv_type_name(int type);

#endif
