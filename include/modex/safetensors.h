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

/* Writer: tensors in the given order, F32 or BF16 or F16 data as given. */
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
