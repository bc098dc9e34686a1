/* gguf_write.c — builds a GGUF v3 file: metadata collected in memory, tensor data referenced
 * until modex_gguf_w_write() writes everything atomically (temp file + rename). Used to
 * convert models between tensor types and by tests that need GGUF files of their own. */
#include "modex/gguf.h"
#include <stdlib.h>
#include <string.h>

// --- the builder ------------------------------------------------------------------------

typedef struct WTensor {
    char *name;
    int type, ndim;
    int64_t shape[4]; /* PyTorch order */
    const void *data;
    size_t nbytes;
} WTensor;

struct GgufWriter {
    uint8_t *kv; /* encoded key/value pairs */
    size_t kv_len, kv_cap;
    char **keys;
    int n_kv;
    WTensor *t;
    int n_t;
    uint64_t alignment;
};

static void put(GgufWriter *w, const void *p, size_t n) {
    if (w->kv_len + n > w->kv_cap) {
        w->kv_cap = (w->kv_len + n) * 2 + 256;
        w->kv = modex_xrealloc(w->kv, w->kv_cap);
    }
    if (n) memcpy(w->kv + w->kv_len, p, n);
    w->kv_len += n;
}
static void put_le(GgufWriter *w, uint64_t v, int n) {
    uint8_t b[8];
    for (int i = 0; i < n; i++) b[i] = (uint8_t)(v >> (8 * i));
    put(w, b, (size_t)n);
}
static void put_str(GgufWriter *w, const char *s, size_t n) { put_le(w, n, 8); put(w, s, n); }

static void key(GgufWriter *w, const char *k, int type) {
    w->keys = modex_xrealloc(w->keys, sizeof *w->keys * (size_t)(w->n_kv + 1));
    w->keys[w->n_kv++] = modex_xstrdup(k);
    put_str(w, k, strlen(k));
    put_le(w, (uint64_t)type, 4);
}

GgufWriter *modex_gguf_writer_new(void) {
    GgufWriter *w = modex_xcalloc(1, sizeof *w);
    w->alignment = 32;
    return w;
}

void modex_gguf_writer_free(GgufWriter *w) {
    if (!w) return;
    for (int i = 0; i < w->n_kv; i++) free(w->keys[i]);
    for (int i = 0; i < w->n_t; i++) free(w->t[i].name);
    free(w->keys);
    free(w->t);
    free(w->kv);
    free(w);
}

// --- metadata ---------------------------------------------------------------------------

void modex_gguf_w_u32(GgufWriter *w, const char *k, uint32_t v) {
    if (strcmp(k, "general.alignment") == 0 && v && !(v & (v - 1))) w->alignment = v;
    key(w, k, GGUF_UINT32); put_le(w, v, 4);
}
void modex_gguf_w_i32(GgufWriter *w, const char *k, int32_t v) { key(w, k, GGUF_INT32); put_le(w, (uint32_t)v, 4); }
void modex_gguf_w_u64(GgufWriter *w, const char *k, uint64_t v) { key(w, k, GGUF_UINT64); put_le(w, v, 8); }
void modex_gguf_w_i64(GgufWriter *w, const char *k, int64_t v) { key(w, k, GGUF_INT64); put_le(w, (uint64_t)v, 8); }
void modex_gguf_w_bool(GgufWriter *w, const char *k, int v) { key(w, k, GGUF_BOOL); put_le(w, v ? 1 : 0, 1); }
void modex_gguf_w_f32(GgufWriter *w, const char *k, float v) {
    uint32_t u; memcpy(&u, &v, 4);
    key(w, k, GGUF_FLOAT32); put_le(w, u, 4);
}
void modex_gguf_w_f64(GgufWriter *w, const char *k, double v) {
    uint64_t u; memcpy(&u, &v, 8);
    key(w, k, GGUF_FLOAT64); put_le(w, u, 8);
}
void modex_gguf_w_str(GgufWriter *w, const char *k, const char *v) { key(w, k, GGUF_STRING); put_str(w, v, strlen(v)); }

static size_t elem_size(int t) {
    switch (t) {
    case GGUF_UINT8: case GGUF_INT8: case GGUF_BOOL: return 1;
    case GGUF_UINT16: case GGUF_INT16: return 2;
    case GGUF_UINT32: case GGUF_INT32: case GGUF_FLOAT32: return 4;
    case GGUF_UINT64: case GGUF_INT64: case GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

int modex_gguf_w_arr_num(GgufWriter *w, const char *k, int elem_type, const void *elems, uint64_t n) {
    size_t es = elem_size(elem_type);
    if (!es) return -1;
    key(w, k, GGUF_ARRAY);
    put_le(w, (uint64_t)elem_type, 4);
    put_le(w, n, 8);
    const uint8_t *p = elems;
    for (uint64_t i = 0; i < n; i++) { /* host values to little-endian */
        uint64_t v = 0;
        if (es == 1) v = p[i];
        else if (es == 2) { uint16_t x; memcpy(&x, p + 2 * i, 2); v = x; }
        else if (es == 4) { uint32_t x; memcpy(&x, p + 4 * i, 4); v = x; }
        else memcpy(&v, p + 8 * i, 8);
        put_le(w, v, (int)es);
    }
    return 0;
}

void modex_gguf_w_arr_str(GgufWriter *w, const char *k, const char *const *s, uint64_t n) {
    key(w, k, GGUF_ARRAY);
    put_le(w, GGUF_STRING, 4);
    put_le(w, n, 8);
    for (uint64_t i = 0; i < n; i++) put_str(w, s[i], strlen(s[i]));
}

/* Bytes of one encoded value at p (the file it came from was checked when opened). */
static size_t value_len(int type, const uint8_t *p) {
    size_t es = elem_size(type);
    if (es) return es;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | p[i];
    if (type == GGUF_STRING) return 8 + (size_t)n;
    /* array: u32 element type, u64 count, elements */
    int et = (int)(p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24);
    n = 0;
    for (int i = 11; i >= 4; i--) n = (n << 8) | p[i];
    size_t len = 12;
    if ((es = elem_size(et))) return len + (size_t)n * es;
    for (uint64_t i = 0; i < n; i++) len += value_len(et, p + len);
    return len;
}

void modex_gguf_w_copy_kv(GgufWriter *w, const GgufKV *kv) {
    const uint8_t *v = kv->type == GGUF_ARRAY ? kv->val - 12 : kv->val;
    if (kv->type == GGUF_UINT32 && strcmp(kv->key, "general.alignment") == 0) {
        uint32_t a = (uint32_t)(v[0] | v[1] << 8 | v[2] << 16 | (uint32_t)v[3] << 24);
        if (a && !(a & (a - 1))) w->alignment = a;
    }
    key(w, kv->key, kv->type);
    put(w, v, value_len(kv->type, v));
}

// --- tensors and the file ---------------------------------------------------------------

int modex_gguf_w_tensor(GgufWriter *w, const char *name, int ggml_type, int ndim, const int64_t *shape,
                        const void *data, Error *err) {
    int blck, tsize = modex_gguf_type_size(ggml_type, &blck);
    if (tsize < 0) return modex_error(err, name, "unknown ggml type %d", ggml_type);
    if (ndim < 1 || ndim > 4) return modex_error(err, name, "%d dimensions (1 to 4)", ndim);
    int64_t numel = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0) return modex_error(err, name, "negative dimension");
        numel *= shape[d];
    }
    if (shape[ndim - 1] % blck)
        return modex_error(err, name, "innermost dimension %lld is not a multiple of the %s block size %d",
                           (long long)shape[ndim - 1], modex_gguf_type_name(ggml_type), blck);
    for (int i = 0; i < w->n_t; i++)
        if (strcmp(w->t[i].name, name) == 0) return modex_error(err, name, "tensor given twice (unique names)");
    w->t = modex_xrealloc(w->t, sizeof *w->t * (size_t)(w->n_t + 1));
    WTensor *t = &w->t[w->n_t++];
    memset(t, 0, sizeof *t);
    t->name = modex_xstrdup(name);
    t->type = ggml_type;
    t->ndim = ndim;
    memcpy(t->shape, shape, sizeof *shape * (size_t)ndim);
    t->data = data;
    t->nbytes = (size_t)(numel / blck) * (size_t)tsize;
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int modex_gguf_w_write(GgufWriter *w, const char *path, int force, Error *err) {
    char **k = modex_xmalloc(sizeof *k * (size_t)MODEX_MAX(w->n_kv, 1));
    memcpy(k, w->keys, sizeof *k * (size_t)w->n_kv);
    qsort(k, (size_t)w->n_kv, sizeof *k, cmp_str);
    for (int i = 1; i < w->n_kv; i++)
        if (strcmp(k[i], k[i - 1]) == 0) {
            modex_error(err, path, "metadata key '%s' given twice (unique keys)", k[i]);
            free(k);
            return -1;
        }
    free(k);
    /* header, metadata and tensor infos in memory; data offsets padded to the alignment */
    GgufWriter h = {0};
    put(&h, "GGUF", 4);
    put_le(&h, 3, 4);
    put_le(&h, (uint64_t)w->n_t, 8);
    put_le(&h, (uint64_t)w->n_kv, 8);
    put(&h, w->kv, w->kv_len);
    uint64_t a = w->alignment, off = 0;
    for (int i = 0; i < w->n_t; i++) {
        const WTensor *t = &w->t[i];
        put_str(&h, t->name, strlen(t->name));
        put_le(&h, (uint64_t)t->ndim, 4);
        for (int d = t->ndim - 1; d >= 0; d--) put_le(&h, (uint64_t)t->shape[d], 8); /* innermost first */
        put_le(&h, (uint64_t)t->type, 4);
        put_le(&h, off, 8);
        off = (off + t->nbytes + a - 1) / a * a;
    }
    static const uint8_t zeros[64] = {0};
    while (h.kv_len % a) put(&h, zeros, MODEX_MIN(sizeof zeros, a - h.kv_len % a));
    OutFile of;
    if (modex_out_open(&of, path, force, err)) { free(h.kv); return -1; }
    int bad = fwrite(h.kv, 1, h.kv_len, of.f) != h.kv_len;
    free(h.kv);
    for (int i = 0; i < w->n_t && !bad; i++) {
        const WTensor *t = &w->t[i];
        bad = t->nbytes && fwrite(t->data, 1, t->nbytes, of.f) != t->nbytes;
        /* pad between tensors, not after the last: the file ends with the last tensor's data */
        for (size_t pad = (a - t->nbytes % a) % a; pad && i + 1 < w->n_t && !bad; ) {
            size_t m = MODEX_MIN(pad, sizeof zeros);
            bad = fwrite(zeros, 1, m, of.f) != m;
            pad -= m;
        }
    }
    if (bad) { modex_out_abort(&of); return modex_error(err, path, "write failed (space on the device)"); }
    return modex_out_commit(&of, err);
}
