/* fuzz_tokgguf.c — libFuzzer harness for the vocabulary in GGUF metadata (tokenizer.ggml.*). */
#include "fuzz_tok.h"

static int fuzz_tokgguf(const uint8_t *d, size_t n) {
    const char *p = fuzz_write("vocab.gguf", d, n, 0);
    return fuzz_tok_check(p, p);
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { fuzz_tokgguf(d, n); return 0; }
#endif
