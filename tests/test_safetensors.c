/* test_safetensors.c — the safetensors reader on files written by PyTorch (the fixtures), on
 * broken files of every kind, on a sharded model, and the writer's round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "modex/safetensors.h"

// --- helpers ----------------------------------------------------------------------------

static char fixtures[1024];
static char tmpdir[256];

static char *fx(const char *rel) {
    char *p = malloc(strlen(fixtures) + strlen(rel) + 2);
    sprintf(p, "%s/%s", fixtures, rel);
    return p;
}
static char *tmp(const char *name) { return modex_path_join(tmpdir, name); }

static void write_bytes(const char *path, const void *d, size_t n) {
    unlink(path); /* rewriting a truncated file makes ext4 flush it: slow */
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (n) assert_int_equal(fwrite(d, 1, n, f), n);
    fclose(f);
}

/* A raw safetensors file: 8-byte length (hlen, or the header's length if hlen is -1), the
 * header text padded with spaces to pad_to bytes (0: to keep the data 8-byte aligned), then data_len bytes 0, 1, 2, ... */
static size_t raw_file(uint8_t **out, const char *hdr, long long hlen, size_t pad_to, size_t data_len) {
    size_t hl = strlen(hdr), n = pad_to ? MODEX_MAX(hl, pad_to) : (hl + 7) / 8 * 8;
    uint64_t L = hlen < 0 ? n : (uint64_t)hlen;
    uint8_t *b = malloc(8 + n + data_len + 1);
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(L >> (8 * i));
    memcpy(b + 8, hdr, hl);
    memset(b + 8 + hl, ' ', n - hl);
    for (size_t i = 0; i < data_len; i++) b[8 + n + i] = (uint8_t)i;
    *out = b;
    return 8 + n + data_len;
}

static void expect_bad_path(const char *p, const char *want) {
    SafeTensors st;
    Error err = {{0}};
    int rc = modex_st_open(&st, p, &err);
    if (rc != -1 || !strstr(err.msg, p) || (want && !strstr(err.msg, want)))
        fprintf(stderr, "expected failure containing '%s', got rc=%d msg='%s'\n", want ? want : "", rc, err.msg);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err.msg, p));
    if (want) assert_non_null(strstr(err.msg, want));
    assert_null(st.t); /* closed on failure */
    assert_null(st.files);
}

static void expect_bad(const char *hdr, long long hlen, size_t pad_to, size_t data_len, const char *want) {
    uint8_t *b;
    size_t n = raw_file(&b, hdr, hlen, pad_to, data_len);
    char *p = tmp("bad.safetensors");
    write_bytes(p, b, n);
    expect_bad_path(p, want);
    unlink(p);
    free(p);
    free(b);
}

static SafeTensors open_ok(const char *path) {
    SafeTensors st;
    Error err = {{0}};
    int rc = modex_st_open(&st, path, &err);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(rc, 0);
    return st;
}

// --- fixtures ---------------------------------------------------------------------------

static void test_fixtures(void **state) {
    (void)state;
    /* tensor counts from an independent reading of the headers (Python's json) */
    static const struct { const char *path; int n; } files[] = {
        {"hf-models/bert/model.safetensors", 37},   {"hf-models/gpt2/model.safetensors", 28},
        {"hf-models/gpt_neox/model.safetensors", 28}, {"hf-models/llama/model.safetensors", 21},
        {"hf-models/mixtral/model.safetensors", 41}, {"hf-models/qwen2/model.safetensors", 26},
        {"hf-models/t5/model.safetensors", 19},     {"models/gpt2/model.safetensors", 40},
        {"models/llama/model.safetensors", 30},     {"probe-e2e/model/model.safetensors", 40}};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char *p = fx(files[i].path);
        SafeTensors st = open_ok(p);
        assert_int_equal(st.n, files[i].n);
        assert_int_equal(st.n_files, 1);
        assert_non_null(st.metadata_json);
        assert_string_equal(st.metadata_json, "{\"format\":\"pt\"}");
        for (int k = 1; k < st.n; k++) assert_true(strcmp(st.t[k - 1].name, st.t[k].name) < 0);
        for (int k = 0; k < st.n; k++) {
            assert_int_equal(st.t[k].dtype, DT_F32);
            assert_int_equal(st.t[k].nbytes, (size_t)st.t[k].numel * 4);
            assert_int_equal((uintptr_t)st.t[k].data % 4, 0);
            assert_string_equal(st.t[k].file, p);
        }
        modex_st_close(&st);
        free(p);
    }
    char *p = fx("models/gpt2/model.safetensors");
    SafeTensors st = open_ok(p);
    const TensorView *t = modex_st_find(&st, "wte.weight");
    assert_non_null(t);
    assert_int_equal(t->ndim, 2);
    assert_int_equal(t->shape[0], 300);
    assert_int_equal(t->shape[1], 64);
    const float *x = t->data;
    /* values read independently with Python's struct */
    assert_true(x[0] == -0.12004664540290833f && x[1] == -0.07004675269126892f && x[300 * 64 - 1] == -0.2546086013317108f);
    t = modex_st_find(&st, "h.2.mlp.c_proj.bias");
    assert_int_equal(t->ndim, 1);
    assert_true(((const float *)t->data)[1] == 0.05596768856048584f);
    assert_ptr_equal(t->data, st.files[0].data + 8 + 3288 + 692736);
    float buf[64];
    t = modex_st_find(&st, "ln_f.weight");
    assert_int_equal(modex_tensor_to_f32(t, buf), 0);
    assert_true(buf[0] == 1.038059115409851f && buf[63] == 0.9044317007064819f);
    assert_null(modex_st_find(&st, "wte"));
    assert_null(modex_st_find(&st, "zzz"));
    assert_null(modex_st_find(&st, ""));
    modex_st_close(&st);
    free(p);
}

// --- broken files -----------------------------------------------------------------------

static const char *GOOD =
    "{\"__metadata__\":{\"k\":\"v\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
    "\"b\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[16,22]}}";

static void test_good_raw(void **state) {
    (void)state;
    uint8_t *b;
    size_t n = raw_file(&b, GOOD, -1, 192, 22);
    char *p = tmp("good.safetensors");
    write_bytes(p, b, n);
    SafeTensors st = open_ok(p);
    assert_int_equal(st.n, 2);
    assert_string_equal(st.metadata_json, "{\"k\":\"v\"}");
    const TensorView *a = modex_st_find(&st, "a"), *c = modex_st_find(&st, "b");
    assert_int_equal(a->numel, 4);
    assert_int_equal(c->dtype, DT_BF16);
    assert_ptr_equal(c->data, st.files[0].data + 8 + 192 + 16);
    modex_st_close(&st);
    /* every strict prefix is refused */
    for (size_t k = 0; k < n; k++) {
        write_bytes(p, b, k);
        expect_bad_path(p, NULL);
    }
    /* every byte set to 0 / 0xff / '"' / '}': may open or not, never crash; data in bounds */
    static const uint8_t vals[] = {0, 0xff, '"', '}', '9'};
    for (size_t k = 0; k < n; k++)
        for (size_t v = 0; v < sizeof vals; v++) {
            uint8_t old = b[k];
            b[k] = vals[v];
            write_bytes(p, b, n);
            b[k] = old;
            Error err = {{0}};
            if (modex_st_open(&st, p, &err) == 0) {
                for (int i = 0; i < st.n; i++) {
                    const uint8_t *d = st.t[i].data;
                    assert_true(d >= st.files[0].data && d + st.t[i].nbytes <= st.files[0].data + st.files[0].size);
                }
                modex_st_close(&st);
            } else {
                assert_non_null(strstr(err.msg, p));
            }
        }
    unlink(p);
    free(p);
    free(b);
}

static void test_bad_files(void **state) {
    (void)state;
    expect_bad("{}", 1000, 0, 0, "header length 1000 exceeds the file");
    expect_bad("{}", 0x7fffffffffffffffLL, 0, 0, "exceeds the file");
    expect_bad("{", -1, 1, 0, "header too short");
    expect_bad("{\"a\":", -1, 0, 0, "invalid JSON header");
    expect_bad("[1,2]", -1, 0, 0, "not a JSON object");
    expect_bad("{\"a\":1}", -1, 0, 0, "tensor 'a': entry needs dtype, shape and data_offsets");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", -1, 0, 4, "entry needs");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", -1, 0, 4, "entry needs");
    /* an entry's error points at its key in the header */
    expect_bad("{\"ok\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F7\",\"shape\":[1],\"data_offsets\":[4,8]}}",
               -1, 0, 8, "bad.safetensors:63: tensor 'a': unknown dtype 'F7'");
    expect_bad("{\"a\":{\"dtype\":\"F7\",\"shape\":[1],\"data_offsets\":[0,4]}}", -1, 0, 4, "unknown dtype 'F7'");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,1000]}}", -1, 0, 4, "runs past the end of the file");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", -1, 0, 8, "bad data_offsets");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", -1, 0, 8, "bad data_offsets");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,99999999999999999999]}}", -1, 0, 8, "invalid JSON");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", -1, 0, 8, "8 bytes of data for 3 elements of F32 (expected 12)");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", -1, 0, 8, "bad shape");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", -1, 0, 8, "bad shape");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,4]}}", -1, 0, 8, "bad shape");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1],\"data_offsets\":[0,4]}}", -1, 0, 8, "5 dimensions (at most 4)");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", -1, 0, 12, "tensors overlap");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", -1, 0, 16, "tensors overlap");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
               "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", -1, 0, 8, "duplicate");
    /* F32 data at file offset 8 + 10: not 4-byte aligned */
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", -1, 58, 4, "not aligned");
    /* an empty tensor anywhere in range is fine; U16 is read as DT_OTHER */
    uint8_t *b;
    size_t n = raw_file(&b, "{\"e\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[2,2]},"
                            "\"u\":{\"dtype\":\"U16\",\"shape\":[2],\"data_offsets\":[0,4]}}", -1, 0, 4);
    char *p = tmp("ok.safetensors");
    write_bytes(p, b, n);
    SafeTensors st = open_ok(p);
    assert_int_equal(modex_st_find(&st, "e")->numel, 0);
    assert_int_equal(modex_st_find(&st, "u")->dtype, DT_OTHER);
    float f[2];
    assert_int_equal(modex_tensor_to_f32(modex_st_find(&st, "u"), f), -1);
    modex_st_close(&st);
    unlink(p);
    free(p);
    free(b);
    /* too short, missing, a folder */
    p = tmp("short.safetensors");
    write_bytes(p, "\x02\0\0", 3);
    expect_bad_path(p, "file too short");
    unlink(p);
    expect_bad_path(p, "cannot open");
    free(p);
    expect_bad_path(tmpdir, "not a regular file");
}

// --- writer -----------------------------------------------------------------------------

static int count_dir_entries(void) {
    DIR *d = opendir(tmpdir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

static void test_writer_round_trip(void **state) {
    (void)state;
    float a[6] = {1.5f, -2.25f, 0.0f, 1e-30f, -1e30f, 3.0f};
    uint16_t h[3] = {modex_f32_to_f16(0.5f), modex_f32_to_f16(-65504.0f), modex_f32_to_f16(1.0f / 3)};
    uint16_t bf[5] = {modex_f32_to_bf16(1.0f), modex_f32_to_bf16(-2.5f), modex_f32_to_bf16(3.14159f),
                      modex_f32_to_bf16(1e-20f), modex_f32_to_bf16(7.0f)};
    float c[2] = {42.0f, -7.0f};
    /* odd 2-byte tensors first in the list: the writer must still keep F32 aligned */
    StWriteTensor w[] = {{"h", DT_F16, 1, {3}, h},   {"a", DT_F32, 2, {2, 3}, a},
                         {"bf", DT_BF16, 2, {5, 1}, bf}, {"c.x", DT_F32, 1, {2}, c},
                         {"empty", DT_F32, 2, {0, 4}, NULL}};
    char *p = tmp("rt.safetensors");
    Error err = {{0}};
    int before = count_dir_entries();
    assert_int_equal(modex_st_write(p, w, 5, "{\"format\":\"pt\",\"note\":\"x\"}", 0, &err), 0);
    assert_int_equal(count_dir_entries(), before + 1); /* no temp file left */
    SafeTensors st = open_ok(p);
    assert_int_equal(st.n, 5);
    assert_non_null(strstr(st.metadata_json, "\"note\":\"x\""));
    for (int i = 0; i < 5; i++) {
        const TensorView *t = modex_st_find(&st, w[i].name);
        assert_non_null(t);
        assert_int_equal(t->dtype, w[i].dtype);
        assert_int_equal(t->ndim, w[i].ndim);
        for (int d = 0; d < t->ndim; d++) assert_int_equal(t->shape[d], w[i].shape[d]);
        int es = w[i].dtype == DT_F32 ? 4 : 2;
        assert_int_equal((uintptr_t)t->data % (uintptr_t)es, 0);
        if (t->nbytes) assert_memory_equal(t->data, w[i].data, t->nbytes);
    }
    float out[8];
    assert_int_equal(modex_tensor_to_f32(modex_st_find(&st, "h"), out), 0);
    assert_true(out[0] == 0.5f && out[1] == -65504.0f && fabsf(out[2] - 1.0f / 3) < 1e-3f);
    assert_int_equal(modex_tensor_to_f32(modex_st_find(&st, "bf"), out), 0);
    assert_true(out[0] == 1.0f && out[1] == -2.5f && out[4] == 7.0f && fabsf(out[2] - 3.14159f) < 0.02f);
    assert_int_equal(modex_tensor_to_f32(modex_st_find(&st, "a"), out), 0);
    assert_memory_equal(out, a, sizeof a);
    modex_st_close(&st);

    /* refusals leave nothing behind */
    assert_int_equal(modex_st_write(p, w, 2, NULL, 0, &err), -1);
    assert_non_null(strstr(err.msg, "already exists"));
    assert_int_equal(modex_st_write(p, w, 2, NULL, 1, &err), 0); /* force */
    st = open_ok(p);
    assert_int_equal(st.n, 2);
    assert_null(st.metadata_json);
    modex_st_close(&st);
    char *q = tmp("bad-w.safetensors");
    int64_t i64[1] = {5};
    StWriteTensor bad1[] = {{"i", DT_I64, 1, {1}, i64}};
    assert_int_equal(modex_st_write(q, bad1, 1, NULL, 0, &err), -1);
    assert_non_null(strstr(err.msg, "cannot write dtype I64"));
    StWriteTensor bad2[] = {{"x", DT_F32, 1, {1}, c}, {"x", DT_F32, 1, {1}, c}};
    assert_int_equal(modex_st_write(q, bad2, 2, NULL, 0, &err), -1);
    assert_non_null(strstr(err.msg, "given twice"));
    assert_int_equal(modex_st_write(q, w, 1, "{not json", 0, &err), -1);
    assert_non_null(strstr(err.msg, "metadata is not a JSON object"));
    assert_int_equal(modex_st_write(q, w, 1, "[1]", 0, &err), -1);
    StWriteTensor bad3[] = {{"__metadata__", DT_F32, 1, {1}, c}};
    assert_int_equal(modex_st_write(q, bad3, 1, NULL, 0, &err), -1);
    assert_int_equal(modex_file_exists(q), 0);
    assert_int_equal(count_dir_entries(), before + 1);
    unlink(p);
    free(p);
    free(q);
}

static void test_sharded(void **state) {
    (void)state;
    float a[4] = {1, 2, 3, 4}, b[3] = {5, 6, 7};
    uint16_t c[2] = {modex_f32_to_bf16(8), modex_f32_to_bf16(9)};
    StWriteTensor s1[] = {{"a", DT_F32, 2, {2, 2}, a}, {"c", DT_BF16, 1, {2}, c}};
    StWriteTensor s2[] = {{"b", DT_F32, 1, {3}, b}};
    char *p1 = tmp("model-00001-of-00002.safetensors"), *p2 = tmp("model-00002-of-00002.safetensors");
    char *ix = tmp("model.safetensors.index.json");
    Error err;
    assert_int_equal(modex_st_write(p1, s1, 2, NULL, 0, &err), 0);
    assert_int_equal(modex_st_write(p2, s2, 1, NULL, 0, &err), 0);
    const char *good = "{\"metadata\":{\"total_size\":34},\"weight_map\":{\"a\":\"model-00001-of-00002.safetensors\","
                       "\"b\":\"model-00002-of-00002.safetensors\",\"c\":\"model-00001-of-00002.safetensors\"}}";
    write_bytes(ix, good, strlen(good));
    SafeTensors st = open_ok(ix);
    assert_int_equal(st.n_files, 2);
    assert_int_equal(st.n, 3);
    const TensorView *t = modex_st_find(&st, "b");
    assert_string_equal(t->file, p2);
    assert_memory_equal(t->data, b, sizeof b);
    t = modex_st_find(&st, "c");
    assert_string_equal(t->file, p1);
    float out[2];
    assert_int_equal(modex_tensor_to_f32(t, out), 0);
    assert_true(out[0] == 8 && out[1] == 9);
    assert_memory_equal(modex_st_find(&st, "a")->data, a, sizeof a);
    modex_st_close(&st);

    static const struct { const char *json, *want; } bad[] = {
        {"{\"weight_map\":{\"a\":\"model-00001-of-00002.safetensors\",\"z\":\"model-00001-of-00002.safetensors\"}}", "tensor 'z' listed in weight_map is in no shard"},
        {"{\"weight_map\":{\"a\":\"../model-00001-of-00002.safetensors\"}}", "a file name in the same folder"},
        {"{\"weight_map\":{\"a\":\"..\"}}", "a file name in the same folder"},
        {"{\"weight_map\":{\"a\":5}}", "is not a file name"},
        {"{\"weight_map\":[]}", "no \"weight_map\" object"},
        {"{\"weight_map\":{\"a\":\"x\",\"a\":\"y\"}}", "duplicate"},
        {"{\"weight_map\":{", "invalid JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        write_bytes(ix, bad[i].json, strlen(bad[i].json));
        expect_bad_path(ix, bad[i].want);
    }
    /* a missing shard: the error names the shard */
    const char *miss = "{\"weight_map\":{\"a\":\"missing.safetensors\"}}";
    write_bytes(ix, miss, strlen(miss));
    SafeTensors st3;
    assert_int_equal(modex_st_open(&st3, ix, &err), -1);
    assert_non_null(strstr(err.msg, "missing.safetensors: cannot open"));
    /* the same tensor in both shards */
    StWriteTensor s3[] = {{"b", DT_F32, 1, {3}, b}, {"a", DT_F32, 1, {1}, a}};
    assert_int_equal(modex_st_write(p2, s3, 2, NULL, 1, &err), 0);
    write_bytes(ix, good, strlen(good));
    expect_bad_path(ix, "tensor 'a' appears twice");
    /* a broken shard is named in the error */
    write_bytes(p2, "\xff\xff", 2);
    SafeTensors st2;
    assert_int_equal(modex_st_open(&st2, ix, &err), -1);
    assert_non_null(strstr(err.msg, p2));
    unlink(p1); unlink(p2); unlink(ix);
    free(p1); free(p2); free(ix);
}

// --- main -------------------------------------------------------------------------------

int main(void) {
    const char *f = getenv("FIXTURES");
    snprintf(fixtures, sizeof fixtures, "%s", f && *f ? f : "../shared/fixtures");
    snprintf(tmpdir, sizeof tmpdir, "/tmp/modex-test-st-XXXXXX");
    if (!mkdtemp(tmpdir)) { perror("mkdtemp"); return 1; }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures),          cmocka_unit_test(test_good_raw),
        cmocka_unit_test(test_bad_files),         cmocka_unit_test(test_writer_round_trip),
        cmocka_unit_test(test_sharded),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rmdir(tmpdir);
    return rc;
}
