/* fuzz_spm.c — libFuzzer harness for SentencePiece's tokenizer.model (protobuf). */
#include "fuzz_tok.h"

static int fuzz_spm(const uint8_t *d, size_t n) {
    const char *p = fuzz_write("tokenizer.model", d, n, 0);
    return fuzz_tok_check(p, p);
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { fuzz_spm(d, n); return 0; }
#endif
