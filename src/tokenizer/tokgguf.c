/* tokgguf.c — tokenizer.ggml.* from GGUF metadata (pending the GGUF reader). */
#include "tok_internal.h"
Tokenizer *tok_load_gguf(const char *path, Error *err) {
    modex_error(err, path, "GGUF tokenizers are not available yet (expected tokenizer.json or tokenizer.model)");
    return NULL;
}
