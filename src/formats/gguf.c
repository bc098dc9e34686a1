/* gguf.c — GGUF v2/v3 reader. Layout: "GGUF", u32 version, u64 tensor count, u64 kv count,
 * kv pairs (string key, u32 type, value), tensor infos (string name, u32 n_dims, u64 ne[n_dims]
 * innermost first, u32 ggml type, u64 offset), padding to general.alignment, data.
 * Nothing read from the file is trusted before it has been checked against the file size. */
#include "modex/gguf.h"
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

// --- ggml tensor types ------------------------------------------------------------------

/* Block size (elements) and bytes per block of every ggml type a GGUF file may hold;
 * block 0 marks ids that ggml removed or never had. */
static const struct { const char *name; int blck, size; } ggml_types[] = {
    [0] = {"F32", 1, 4},       [1] = {"F16", 1, 2},       [2] = {"Q4_0", 32, 18},
    [3] = {"Q4_1", 32, 20},    [6] = {"Q5_0", 32, 22},    [7] = {"Q5_1", 32, 24},
    [8] = {"Q8_0", 32, 34},    [9] = {"Q8_1", 32, 36},    [10] = {"Q2_K", 256, 84},
    [11] = {"Q3_K", 256, 110}, [12] = {"Q4_K", 256, 144}, [13] = {"Q5_K", 256, 176},
    [14] = {"Q6_K", 256, 210}, [15] = {"Q8_K", 256, 292}, [16] = {"IQ2_XXS", 256, 66},
    [17] = {"IQ2_XS", 256, 74}, [18] = {"IQ3_XXS", 256, 98}, [19] = {"IQ1_S", 256, 50},
    [20] = {"IQ4_NL", 32, 18}, [21] = {"IQ3_S", 256, 110}, [22] = {"IQ2_S", 256, 82},
    [23] = {"IQ4_XS", 256, 136}, [24] = {"I8", 1, 1},     [25] = {"I16", 1, 2},
    [26] = {"I32", 1, 4},      [27] = {"I64", 1, 8},      [28] = {"F64", 1, 8},
    [29] = {"IQ1_M", 256, 56}, [30] = {"BF16", 1, 2},     [34] = {"TQ1_0", 256, 54},
    [35] = {"TQ2_0", 256, 66}, [39] = {"MXFP4", 32, 17},
};
#define N_GGML_TYPES ((int)(sizeof ggml_types / sizeof *ggml_types))

static int ggml_known(uint32_t t) { return t < (uint32_t)N_GGML_TYPES && ggml_types[t].blck; }

const char *modex_gguf_type_name(int ggml_type) {
    return ggml_type >= 0 && ggml_known((uint32_t)ggml_type) ? ggml_types[ggml_type].name : "?";
}

int modex_gguf_type_size(int ggml_type, int *block) {
    if (ggml_type < 0 || !ggml_known((uint32_t)ggml_type)) return -1;
    if (block) *block = ggml_types[ggml_type].blck;
    return ggml_types[ggml_type].size;
}

static DType dtype_of(uint32_t t) {
    switch (t) {
    case 0: return DT_F32;
    case 1: return DT_F16;
    case 8: return DT_Q8_0;
    case 24: return DT_I8;
    case 25: return DT_I16;
    case 26: return DT_I32;
    case 27: return DT_I64;
    case 28: return DT_F64;
    case 30: return DT_BF16;
    default: return DT_OTHER;
    }
}

// --- metadata value types ---------------------------------------------------------------

static const char *kv_type_names[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool",
                                      "string", "array", "u64", "i64", "f64"};

const char *modex_gguf_kv_type_name(int type) {
    return type >= 0 && type <= GGUF_FLOAT64 ? kv_type_names[type] : "?";
}

/* Bytes of a fixed-size value; 0 for string/array/unknown. */
static size_t scalar_size(uint32_t t) {
    switch (t) {
    case GGUF_UINT8: case GGUF_INT8: case GGUF_BOOL: return 1;
    case GGUF_UINT16: case GGUF_INT16: return 2;
    case GGUF_UINT32: case GGUF_INT32: case GGUF_FLOAT32: return 4;
    case GGUF_UINT64: case GGUF_INT64: case GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

// --- checked reading --------------------------------------------------------------------

typedef struct Cur {
    const uint8_t *d;
    size_t size, pos;
    const char *path;
    Error *err;
} Cur;

static size_t left(const Cur *c) { return c->size - c->pos; }

static uint64_t le(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static int rd_u32(Cur *c, uint32_t *v, const char *what) {
    if (left(c) < 4)
        return modex_error_at(c->err, c->path, (long long)c->pos, "file ends inside %s (4 more bytes)", what);
    *v = (uint32_t)le(c->d + c->pos, 4);
    c->pos += 4;
    return 0;
}

static int rd_u64(Cur *c, uint64_t *v, const char *what) {
    if (left(c) < 8)
        return modex_error_at(c->err, c->path, (long long)c->pos, "file ends inside %s (8 more bytes)", what);
    *v = le(c->d + c->pos, 8);
    c->pos += 8;
    return 0;
}

/* A string: u64 length + bytes. s points into the map. */
static int rd_str(Cur *c, GgufStr *s, const char *what) {
    size_t at = c->pos;
    uint64_t n;
    if (rd_u64(c, &n, what)) return -1;
    if (n > left(c))
        return modex_error_at(c->err, c->path, (long long)at, "%s length %llu runs past the end of the file (at most %zu)",
                              what, (unsigned long long)n, left(c));
    s->s = (const char *)c->d + c->pos;
    s->len = n;
    c->pos += (size_t)n;
    return 0;
}

/* Skips one value of type t, checking every length; depth bounds arrays of arrays. */
static int skip_value(Cur *c, uint32_t t, int depth) {
    size_t at = c->pos, sz = scalar_size(t);
    if (sz) {
        if (left(c) < sz)
            return modex_error_at(c->err, c->path, (long long)at, "file ends inside a %s value (%zu bytes)", kv_type_names[t], sz);
        c->pos += sz;
        return 0;
    }
    if (t == GGUF_STRING) {
        GgufStr s;
        return rd_str(c, &s, "string value");
    }
    if (t != GGUF_ARRAY)
        return modex_error_at(c->err, c->path, (long long)at, "unknown value type %u (0..12)", t);
    uint32_t et;
    uint64_t n;
    if (rd_u32(c, &et, "array element type") || rd_u64(c, &n, "array length")) return -1;
    if (et > GGUF_FLOAT64)
        return modex_error_at(c->err, c->path, (long long)at, "unknown array element type %u (0..12)", et);
    if (et == GGUF_ARRAY && depth >= 8)
        return modex_error_at(c->err, c->path, (long long)at, "arrays nested more than 8 deep (flatter metadata)");
    /* smallest possible encoding of one element, to refuse absurd counts before walking */
    size_t min = (sz = scalar_size(et)) ? sz : et == GGUF_STRING ? 8 : 12;
    if (n > left(c) / min)
        return modex_error_at(c->err, c->path, (long long)at + 4, "array of %llu %s elements runs past the end of the file (%zu bytes left)",
                              (unsigned long long)n, kv_type_names[et], left(c));
    if (sz) { c->pos += (size_t)n * sz; return 0; }
    for (uint64_t i = 0; i < n; i++)
        if (skip_value(c, et, depth + 1)) return -1;
    return 0;
}

// --- open / close -----------------------------------------------------------------------

static int cmp_name_idx(const void *a, const void *b, void *arg) {
    const TensorView *t = arg;
    return strcmp(t[*(const int *)a].name, t[*(const int *)b].name);
}

static int cmp_u64pair(const void *a, const void *b) {
    const uint64_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

static int cmp_kv_idx(const void *a, const void *b, void *arg) {
    const GgufKV *kv = arg;
    return strcmp(kv[*(const int *)a].key, kv[*(const int *)b].key);
}

static char *copy_name(const GgufStr *s) {
    char *p = modex_xmalloc((size_t)s->len + 1);
    memcpy(p, s->s, (size_t)s->len);
    p[s->len] = 0;
    return p;
}

static int parse_kvs(Gguf *g, Cur *c, uint64_t n_kv) {
    /* each pair takes at least 8 (key length) + 4 (type) + 1 bytes */
    if (n_kv > left(c) / 13 || n_kv > INT_MAX)
        return modex_error_at(c->err, c->path, 16, "metadata count %llu cannot fit in the file (at most %zu)",
                              (unsigned long long)n_kv, left(c) / 13);
    g->kv = modex_xcalloc((size_t)n_kv ? (size_t)n_kv : 1, sizeof *g->kv);
    size_t *key_at = modex_xcalloc((size_t)n_kv ? (size_t)n_kv : 1, sizeof *key_at);
    int rc = -1;
    for (uint64_t i = 0; i < n_kv; i++) {
        size_t at = key_at[i] = c->pos;
        GgufStr key;
        uint32_t type;
        if (rd_str(c, &key, "metadata key")) goto out;
        if (memchr(key.s, 0, (size_t)key.len)) {
            modex_error_at(c->err, c->path, (long long)at, "metadata key contains a NUL byte (printable text)");
            goto out;
        }
        size_t tat = c->pos;
        if (rd_u32(c, &type, "metadata value type")) goto out;
        if (type > GGUF_FLOAT64) {
            modex_error_at(c->err, c->path, (long long)tat, "metadata '%.*s': unknown value type %u (0..12)",
                           (int)MODEX_MIN(key.len, 200), key.s, type);
            goto out;
        }
        GgufKV *kv = &g->kv[g->n_kv];
        kv->key = copy_name(&key);
        kv->type = (int)type;
        g->n_kv++;
        size_t vat = c->pos;
        if (skip_value(c, type, 0)) goto out;
        if (type == GGUF_ARRAY) {
            kv->arr_type = (int)le(c->d + vat, 4);
            kv->arr_n = le(c->d + vat + 4, 8);
            kv->val = c->d + vat + 12;
        } else {
            kv->val = c->d + vat;
        }
    }
    /* duplicate keys */
    int *idx = modex_xmalloc(sizeof *idx * (size_t)MODEX_MAX(g->n_kv, 1));
    for (int i = 0; i < g->n_kv; i++) idx[i] = i;
    qsort_r(idx, (size_t)g->n_kv, sizeof *idx, cmp_kv_idx, g->kv);
    rc = 0;
    for (int i = 1; i < g->n_kv && !rc; i++)
        if (strcmp(g->kv[idx[i]].key, g->kv[idx[i - 1]].key) == 0)
            rc = modex_error_at(c->err, c->path, (long long)key_at[MODEX_MAX(idx[i], idx[i - 1])],
                                "metadata key '%s' appears twice (unique keys)", g->kv[idx[i]].key);
    free(idx);
out:
    free(key_at);
    return rc;
}

static int parse_alignment(Gguf *g, Cur *c) {
    g->alignment = 32;
    const GgufKV *kv = modex_gguf_kv(g, "general.alignment");
    if (!kv) return 0;
    long long at = (long long)(kv->val - c->d);
    uint64_t a;
    if (kv->type == GGUF_UINT32 || kv->type == GGUF_INT32) a = le(kv->val, 4);
    else if (kv->type == GGUF_UINT64 || kv->type == GGUF_INT64) a = le(kv->val, 8);
    else
        return modex_error_at(c->err, c->path, at, "general.alignment has type %s (u32)", kv_type_names[kv->type]);
    if (a == 0 || (a & (a - 1)) || a > (1u << 30))
        return modex_error_at(c->err, c->path, at, "general.alignment is %llu (a power of two up to 2^30)", (unsigned long long)a);
    g->alignment = a;
    return 0;
}

static int parse_tensors(Gguf *g, Cur *c, uint64_t n_t) {
    /* each info takes at least 8 (name length) + 4 (n_dims) + 4 (type) + 8 (offset) bytes */
    if (n_t > left(c) / 24 || n_t > INT_MAX)
        return modex_error_at(c->err, c->path, 8, "tensor count %llu cannot fit in the file (at most %zu)",
                              (unsigned long long)n_t, left(c) / 24);
    size_t n = (size_t)n_t ? (size_t)n_t : 1;
    g->t = modex_xcalloc(n, sizeof *g->t);
    g->ggml_type = modex_xcalloc(n, sizeof *g->ggml_type);
    uint64_t *offs = modex_xcalloc(n, sizeof *offs);
    size_t *info_at = modex_xcalloc(n, sizeof *info_at);
    int rc = -1;
    for (uint64_t i = 0; i < n_t; i++) {
        size_t at = info_at[i] = c->pos;
        GgufStr name;
        uint32_t nd, type;
        if (rd_str(c, &name, "tensor name")) goto out;
        if (memchr(name.s, 0, (size_t)name.len)) {
            modex_error_at(c->err, c->path, (long long)at, "tensor name contains a NUL byte (printable text)");
            goto out;
        }
        TensorView *t = &g->t[g->n_tensors];
        t->name = copy_name(&name);
        t->file = g->map.path;
        g->n_tensors++;
        size_t dat = c->pos;
        if (rd_u32(c, &nd, "tensor dimension count")) goto out;
        if (nd > 4) {
            modex_error_at(c->err, c->path, (long long)dat, "tensor '%s': %u dimensions (at most 4)", t->name, nd);
            goto out;
        }
        uint64_t ne[4] = {1, 1, 1, 1}, numel = 1;
        for (uint32_t d = 0; d < nd; d++) {
            size_t eat = c->pos;
            if (rd_u64(c, &ne[d], "tensor dimension")) goto out;
            if (ne[d] > (uint64_t)INT64_MAX || (ne[d] && numel > (uint64_t)INT64_MAX / ne[d])) {
                modex_error_at(c->err, c->path, (long long)eat, "tensor '%s': dimension %u is %llu, element count overflows (at most 2^63-1 elements)",
                               t->name, d, (unsigned long long)ne[d]);
                goto out;
            }
            numel *= ne[d];
        }
        size_t tat = c->pos;
        if (rd_u32(c, &type, "tensor type") || rd_u64(c, &offs[i], "tensor data offset")) goto out;
        if (!ggml_known(type)) {
            modex_error_at(c->err, c->path, (long long)tat, "tensor '%s': unknown ggml type %u (a type from ggml.h)", t->name, type);
            goto out;
        }
        int blck = ggml_types[type].blck, tsize = ggml_types[type].size;
        if (ne[0] % (uint64_t)blck) {
            modex_error_at(c->err, c->path, (long long)dat, "tensor '%s': innermost dimension %llu is not a multiple of the %s block size %d",
                           t->name, (unsigned long long)ne[0], ggml_types[type].name, blck);
            goto out;
        }
        uint64_t blocks = numel / (uint64_t)blck;
        if (blocks > (uint64_t)c->size / (uint64_t)tsize) {
            modex_error_at(c->err, c->path, (long long)dat, "tensor '%s': %llu elements of %s need more bytes than the file has (%zu)",
                           t->name, (unsigned long long)numel, ggml_types[type].name, c->size);
            goto out;
        }
        t->ndim = (int)nd;
        for (uint32_t d = 0; d < nd; d++) t->shape[nd - 1 - d] = (int64_t)ne[d];
        t->numel = (int64_t)numel;
        t->nbytes = (size_t)(blocks * (uint64_t)tsize);
        t->dtype = dtype_of(type);
        g->ggml_type[i] = (int)type;
    }
    /* the data section starts at the next multiple of the alignment */
    uint64_t a = g->alignment, start = (c->pos + a - 1) / a * a;
    g->data_start = start;
    uint64_t data_len = start <= c->size ? c->size - start : 0;
    if (n_t && start > c->size) {
        modex_error_at(c->err, c->path, (long long)c->pos, "file ends before the data section (starts at %llu, file has %zu bytes)",
                       (unsigned long long)start, c->size);
        goto out;
    }
    uint64_t (*ranges)[2] = modex_xmalloc(sizeof *ranges * n);
    for (int i = 0; i < g->n_tensors; i++) {
        TensorView *t = &g->t[i];
        long long at = (long long)info_at[i];
        if (offs[i] % a) {
            free(ranges);
            modex_error_at(c->err, c->path, at, "tensor '%s': data offset %llu is not a multiple of the alignment %llu",
                           t->name, (unsigned long long)offs[i], (unsigned long long)a);
            goto out;
        }
        if (offs[i] > data_len || t->nbytes > data_len - offs[i]) {
            free(ranges);
            modex_error_at(c->err, c->path, at, "tensor '%s': data [%llu, %llu) runs past the end of the file (data section is %llu bytes)",
                           t->name, (unsigned long long)offs[i], (unsigned long long)offs[i] + t->nbytes, (unsigned long long)data_len);
            goto out;
        }
        int tsize = ggml_types[g->ggml_type[i]].size, blck = ggml_types[g->ggml_type[i]].blck;
        /* plain element types are read in place: their address must suit the element */
        if (blck == 1 && (start + offs[i]) % (uint64_t)tsize) {
            free(ranges);
            modex_error_at(c->err, c->path, at, "tensor '%s': data not aligned to its %d-byte elements", t->name, tsize);
            goto out;
        }
        t->data = g->map.data + start + offs[i];
        ranges[i][0] = offs[i];
        ranges[i][1] = offs[i] + t->nbytes;
    }
    qsort(ranges, (size_t)g->n_tensors, sizeof *ranges, cmp_u64pair);
    for (int i = 1; i < g->n_tensors; i++)
        if (ranges[i][0] < ranges[i - 1][1] && ranges[i][1] > ranges[i][0]) {
            modex_error_at(c->err, c->path, (long long)(start + ranges[i][0]), "tensors overlap in the data section ([%llu,%llu) and [%llu,%llu); disjoint ranges)",
                           (unsigned long long)ranges[i - 1][0], (unsigned long long)ranges[i - 1][1],
                           (unsigned long long)ranges[i][0], (unsigned long long)ranges[i][1]);
            free(ranges);
            goto out;
        }
    free(ranges);
    /* names: sorted index for lookup, and no duplicates */
    g->by_name = modex_xmalloc(sizeof *g->by_name * n);
    for (int i = 0; i < g->n_tensors; i++) g->by_name[i] = i;
    qsort_r(g->by_name, (size_t)g->n_tensors, sizeof *g->by_name, cmp_name_idx, g->t);
    for (int i = 1; i < g->n_tensors; i++) {
        int x = g->by_name[i - 1], y = g->by_name[i];
        if (strcmp(g->t[x].name, g->t[y].name) == 0) {
            modex_error_at(c->err, c->path, (long long)info_at[MODEX_MAX(x, y)], "tensor '%s' appears twice (unique names)", g->t[y].name);
            goto out;
        }
    }
    rc = 0;
out:
    free(offs);
    free(info_at);
    return rc;
}

int modex_gguf_open(Gguf *g, const char *path, Error *err) {
    memset(g, 0, sizeof *g);
    if (modex_map_file(&g->map, path, err)) return -1;
    Cur c = {g->map.data, g->map.size, 0, g->map.path, err};
    uint64_t n_t, n_kv;
    if (c.size < 4 || memcmp(c.d, "GGUF", 4) != 0) {
        modex_error_at(err, path, 0, "not a GGUF file (starts with the magic \"GGUF\")");
        goto fail;
    }
    c.pos = 4;
    if (rd_u32(&c, &g->version, "the version")) goto fail;
    if (g->version != 2 && g->version != 3) {
        if (g->version > 0xffff && (g->version >> 24) <= 3)
            modex_error_at(err, path, 4, "big-endian GGUF (little-endian version 2 or 3)");
        else if (g->version == 1)
            modex_error_at(err, path, 4, "GGUF version 1 is not supported (version 2 or 3; re-convert the model)");
        else
            modex_error_at(err, path, 4, "unknown GGUF version %u (2 or 3)", g->version);
        goto fail;
    }
    if (rd_u64(&c, &n_t, "the tensor count") || rd_u64(&c, &n_kv, "the metadata count")) goto fail;
    if (parse_kvs(g, &c, n_kv) || parse_alignment(g, &c) || parse_tensors(g, &c, n_t)) goto fail;
    return 0;
fail:
    modex_gguf_close(g);
    return -1;
}

void modex_gguf_close(Gguf *g) {
    for (int i = 0; i < g->n_kv; i++) free(g->kv[i].key);
    free(g->kv);
    for (int i = 0; i < g->n_tensors; i++) free((char *)g->t[i].name);
    free(g->t);
    free(g->ggml_type);
    free(g->by_name);
    modex_unmap_file(&g->map);
    memset(g, 0, sizeof *g);
}

// --- lookups ----------------------------------------------------------------------------

const GgufKV *modex_gguf_kv(const Gguf *g, const char *key) {
    for (int i = 0; i < g->n_kv; i++)
        if (strcmp(g->kv[i].key, key) == 0) return &g->kv[i];
    return NULL;
}

/* Reads a numeric scalar of type t at p; 0 if t is not numeric. */
static int num_at(int t, const uint8_t *p, double *d, int64_t *iv, int *is_int) {
    uint64_t u;
    switch (t) {
    case GGUF_UINT8: case GGUF_BOOL: *iv = p[0]; break;
    case GGUF_INT8: *iv = (int8_t)p[0]; break;
    case GGUF_UINT16: *iv = (uint16_t)le(p, 2); break;
    case GGUF_INT16: *iv = (int16_t)(uint16_t)le(p, 2); break;
    case GGUF_UINT32: *iv = (uint32_t)le(p, 4); break;
    case GGUF_INT32: *iv = (int32_t)(uint32_t)le(p, 4); break;
    case GGUF_UINT64:
        u = le(p, 8);
        if (u > (uint64_t)INT64_MAX) { *is_int = 0; *d = (double)u; return 1; }
        *iv = (int64_t)u;
        break;
    case GGUF_INT64: *iv = (int64_t)le(p, 8); break;
    case GGUF_FLOAT32: { uint32_t b = (uint32_t)le(p, 4); float f; memcpy(&f, &b, 4); *d = f; *is_int = 0; return 1; }
    case GGUF_FLOAT64: { u = le(p, 8); memcpy(d, &u, 8); *is_int = 0; return 1; }
    default: return 0;
    }
    *is_int = 1;
    *d = (double)*iv;
    return 1;
}

int64_t modex_gguf_int(const Gguf *g, const char *key, int64_t def) {
    const GgufKV *kv = modex_gguf_kv(g, key);
    double d; int64_t iv; int is_int;
    if (!kv || !num_at(kv->type, kv->val, &d, &iv, &is_int)) return def;
    if (is_int) return iv;
    if (!(d >= -9.2e18 && d <= 9.2e18)) return def; /* NaN or beyond int64 */
    return (int64_t)d;
}

double modex_gguf_float(const Gguf *g, const char *key, double def) {
    const GgufKV *kv = modex_gguf_kv(g, key);
    double d; int64_t iv; int is_int;
    if (!kv || !num_at(kv->type, kv->val, &d, &iv, &is_int)) return def;
    return d;
}

char *modex_gguf_str(const Gguf *g, const char *key) {
    const GgufKV *kv = modex_gguf_kv(g, key);
    if (!kv || kv->type != GGUF_STRING) return NULL;
    GgufStr s = {(const char *)kv->val + 8, le(kv->val, 8)};
    return copy_name(&s);
}

int modex_gguf_arr_strs(const Gguf *g, const GgufKV *kv, GgufStr **out) {
    (void)g;
    *out = NULL;
    if (!kv || kv->type != GGUF_ARRAY || kv->arr_type != GGUF_STRING || kv->arr_n > INT_MAX) return -1;
    GgufStr *s = modex_xmalloc(sizeof *s * (size_t)MODEX_MAX(kv->arr_n, 1));
    const uint8_t *p = kv->val; /* lengths were checked when the file was opened */
    for (uint64_t i = 0; i < kv->arr_n; i++) {
        s[i].len = le(p, 8);
        s[i].s = (const char *)p + 8;
        p += 8 + s[i].len;
    }
    *out = s;
    return (int)kv->arr_n;
}

double modex_gguf_arr_num(const GgufKV *kv, uint64_t i) {
    size_t sz;
    if (!kv || kv->type != GGUF_ARRAY || i >= kv->arr_n || !(sz = scalar_size((uint32_t)kv->arr_type))) return NAN;
    double d; int64_t iv; int is_int;
    num_at(kv->arr_type, kv->val + i * sz, &d, &iv, &is_int);
    return d;
}

const TensorView *modex_gguf_find(const Gguf *g, const char *name) {
    int lo = 0, hi = g->n_tensors - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(g->t[g->by_name[mid]].name, name);
        if (c == 0) return &g->t[g->by_name[mid]];
        if (c < 0) lo = mid + 1; else hi = mid - 1;
    }
    return NULL;
}
