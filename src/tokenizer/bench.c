/* bench.c — the tokenizer's bench row. */
#include "tok_internal.h"
int modex_bench_tokenizer(FILE *out) { (void)out; return -1; }
