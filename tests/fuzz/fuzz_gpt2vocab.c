/* fuzz_gpt2vocab.c — libFuzzer harness for GPT-2's vocab.json + merges.txt. The input is
 * vocab.json, a NUL byte, then merges.txt (JSON text holds no raw NUL; no NUL: empty merges). */
#include "fuzz_tok.h"

static int fuzz_gpt2vocab(const uint8_t *d, size_t n) {
    const uint8_t *z = memchr(d, 0, n);
    size_t nv = z ? (size_t)(z - d) : n;
    const char *v = fuzz_write("vocab.json", d, nv, 0);
    fuzz_write("merges.txt", z ? z + 1 : d, z ? n - nv - 1 : 0, 1);
    return fuzz_tok_check(v, fuzz_folder());
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { fuzz_gpt2vocab(d, n); return 0; }
#endif
