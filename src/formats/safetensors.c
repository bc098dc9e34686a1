/* safetensors.c — u64 header length, JSON header (jansson), data at 8+N. Every offset is
 * checked against the file before any tensor is touched. Sharded models: the index's
 * weight_map names the shard of each tensor. */
#include "modex/safetensors.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static int dtype_from(const char *s, DType *t, int *size) {
    static const struct { const char *n; DType t; int s; } map[] = {
        {"F32", DT_F32, 4}, {"F16", DT_F16, 2}, {"BF16", DT_BF16, 2}, {"F64", DT_F64, 8},
        {"I64", DT_I64, 8}, {"I32", DT_I32, 4}, {"I16", DT_I16, 2}, {"I8", DT_I8, 1},
        {"U8", DT_U8, 1}, {"BOOL", DT_BOOL, 1},
        /* readable but not convertible: kept as DT_OTHER so a model with such a buffer opens */
        {"U16", DT_OTHER, 2}, {"U32", DT_OTHER, 4}, {"U64", DT_OTHER, 8},
        {"F8_E4M3", DT_OTHER, 1}, {"F8_E5M2", DT_OTHER, 1}};
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (strcmp(s, map[i].n) == 0) { *t = map[i].t; *size = map[i].s; return 0; }
    return -1;
}

static int cmp_tv(const void *a, const void *b) {
    return strcmp(((const TensorView *)a)->name, ((const TensorView *)b)->name);
}

/* File offset of "key" in the header text (where an entry's error is reported); the header
 * start if the key is written with escapes. */
static long long key_pos(const MappedFile *m, uint64_t hlen, const char *key) {
    size_t kl = strlen(key);
    char *q = modex_xmalloc(kl + 3);
    q[0] = '"';
    memcpy(q + 1, key, kl);
    q[kl + 1] = '"';
    q[kl + 2] = 0;
    const uint8_t *h = m->data + 8, *f = memmem(h, (size_t)hlen, q, kl + 2);
    free(q);
    return f ? 8 + (long long)(f - h) : 8;
}

static int cmp_range(const void *a, const void *b) {
    const uint64_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* Parses one file's header, appending its tensors to st->t. */
static int parse_file(SafeTensors *st, MappedFile *m, Error *err) {
    const char *path = m->path;
    if (m->size < 8) return modex_error_at(err, path, 0, "file too short for a safetensors header (%zu bytes; at least 8)", m->size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | m->data[i];
    if (hlen > m->size - 8)
        return modex_error_at(err, path, 0, "header length %llu exceeds the file (at most %zu)", (unsigned long long)hlen, m->size - 8);
    if (hlen < 2) return modex_error_at(err, path, 8, "header too short (a JSON object)");
    json_error_t je;
    json_t *root = json_loadb((const char *)m->data + 8, hlen, JSON_REJECT_DUPLICATES, &je);
    if (!root) return modex_error_at(err, path, 8 + je.position, "invalid JSON header: %s (a JSON object)", je.text);
    if (!json_is_object(root)) { json_decref(root); return modex_error_at(err, path, 8, "header is not a JSON object"); }
    uint64_t data_off = 8 + hlen, data_len = m->size - data_off;
    const char *key; json_t *v;
    size_t count = json_object_size(root);
    st->t = modex_xrealloc(st->t, sizeof *st->t * (size_t)(st->n + (int)count));
    /* ranges for the overlap check */
    uint64_t (*ranges)[2] = modex_xmalloc(sizeof *ranges * (count + 1));
    size_t nr = 0;
    int rc = 0;
    json_object_foreach(root, key, v) {
        if (strcmp(key, "__metadata__") == 0) {
            if (!st->metadata_json) st->metadata_json = json_dumps(v, JSON_COMPACT);
            continue;
        }
        json_t *jd = json_object_get(v, "dtype"), *js = json_object_get(v, "shape"), *jo = json_object_get(v, "data_offsets");
        if (!json_is_object(v) || !json_is_string(jd) || !json_is_array(js) || !json_is_array(jo) || json_array_size(jo) != 2) {
            rc = modex_error_at(err, path, key_pos(m, hlen, key), "tensor '%s': entry needs dtype, shape and data_offsets [begin, end]", key);
            break;
        }
        TensorView t = {0};
        int esize;
        if (dtype_from(json_string_value(jd), &t.dtype, &esize)) {
            rc = modex_error_at(err, path, key_pos(m, hlen, key), "tensor '%s': unknown dtype '%s' (F32, F16, BF16, F64, F8_E4M3, F8_E5M2 or an integer type)", key, json_string_value(jd));
            break;
        }
        if (json_array_size(js) > 4) { rc = modex_error_at(err, path, key_pos(m, hlen, key), "tensor '%s': %zu dimensions (at most 4)", key, json_array_size(js)); break; }
        t.ndim = (int)json_array_size(js);
        uint64_t numel = 1;
        int bad = 0;
        for (int d = 0; d < t.ndim; d++) {
            json_t *x = json_array_get(js, (size_t)d);
            if (!json_is_integer(x) || json_integer_value(x) < 0) { bad = 1; break; }
            t.shape[d] = json_integer_value(x);
            if (t.shape[d] && numel > UINT64_MAX / 16 / (uint64_t)t.shape[d]) { bad = 1; break; }
            numel *= (uint64_t)t.shape[d];
        }
        if (bad) { rc = modex_error_at(err, path, key_pos(m, hlen, key), "tensor '%s': bad shape (non-negative integers)", key); break; }
        json_t *b = json_array_get(jo, 0), *e = json_array_get(jo, 1);
        if (!json_is_integer(b) || !json_is_integer(e) || json_integer_value(b) < 0 || json_integer_value(e) < json_integer_value(b)) {
            rc = modex_error_at(err, path, key_pos(m, hlen, key), "tensor '%s': bad data_offsets (0 <= begin <= end)", key); break;
        }
        uint64_t ob = (uint64_t)json_integer_value(b), oe = (uint64_t)json_integer_value(e);
        if (oe > data_len) {
            rc = modex_error_at(err, path, (long long)(data_off + ob), "tensor '%s': data [%llu, %llu) runs past the end of the file (data area is %llu bytes)",
                                key, (unsigned long long)ob, (unsigned long long)oe, (unsigned long long)data_len);
            break;
        }
        if (oe - ob != numel * (uint64_t)esize) {
            rc = modex_error_at(err, path, (long long)(data_off + ob), "tensor '%s': %llu bytes of data for %llu elements of %s (expected %llu)",
                                key, (unsigned long long)(oe - ob), (unsigned long long)numel, json_string_value(jd), (unsigned long long)(numel * (uint64_t)esize));
            break;
        }
        if (numel && (data_off + ob) % (uint64_t)esize) {
            rc = modex_error_at(err, path, (long long)(data_off + ob), "tensor '%s': data not aligned to its %d-byte elements", key, esize);
            break;
        }
        if (oe > ob) { ranges[nr][0] = ob; ranges[nr][1] = oe; nr++; } /* empty ones overlap nothing */
        t.numel = (int64_t)numel;
        t.nbytes = oe - ob;
        t.data = m->data + data_off + ob;
        t.name = modex_xstrdup(key);
        t.file = m->path;
        st->t[st->n++] = t;
    }
    json_decref(root);
    if (!rc) { /* overlapping data ranges: sorted by begin, each must start after the last end */
        qsort(ranges, nr, sizeof *ranges, cmp_range);
        for (size_t j = 1; j < nr && !rc; j++)
            if (ranges[j][0] < ranges[j - 1][1])
                rc = modex_error_at(err, path, (long long)(data_off + ranges[j][0]), "tensors overlap in the data area ([%llu,%llu) and [%llu,%llu); disjoint ranges)",
                                    (unsigned long long)ranges[j - 1][0], (unsigned long long)ranges[j - 1][1], (unsigned long long)ranges[j][0], (unsigned long long)ranges[j][1]);
    }
    free(ranges);
    return rc;
}

static int open_one(SafeTensors *st, const char *path, Error *err) {
    st->files = modex_xrealloc(st->files, sizeof *st->files * (size_t)(st->n_files + 1));
    MappedFile *m = &st->files[st->n_files];
    if (modex_map_file(m, path, err)) return -1;
    st->n_files++;
    return parse_file(st, m, err);
}

static int open_index(SafeTensors *st, const char *path, Error *err) {
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root) return modex_error_line(err, path, je.line, je.column, "invalid JSON: %s", je.text);
    json_t *wm = json_object_get(root, "weight_map");
    if (!json_is_object(wm)) { json_decref(root); return modex_error(err, path, "no \"weight_map\" object (a sharded safetensors index)"); }
    if (json_object_size(wm) == 0) { json_decref(root); return modex_error(err, path, "\"weight_map\" is empty (expected tensor names and their shard files)"); }
    /* the distinct shard names, in order of first appearance */
    const char *key; json_t *v;
    char **shards = NULL; int ns = 0, rc = 0;
    json_object_foreach(wm, key, v) {
        if (!json_is_string(v)) { rc = modex_error(err, path, "weight_map[\"%s\"] is not a file name", key); break; }
        const char *s = json_string_value(v);
        if (strchr(s, '/') || strcmp(s, "..") == 0) { rc = modex_error(err, path, "weight_map[\"%s\"] = \"%s\" (a file name in the same folder)", key, s); break; }
        int found = 0;
        for (int i = 0; i < ns; i++) if (strcmp(shards[i], s) == 0) { found = 1; break; }
        if (!found) { shards = modex_xrealloc(shards, sizeof *shards * (size_t)(ns + 1)); shards[ns++] = modex_xstrdup(s); }
    }
    char *dir = modex_xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash) slash[1] = 0; else strcpy(dir, ".");
    for (int i = 0; i < ns && !rc; i++) {
        char *p = modex_path_join(dir, shards[i]);
        rc = open_one(st, p, err);
        free(p);
    }
    if (!rc) { /* every mapped name must exist in its shard */
        if (st->n) qsort(st->t, (size_t)st->n, sizeof *st->t, cmp_tv); /* t is NULL when no shard has tensors */
        json_object_foreach(wm, key, v) {
            if (!modex_st_find(st, key)) { rc = modex_error(err, path, "tensor '%s' listed in weight_map is in no shard", key); break; }
        }
    }
    for (int i = 0; i < ns; i++) free(shards[i]);
    free(shards); free(dir);
    json_decref(root);
    return rc;
}

int modex_st_open(SafeTensors *st, const char *path, Error *err) {
    memset(st, 0, sizeof *st);
    size_t n = strlen(path);
    int rc = n > 5 && strcmp(path + n - 5, ".json") == 0 ? open_index(st, path, err) : open_one(st, path, err);
    if (rc) { modex_st_close(st); return -1; }
    if (st->n) qsort(st->t, (size_t)st->n, sizeof *st->t, cmp_tv);
    for (int i = 1; i < st->n; i++)
        if (strcmp(st->t[i].name, st->t[i - 1].name) == 0) {
            modex_error(err, path, "tensor '%s' appears twice (unique names)", st->t[i].name);
            modex_st_close(st);
            return -1;
        }
    return 0;
}

void modex_st_close(SafeTensors *st) {
    for (int i = 0; i < st->n; i++) free((char *)st->t[i].name);
    free(st->t);
    for (int i = 0; i < st->n_files; i++) modex_unmap_file(&st->files[i]);
    free(st->files);
    free(st->metadata_json);
    memset(st, 0, sizeof *st);
}

const TensorView *modex_st_find(const SafeTensors *st, const char *name) {
    int lo = 0, hi = st->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(st->t[mid].name, name);
        if (c == 0) return &st->t[mid];
        if (c < 0) lo = mid + 1; else hi = mid - 1;
    }
    return NULL;
}

// --- writer -----------------------------------------------------------------------------

static int write_esize(DType t) { return t == DT_F32 ? 4 : t == DT_F16 || t == DT_BF16 ? 2 : 0; }

int modex_st_write(const char *path, const StWriteTensor *t, int n, const char *metadata_json, int force, Error *err) {
    /* check everything before creating the file */
    for (int i = 0; i < n; i++) {
        if (!t[i].name || !*t[i].name || strcmp(t[i].name, "__metadata__") == 0)
            return modex_error(err, path, "tensor %d has no usable name (a non-empty name other than __metadata__)", i);
        if (!write_esize(t[i].dtype))
            return modex_error(err, path, "tensor '%s': cannot write dtype %s (F32, F16 or BF16)", t[i].name, modex_dtype_name(t[i].dtype));
        if (t[i].ndim < 0 || t[i].ndim > 4)
            return modex_error(err, path, "tensor '%s': %d dimensions (0 to 4)", t[i].name, t[i].ndim);
        for (int d = 0; d < t[i].ndim; d++)
            if (t[i].shape[d] < 0) return modex_error(err, path, "tensor '%s': negative dimension", t[i].name);
        for (int j = 0; j < i; j++)
            if (strcmp(t[i].name, t[j].name) == 0) return modex_error(err, path, "tensor '%s' given twice (unique names)", t[i].name);
    }
    json_t *md = NULL;
    if (metadata_json) {
        json_error_t je;
        md = json_loads(metadata_json, JSON_REJECT_DUPLICATES, &je);
        if (!json_is_object(md)) {
            json_decref(md);
            return modex_error(err, path, "metadata is not a JSON object: %s", md ? "another JSON value" : je.text);
        }
    }
    /* 4-byte tensors first, then 2-byte ones: every tensor stays aligned to its element size
     * while the data area has no holes */
    int *order = modex_xmalloc(sizeof *order * (size_t)MODEX_MAX(n, 1)), k = 0;
    for (int pass = 4; pass >= 2; pass -= 2)
        for (int i = 0; i < n; i++)
            if (write_esize(t[i].dtype) == pass) order[k++] = i;
    json_t *root = json_object();
    if (md) json_object_set_new(root, "__metadata__", md);
    uint64_t off = 0;
    for (int k2 = 0; k2 < n; k2++) {
        const StWriteTensor *w = &t[order[k2]];
        uint64_t numel = 1;
        json_t *shape = json_array();
        for (int d = 0; d < w->ndim; d++) { numel *= (uint64_t)w->shape[d]; json_array_append_new(shape, json_integer(w->shape[d])); }
        json_t *e = json_object();
        json_object_set_new(e, "dtype", json_string(modex_dtype_name(w->dtype)));
        json_object_set_new(e, "shape", shape);
        json_t *o = json_array();
        json_array_append_new(o, json_integer((json_int_t)off));
        off += numel * (uint64_t)write_esize(w->dtype);
        json_array_append_new(o, json_integer((json_int_t)off));
        json_object_set_new(e, "data_offsets", o);
        json_object_set_new(root, w->name, e);
    }
    char *hdr = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    size_t hl = strlen(hdr), pad = (8 - hl % 8) % 8; /* keep data 8-byte aligned */
    OutFile of;
    if (modex_out_open(&of, path, force, err)) { free(hdr); free(order); return -1; }
    uint64_t total = hl + pad;
    uint8_t lenb[8];
    for (int i = 0; i < 8; i++) lenb[i] = (uint8_t)(total >> (8 * i));
    int bad = fwrite(lenb, 1, 8, of.f) != 8 || fwrite(hdr, 1, hl, of.f) != hl;
    for (size_t i = 0; i < pad && !bad; i++) bad = fputc(' ', of.f) == EOF;
    free(hdr);
    for (int k2 = 0; k2 < n && !bad; k2++) {
        const StWriteTensor *w = &t[order[k2]];
        uint64_t numel = 1;
        for (int d = 0; d < w->ndim; d++) numel *= (uint64_t)w->shape[d];
        size_t bytes = numel * (size_t)write_esize(w->dtype);
        bad = bytes && fwrite(w->data, 1, bytes, of.f) != bytes;
    }
    free(order);
    if (bad) { modex_out_abort(&of); return modex_error(err, path, "write failed (space on the device)"); }
    return modex_out_commit(&of, err);
}
