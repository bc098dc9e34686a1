/* test_job.c — the job queue: order, stages/progress/ETA, cancellation (running and queued),
 * failures, the wake fd, snapshots read while published, the CLI runner and SIGINT.
 * Also run under ThreadSanitizer by `make check-tsan`. No timing assertions beyond
 * "at least the time slept". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "modex/job.h"
#include "modex/util.h"

// --- a gate the test opens step by step --------------------------------------------------------

typedef struct Gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int opened, reached;   /* how many steps the test allowed / the job reached */
} Gate;

static void gate_init(Gate *g) {
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->opened = g->reached = 0;
}
static void gate_destroy(Gate *g) { pthread_mutex_destroy(&g->mu); pthread_cond_destroy(&g->cv); }

/* Job side: announce step k reached, wait until the test opens it. */
static void gate_pass(Gate *g, int k) {
    pthread_mutex_lock(&g->mu);
    g->reached = k;
    pthread_cond_broadcast(&g->cv);
    while (g->opened < k) pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}
/* Test side: wait until the job reached step k. */
static void gate_await(Gate *g, int k) {
    pthread_mutex_lock(&g->mu);
    while (g->reached < k) pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}
static void gate_open(Gate *g, int k) {
    pthread_mutex_lock(&g->mu);
    g->opened = k;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static void sleep_ms(int ms) { usleep((useconds_t)ms * 1000); }

// --- order ------------------------------------------------------------------------------------

typedef struct OrderArg { Gate *gate; int index; int *log; int *n; } OrderArg;

static int order_job(Job *j, void *arg) {
    (void)j;
    OrderArg *a = arg;
    if (a->gate) gate_pass(a->gate, 1);
    a->log[(*a->n)++] = a->index; /* one worker: no two jobs run at once */
    return 0;
}

static atomic_int args_freed;
static void free_counted(void *p) { free(p); atomic_fetch_add(&args_freed, 1); }

static void test_order(void **state) {
    (void)state;
    Gate g;
    gate_init(&g);
    int log[8], n = 0;
    JobQueue *q = modex_jobs_new();
    Job *jobs[6];
    atomic_store(&args_freed, 0);
    for (int i = 0; i < 6; i++) {
        OrderArg *a = malloc(sizeof *a);
        *a = (OrderArg){i == 0 ? &g : NULL, i, log, &n};
        jobs[i] = modex_job_submit(q, "order", order_job, a, free_counted);
    }
    gate_await(&g, 1); /* the first runs and holds the worker: the rest must be queued */
    JobStatus st;
    modex_job_status(jobs[0], &st);
    assert_int_equal(st.state, JOB_RUNNING);
    for (int i = 1; i < 6; i++) {
        modex_job_status(jobs[i], &st);
        assert_int_equal(st.state, JOB_QUEUED);
        assert_true(st.elapsed == 0 && st.eta < 0);
    }
    gate_open(&g, 1);
    for (int i = 0; i < 6; i++) assert_int_equal(modex_job_wait(jobs[i]), JOB_DONE);
    assert_int_equal(n, 6);
    for (int i = 0; i < 6; i++) assert_int_equal(log[i], i);
    assert_string_equal(modex_job_name(jobs[0]), "order");
    assert_int_equal(((OrderArg *)modex_job_arg(jobs[3]))->index, 3); /* arg lives until release */
    assert_int_equal(atomic_load(&args_freed), 0);
    for (int i = 0; i < 6; i++) modex_job_release(jobs[i]);
    assert_int_equal(atomic_load(&args_freed), 6);
    modex_jobs_free(q);
    gate_destroy(&g);
}

// --- stages, progress, ETA -----------------------------------------------------------------------

static int stage_job(Job *j, void *arg) {
    Gate *g = arg;
    modex_job_stage(j, "load", 0, 2);
    modex_job_progress(j, 0.5);
    gate_pass(g, 1);
    modex_job_stage(j, "extract", 1, 2);
    gate_pass(g, 2);
    modex_job_progress(j, 0.5);
    gate_pass(g, 3);
    modex_job_progress(j, 7.0); /* clamped */
    gate_pass(g, 4);
    return 0;
}

static void check_eta(const JobStatus *st) {
    assert_true(st->elapsed > 0);
    double want = st->elapsed * (1 - st->fraction) / st->fraction;
    assert_true(fabs(st->eta - want) <= 1e-9 * (1 + want));
}

static void test_progress(void **state) {
    (void)state;
    Gate g;
    gate_init(&g);
    JobQueue *q = modex_jobs_new();
    Job *j = modex_job_submit(q, "stages", stage_job, &g, NULL);
    JobStatus st;

    gate_await(&g, 1);
    sleep_ms(20);
    modex_job_status(j, &st);
    assert_int_equal(st.state, JOB_RUNNING);
    assert_string_equal(st.stage, "load");
    assert_int_equal(st.stage_index, 0);
    assert_int_equal(st.stage_count, 2);
    assert_true(fabs(st.fraction - 0.25) < 1e-12);    /* half of stage 1 of 2 */
    assert_true(st.elapsed >= 0.019);
    check_eta(&st);                                   /* = 3 x elapsed */
    assert_true(st.eta >= 3 * 0.019);
    gate_open(&g, 1);

    gate_await(&g, 2);
    modex_job_status(j, &st);
    assert_string_equal(st.stage, "extract");
    assert_int_equal(st.stage_index, 1);
    assert_true(fabs(st.fraction - 0.5) < 1e-12);     /* a new stage starts at 0 */
    check_eta(&st);
    gate_open(&g, 2);

    gate_await(&g, 3);
    modex_job_status(j, &st);
    assert_true(fabs(st.fraction - 0.75) < 1e-12);
    check_eta(&st);
    gate_open(&g, 3);

    gate_await(&g, 4);
    modex_job_status(j, &st);
    assert_true(fabs(st.fraction - 1.0) < 1e-12);
    assert_true(st.eta == 0);
    gate_open(&g, 4);

    assert_int_equal(modex_job_wait(j), JOB_DONE);
    modex_job_status(j, &st);
    assert_int_equal(st.state, JOB_DONE);
    assert_true(st.fraction == 1 && st.eta == 0);
    double e1 = st.elapsed;
    assert_true(e1 >= 0.019);
    sleep_ms(5);
    modex_job_status(j, &st);
    assert_true(st.elapsed == e1); /* frozen once finished */
    assert_string_equal(st.error, "");
    modex_job_release(j);
    modex_jobs_free(q);
    gate_destroy(&g);
}

// --- cancellation ---------------------------------------------------------------------------------

typedef struct LoopArg { Gate gate; atomic_int iterations; atomic_int ran; } LoopArg;

static int loop_job(Job *j, void *arg) {
    LoopArg *a = arg;
    atomic_store(&a->ran, 1);
    gate_pass(&a->gate, 1);
    for (int i = 0; i < 20000; i++) { /* 20 s at most: the test would time out, not hang */
        if (modex_job_cancelled(j)) return 1;
        atomic_fetch_add(&a->iterations, 1);
        sleep_ms(1);
    }
    return 0;
}

static void test_cancel_running(void **state) {
    (void)state;
    LoopArg a = {.iterations = 0, .ran = 0};
    gate_init(&a.gate);
    gate_open(&a.gate, 1);
    JobQueue *q = modex_jobs_new();
    Job *j = modex_job_submit(q, "loop", loop_job, &a, NULL);
    gate_await(&a.gate, 1);
    sleep_ms(10);
    assert_int_equal(modex_job_cancelled(j), 0);
    modex_job_cancel(j);
    assert_int_equal(modex_job_wait(j), JOB_CANCELLED);
    int it = atomic_load(&a.iterations);
    assert_true(it >= 1);
    sleep_ms(10);
    assert_int_equal(atomic_load(&a.iterations), it); /* it really stopped */
    JobStatus st;
    modex_job_status(j, &st);
    assert_int_equal(st.state, JOB_CANCELLED);
    assert_true(st.eta == 0);
    modex_job_release(j);
    modex_jobs_free(q);
    gate_destroy(&a.gate);
}

static void test_cancel_queued(void **state) {
    (void)state;
    LoopArg blocker = {.iterations = 0, .ran = 0}, queued = {.iterations = 0, .ran = 0};
    gate_init(&blocker.gate);
    gate_init(&queued.gate);
    gate_open(&queued.gate, 1);
    JobQueue *q = modex_jobs_new();
    Job *a = modex_job_submit(q, "blocker", loop_job, &blocker, NULL);
    Job *b = modex_job_submit(q, "queued", loop_job, &queued, NULL);
    gate_await(&blocker.gate, 1); /* a is running, held at its gate; b is queued */
    modex_job_cancel(b);
    /* b finishes at once, although the worker is still busy with a. */
    assert_int_equal(modex_job_wait(b), JOB_CANCELLED);
    JobStatus st;
    modex_job_status(a, &st);
    assert_int_equal(st.state, JOB_RUNNING);
    gate_open(&blocker.gate, 1);
    modex_job_cancel(a);
    assert_int_equal(modex_job_wait(a), JOB_CANCELLED);
    /* A job submitted after b still runs: the queue is intact. */
    LoopArg c = {.iterations = 0, .ran = 0};
    gate_init(&c.gate);
    gate_open(&c.gate, 1);
    Job *cj = modex_job_submit(q, "after", loop_job, &c, NULL);
    gate_await(&c.gate, 1);
    modex_job_cancel(cj);
    assert_int_equal(modex_job_wait(cj), JOB_CANCELLED);
    assert_int_equal(atomic_load(&queued.ran), 0); /* never ran */
    assert_int_equal(atomic_load(&c.ran), 1);
    modex_job_release(a), modex_job_release(b), modex_job_release(cj);
    modex_jobs_free(q);
    gate_destroy(&blocker.gate), gate_destroy(&queued.gate), gate_destroy(&c.gate);
}

/* Freeing the queue cancels the running job and the queued ones; handles outlive it. */
static void test_free_cancels(void **state) {
    (void)state;
    LoopArg run = {.iterations = 0, .ran = 0}, wait1 = {.iterations = 0, .ran = 0};
    gate_init(&run.gate), gate_init(&wait1.gate);
    gate_open(&run.gate, 1), gate_open(&wait1.gate, 1);
    atomic_store(&args_freed, 0);
    JobQueue *q = modex_jobs_new();
    Job *a = modex_job_submit(q, "run", loop_job, &run, NULL);
    Job *b = modex_job_submit(q, "wait", loop_job, &wait1, NULL);
    Job *c = modex_job_submit(q, "owned", order_job, calloc(1, sizeof(OrderArg)), free_counted);
    gate_await(&run.gate, 1);
    modex_jobs_free(q);
    JobStatus st;
    modex_job_status(a, &st);
    assert_int_equal(st.state, JOB_CANCELLED);
    assert_int_equal(modex_job_wait(b), JOB_CANCELLED);
    assert_int_equal(modex_job_wait(c), JOB_CANCELLED);
    assert_int_equal(atomic_load(&wait1.ran), 0);
    modex_job_cancel(a); /* harmless after the end */
    modex_job_release(a), modex_job_release(b);
    assert_int_equal(atomic_load(&args_freed), 0);
    modex_job_release(c);
    assert_int_equal(atomic_load(&args_freed), 1);
    gate_destroy(&run.gate), gate_destroy(&wait1.gate);
}

// --- failures ------------------------------------------------------------------------------------

static int fail_fmt(Job *j, void *arg) { (void)arg; modex_job_failf(j, "bad value %d", 3); return -1; }
static int fail_err(Job *j, void *arg) {
    (void)arg;
    Error e;
    modex_error_line(&e, "probe.csv", 14, 22, "label 'yes' (expected 1 or 0)");
    modex_job_fail(j, &e);
    return -1;
}
static int fail_bare(Job *j, void *arg) { (void)j, (void)arg; return -1; }
static int fail_odd(Job *j, void *arg) { (void)j, (void)arg; return 7; }

static void test_failure(void **state) {
    (void)state;
    JobQueue *q = modex_jobs_new();
    struct { JobFn fn; const char *msg; } cases[] = {
        {fail_fmt, "bad value 3"},
        {fail_err, "probe.csv:14:22: label 'yes' (expected 1 or 0)"},
        {fail_bare, "job 'f' failed"},
        {fail_odd, "job 'f' returned 7"},
    };
    for (int i = 0; i < 4; i++) {
        Job *j = modex_job_submit(q, "f", cases[i].fn, NULL, NULL);
        assert_int_equal(modex_job_wait(j), JOB_FAILED);
        JobStatus st;
        modex_job_status(j, &st);
        assert_int_equal(st.state, JOB_FAILED);
        assert_string_equal(st.error, cases[i].msg);
        modex_job_release(j);
    }
    modex_jobs_free(q);
}

// --- the wake fd -------------------------------------------------------------------------------

static int readable(int fd, int ms) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

static void free_int(void *p) { free(p); }

static int publish_one(Job *j, void *arg) {
    Gate *g = arg;
    gate_pass(g, 1);
    int *v = malloc(sizeof *v);
    *v = 42;
    modex_job_publish(j, modex_snapshot_new(v, free_int));
    gate_pass(g, 2);
    return 0;
}

static void test_wake_fd(void **state) {
    (void)state;
    Gate g;
    gate_init(&g);
    JobQueue *q = modex_jobs_new();
    int fd = modex_jobs_wake_fd(q);
    assert_true(fd >= 0);
    assert_false(readable(fd, 0));
    Job *j = modex_job_submit(q, "pub", publish_one, &g, NULL);
    gate_await(&g, 1);
    assert_true(readable(fd, 5000)); /* queued / started */
    modex_jobs_drain_wake(q);
    assert_false(readable(fd, 0));
    gate_open(&g, 1);
    gate_await(&g, 2);
    assert_true(readable(fd, 5000)); /* published */
    modex_jobs_drain_wake(q);
    assert_false(readable(fd, 0));
    Snapshot *s = modex_job_latest(j);
    assert_non_null(s);
    assert_int_equal(*(int *)modex_snapshot_data(s), 42);
    modex_snapshot_release(s);
    gate_open(&g, 2);
    assert_int_equal(modex_job_wait(j), JOB_DONE);
    assert_true(readable(fd, 5000)); /* finished */
    modex_jobs_drain_wake(q);
    assert_false(readable(fd, 0));
    modex_job_release(j);
    modex_jobs_free(q);
    gate_destroy(&g);
}

// --- snapshots under concurrent readers ------------------------------------------------------

#define SNAP_N 3000
#define SNAP_W 64
typedef struct SnapData { int gen; int vals[SNAP_W]; } SnapData;
static atomic_int snaps_freed;
static void free_snap(void *p) {
    SnapData *d = p;
    for (int i = 0; i < SNAP_W; i++) d->vals[i] = -1; /* a reader of freed data would see it */
    free(d);
    atomic_fetch_add(&snaps_freed, 1);
}

static int publisher(Job *j, void *arg) {
    (void)arg;
    for (int g = 0; g < SNAP_N; g++) {
        SnapData *d = malloc(sizeof *d);
        d->gen = g;
        for (int i = 0; i < SNAP_W; i++) d->vals[i] = g * 7 + i;
        modex_job_publish(j, modex_snapshot_new(d, free_snap));
        modex_job_progress(j, (g + 1.0) / SNAP_N);
        if (g % 64 == 0) sched_yield();
    }
    return 0;
}

typedef struct Reader { Job *job; int reads, last_gen, bad; Snapshot *kept; } Reader;

static void *reader_thread(void *arg) {
    Reader *r = arg;
    r->last_gen = -1;
    for (;;) {
        JobStatus st;
        modex_job_status(r->job, &st);
        Snapshot *s = modex_job_latest(r->job);
        if (s) {
            const SnapData *d = modex_snapshot_data(s);
            if (d->gen < r->last_gen) r->bad++; /* never goes back */
            for (int i = 0; i < SNAP_W; i++) if (d->vals[i] != d->gen * 7 + i) r->bad++;
            r->last_gen = d->gen;
            r->reads++;
            if (!r->kept && d->gen >= 10) r->kept = modex_snapshot_retain(s); /* hold one */
            modex_snapshot_release(s);
        }
        if (st.state >= JOB_DONE) break;
    }
    return NULL;
}

static void test_snapshots(void **state) {
    (void)state;
    atomic_store(&snaps_freed, 0);
    JobQueue *q = modex_jobs_new();
    Job *j = modex_job_submit(q, "snap", publisher, NULL, NULL);
    Reader r[2] = {{.job = j}, {.job = j}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, reader_thread, &r[i]);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    assert_int_equal(modex_job_wait(j), JOB_DONE);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(r[i].bad, 0);
        assert_true(r[i].reads > 0);
        assert_int_equal(r[i].last_gen, SNAP_N - 1); /* read after DONE: the last one */
    }
    /* All but the latest and the ones the readers kept are gone. */
    int kept = 0;
    for (int i = 0; i < 2; i++) {
        const Snapshot *k = r[i].kept;
        if (k && (i == 0 || k != r[0].kept) && ((SnapData *)modex_snapshot_data(k))->gen != SNAP_N - 1) kept++;
    }
    assert_int_equal(atomic_load(&snaps_freed), SNAP_N - 1 - kept);
    for (int i = 0; i < 2; i++) {
        if (!r[i].kept) continue;
        const SnapData *d = modex_snapshot_data(r[i].kept);
        for (int k = 0; k < SNAP_W; k++) assert_int_equal(d->vals[k], d->gen * 7 + k);
        modex_snapshot_release(r[i].kept);
    }
    Snapshot *last = modex_job_latest(j);
    assert_int_equal(((SnapData *)modex_snapshot_data(last))->gen, SNAP_N - 1);
    modex_job_release(j);
    assert_int_equal(atomic_load(&snaps_freed), SNAP_N - 1); /* ours keeps the last alive */
    modex_snapshot_release(last);
    assert_int_equal(atomic_load(&snaps_freed), SNAP_N);
    modex_jobs_free(q);
}

// --- the CLI runner, SIGINT, the worker's signal mask -----------------------------------------

static int quick_job(Job *j, void *arg) {
    int *blocked = arg;
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    *blocked = sigismember(&cur, SIGINT) && sigismember(&cur, SIGTERM) && sigismember(&cur, SIGWINCH);
    modex_job_stage(j, "one", 0, 1);
    modex_job_progress(j, 1);
    return 0;
}

static int interrupted_job(Job *j, void *arg) {
    (void)arg;
    for (int i = 0; i < 20000; i++) { /* wait until the runner has its handler in place */
        struct sigaction cur;
        sigaction(SIGINT, NULL, &cur);
        if (cur.sa_handler != SIG_DFL) break;
        sleep_ms(1);
    }
    kill(getpid(), SIGINT); /* the worker blocks it: the runner's thread takes it */
    for (int i = 0; i < 20000; i++) {
        if (modex_job_cancelled(j)) return 1;
        sleep_ms(1);
    }
    return 0;
}

static void test_run_cli(void **state) {
    (void)state;
    JobQueue *q = modex_jobs_new();
    int blocked = 0;
    Job *j = modex_job_submit(q, "quick", quick_job, &blocked, NULL);
    assert_int_equal(modex_job_run_cli(q, j), JOB_DONE);
    assert_int_equal(blocked, 1);
    modex_job_release(j);

    struct sigaction before, after;
    sigaction(SIGINT, NULL, &before);
    j = modex_job_submit(q, "interrupted", interrupted_job, NULL, NULL);
    assert_int_equal(modex_job_run_cli(q, j), JOB_CANCELLED);
    JobStatus st;
    modex_job_status(j, &st);
    assert_int_equal(st.state, JOB_CANCELLED); /* the job saw the flag and stopped */
    sigaction(SIGINT, NULL, &after);
    assert_true(after.sa_handler == before.sa_handler); /* handler restored */
    modex_job_release(j);
    modex_jobs_free(q);

    char buf[16];
    assert_string_equal(modex_job_format_seconds(0, buf, sizeof buf), "0:00");
    assert_string_equal(modex_job_format_seconds(125.4, buf, sizeof buf), "2:05");
    assert_string_equal(modex_job_format_seconds(3725, buf, sizeof buf), "1:02:05");
    assert_string_equal(modex_job_format_seconds(-1, buf, sizeof buf), "?");
    JobStatus js = {.state = JOB_RUNNING, .stage = "extract", .stage_index = 1, .stage_count = 4,
                    .fraction = 0.375, .elapsed = 12.2, .eta = 20.3};
    char line[128];
    assert_string_equal(modex_job_format_line("analysis", &js, 8, line, sizeof line),
                        "analysis: extract 2/4 [###.....]  38% 0:12, ETA 0:20");
    js.stage[0] = 0, js.stage_count = 0, js.fraction = 0, js.eta = -1;
    assert_string_equal(modex_job_format_line("x", &js, 4, line, sizeof line), "x: [....]   0% 0:12, ETA ?");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_progress),
        cmocka_unit_test(test_cancel_running),
        cmocka_unit_test(test_cancel_queued),
        cmocka_unit_test(test_free_cancels),
        cmocka_unit_test(test_failure),
        cmocka_unit_test(test_wake_fd),
        cmocka_unit_test(test_snapshots),
        cmocka_unit_test(test_run_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
