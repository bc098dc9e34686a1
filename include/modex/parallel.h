/* parallel.h — modex's own small thread pool for attention and elementwise work. OpenBLAS
 * keeps its own threads for matrix products; modex_set_threads sets both. */
#ifndef MODEX_PARALLEL_H
#define MODEX_PARALLEL_H
#include <stdint.h>

typedef void (*ParallelFn)(void *ctx, int64_t begin, int64_t end, int thread);

void modex_set_threads(int n);   /* 0 = number of cores */
int  modex_threads(void);
/* OpenBLAS's thread count alone (0 = modex_threads()), for callers that run products on
 * several of their own threads at once: 1 while they do, 0 after. */
void modex_blas_threads(int n);
/* Splits [0, n) into chunks run on the pool (the caller's thread takes part). Safe to call
 * from several threads: calls are serialised. Falls back to serial for small n. */
void modex_parallel_for(int64_t n, int64_t min_chunk, ParallelFn fn, void *ctx);

#endif
