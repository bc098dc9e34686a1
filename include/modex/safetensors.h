/* safetensors.h — read-only mapped safetensors files, single or sharded. */
#ifndef MODEX_SAFETENSORS_H
#define MODEX_SAFETENSORS_H
#include "modex/error.h"
#include "modex/tensor.h"
#include "modex/util.h"

typedef struct SafeTensors {
    int n_files;
    MappedFile *files;
    int n;               /* tensors */
    TensorView *t;       /* sorted by name */
    char *metadata_json; /* the __metadata__ object as JSON text, or NULL */
} SafeTensors;

/* path: a .safetensors file, or a model.safetensors.index.json (all shards are opened). */
int  modex_st_open(SafeTensors *st, const char *path, Error *err);
void modex_st_close(SafeTensors *st);
const TensorView *modex_st_find(const SafeTensors *st, const char *name);

/* Writer (atomic: temp file + rename; refuses an existing path unless force): F32, BF16 or
 * F16 data as given. F32 tensors come first in the data area, then the 2-byte ones, each
 * group in the given order, so that every tensor is aligned to its element size.
 * metadata_json: NULL or a JSON object of strings (the __metadata__ entry). */
typedef struct StWriteTensor {
    const char *name;
    DType dtype;
    int ndim;
    int64_t shape[4];
    const void *data;
} StWriteTensor;
int modex_st_write(const char *path, const StWriteTensor *t, int n, const char *metadata_json,
                   int force, Error *err);

#endif
