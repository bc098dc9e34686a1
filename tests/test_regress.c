/* test_regress.c — every input that once crashed a parser (found by the fuzzers in
 * tests/fuzz/) is kept in tests/regress/ as TARGET--WHAT[.ext], where TARGET names the
 * harness (fuzz_TARGET.c). Each is run through that harness's checks (which abort on a
 * crash, an out-of-bounds result or a malformed message) and must end in a clean error,
 * or, when WHAT starts with "ok-", load. */
#define FUZZ_NO_MAIN
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "fuzz/fuzz_common.h"
#include "fuzz/fuzz_tok.h"
#include "fuzz/fuzz_config.c"
#include "fuzz/fuzz_gguf.c"
#include "fuzz/fuzz_gpt2vocab.c"
#include "fuzz/fuzz_probe.c"
#include "fuzz/fuzz_safetensors.c"
#include "fuzz/fuzz_spm.c"
#include "fuzz/fuzz_stindex.c"
#include "fuzz/fuzz_tokgguf.c"
#include "fuzz/fuzz_tokjson.c"
#include "fuzz/fuzz_wordnet.c"
#include "modex/util.h"

static const struct { const char *name; int (*fn)(const uint8_t *, size_t); } harness[] = {
    {"config", fuzz_config}, {"gguf", fuzz_gguf}, {"gpt2vocab", fuzz_gpt2vocab}, {"probe", fuzz_probe},
    {"safetensors", fuzz_safetensors}, {"spm", fuzz_spm}, {"stindex", fuzz_stindex},
    {"tokgguf", fuzz_tokgguf}, {"tokjson", fuzz_tokjson}, {"wordnet", fuzz_wordnet},
};

static void test_regressions(void **state) {
    (void)state;
    DIR *d = opendir("tests/regress");
    assert_non_null(d);
    struct dirent *e;
    int ran = 0;
    while ((e = readdir(d))) {
        const char *sep = strstr(e->d_name, "--");
        if (!sep) continue;
        size_t tl = (size_t)(sep - e->d_name);
        int (*fn)(const uint8_t *, size_t) = NULL;
        for (size_t i = 0; i < sizeof harness / sizeof *harness; i++)
            if (strlen(harness[i].name) == tl && !strncmp(harness[i].name, e->d_name, tl)) fn = harness[i].fn;
        if (!fn) fail_msg("tests/regress/%s: no harness of that name", e->d_name);
        char path[512];
        snprintf(path, sizeof path, "tests/regress/%s", e->d_name);
        Error err = {{0}};
        size_t n = 0;
        char *data = modex_read_text(path, &n, &err);
        assert_non_null(data);
        int loaded = fn((const uint8_t *)data, n);
        int want = strncmp(sep + 2, "ok-", 3) == 0;
        if (loaded != want) fail_msg("tests/regress/%s: %s (expected %s)", e->d_name, loaded ? "loaded" : "refused",
                                     want ? "to load" : "a clean error");
        free(data);
        ran++;
    }
    closedir(d);
    assert_true(ran > 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_regressions)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
