/* fuzz_tokjson.c — libFuzzer harness for tokenizer.json (Hugging Face tokenizers). */
#include "fuzz_tok.h"

static int fuzz_tokjson(const uint8_t *d, size_t n) {
    const char *p = fuzz_write("tokenizer.json", d, n, 0);
    return fuzz_tok_check(p, p);
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { fuzz_tokjson(d, n); return 0; }
#endif
