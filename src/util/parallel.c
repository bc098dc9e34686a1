/* parallel.c — a fixed pool of worker threads for parallel_for; OpenBLAS shares the count. */
#include "modex/parallel.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#include <cblas.h>

#define MAX_THREADS 64
static pthread_mutex_t call_lock = PTHREAD_MUTEX_INITIALIZER; /* one parallel_for at a time */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv_work = PTHREAD_COND_INITIALIZER, cv_done = PTHREAD_COND_INITIALIZER;
static int n_threads = 0, n_started = 0;
static pthread_t workers[MAX_THREADS];
static unsigned long generation;
static int active;            /* workers still busy with the current generation */
static ParallelFn cur_fn;
static void *cur_ctx;
static int64_t cur_n, cur_chunk;
static atomic_llong next_idx;

static void run_chunks(int thread) {
    for (;;) {
        int64_t b = atomic_fetch_add(&next_idx, cur_chunk);
        if (b >= cur_n) break;
        int64_t e = b + cur_chunk < cur_n ? b + cur_chunk : cur_n;
        cur_fn(cur_ctx, b, e, thread);
    }
}

static void *worker(void *arg) {
    int id = (int)(intptr_t)arg;
    unsigned long seen = 0;
    pthread_mutex_lock(&mu);
    for (;;) {
        while (generation == seen) pthread_cond_wait(&cv_work, &mu);
        seen = generation;
        pthread_mutex_unlock(&mu);
        run_chunks(id);
        pthread_mutex_lock(&mu);
        if (--active == 0) pthread_cond_signal(&cv_done);
    }
    return NULL;
}

void modex_set_threads(int n) {
    if (n <= 0) n = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
    if (n > MAX_THREADS) n = MAX_THREADS;
    pthread_mutex_lock(&call_lock);
    n_threads = n;
    pthread_mutex_lock(&mu);
    while (n_started < n - 1) {
        /* workers block signals so that the UI thread gets them */
        if (pthread_create(&workers[n_started], NULL, worker, (void *)(intptr_t)(n_started + 1)) != 0) break;
        pthread_detach(workers[n_started]);
        n_started++;
    }
    pthread_mutex_unlock(&mu);
    pthread_mutex_unlock(&call_lock);
    modex_blas_threads(n);
}

void modex_blas_threads(int n) {
    if (n <= 0) n = modex_threads();
#ifdef __SANITIZE_THREAD__
    /* OpenBLAS's threads are not instrumented: ThreadSanitizer would take its internal
     * synchronisation for races. One BLAS thread; modex's own pool stays checked. */
    n = 1;
#endif
    openblas_set_num_threads(n);
}

int modex_threads(void) {
    if (n_threads == 0) modex_set_threads(0);
    return n_threads;
}

void modex_parallel_for(int64_t n, int64_t min_chunk, ParallelFn fn, void *ctx) {
    if (n <= 0) return;
    int t = modex_threads();
    if (min_chunk < 1) min_chunk = 1;
    if (t <= 1 || n <= min_chunk) { fn(ctx, 0, n, 0); return; }
    pthread_mutex_lock(&call_lock);
    int use = t - 1 < n_started ? t - 1 : n_started; /* helpers besides the caller */
    int64_t chunk = n / ((int64_t)(use + 1) * 4);
    if (chunk < min_chunk) chunk = min_chunk;
    pthread_mutex_lock(&mu);
    cur_fn = fn; cur_ctx = ctx; cur_n = n; cur_chunk = chunk;
    atomic_store(&next_idx, 0);
    active = n_started;
    generation++;
    pthread_cond_broadcast(&cv_work);
    pthread_mutex_unlock(&mu);
    run_chunks(0);
    pthread_mutex_lock(&mu);
    while (active > 0) pthread_cond_wait(&cv_done, &mu);
    pthread_mutex_unlock(&mu);
    pthread_mutex_unlock(&call_lock);
}
