/* test_tsan_analysis.c — the analysis as a job, for ThreadSanitizer (`make check-tsan`) and
 * as a normal test: cancelled in the middle, restarted while running (cancel + resubmit, as
 * the explorer does), and its snapshots read by this thread while the worker publishes.
 * Every layer a snapshot marks done must equal, bit for bit, the same analysis run directly
 * on this thread (the job path adds no arithmetic of its own). Fixture: probe-e2e. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>
#include <time.h>
#include "modex/analysis.h"
#include "modex/job.h"
#include "modex/util.h"
#include "reference.h"

#define E2E FIX "probe-e2e/"

typedef struct World {
    Probe p;
    Model *m;
    Tokenizer *t;
    AnalysisOpts o;
    Analysis ref;
    JobQueue *q;
} World;

static int setup(void **state) {
    World *w = calloc(1, sizeof *w);
    Error err = {{0}};
    if (modex_probe_load(&w->p, E2E "probe.csv", &err)) { printf("%s\n", err.msg); return -1; }
    if (!(w->m = modex_model_open(E2E "model", &err)) || !(w->t = modex_tok_load(E2E "model", &err))) {
        printf("%s\n", err.msg);
        return -1;
    }
    modex_analysis_defaults(&w->o);
    w->o.expert_size = 32;
    w->o.shuffles = 20;
    w->o.batch_tokens = 16; /* many batches: many cancellation points during extraction */
    if (modex_analysis_run(&w->ref, w->m, w->t, &w->p, &w->o, NULL, &err)) { printf("%s\n", err.msg); return -1; }
    w->q = modex_jobs_new();
    *state = w;
    return 0;
}

static int teardown(void **state) {
    World *w = *state;
    modex_jobs_free(w->q);
    modex_analysis_free(&w->ref);
    modex_tok_free(w->t);
    modex_model_free(w->m);
    modex_probe_free(&w->p);
    free(w);
    return 0;
}

/* A snapshot's done layers hold the reference's numbers; returns its n_done. */
static int check_snapshot(const World *w, Snapshot *s) {
    const AnalysisSnap *as = modex_snapshot_data(s);
    int n = 0, S = w->p.n_subs;
    assert_int_equal(as->n_wanted, w->m->cfg.n_layer);
    for (int l = 0; l < w->m->cfg.n_layer; l++) {
        if (!as->done[l]) continue;
        const LayerResult *got = &as->a->layers[l], *want = &w->ref.layers[l];
        assert_int_equal(got->done, 1);
        assert_memory_equal(got->pred, want->pred, sizeof(float) * (size_t)S * got->width);
        assert_memory_equal(got->assign, want->assign, sizeof(int) * (size_t)got->width);
        assert_memory_equal(got->best_sub, want->best_sub, sizeof(float) * (size_t)S);
        n++;
    }
    assert_int_equal(n, as->n_done);
    if (as->finished) assert_int_equal(n, as->n_wanted);
    return n;
}

static void wait_stage(Job *j, const char *stage, double min_fraction) {
    JobStatus st;
    for (;;) {
        modex_job_status(j, &st);
        if (st.state >= JOB_DONE || (!strcmp(st.stage, stage) && st.fraction >= min_fraction)) return;
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
}

/* Cancelled during the forward passes: ends cancelled, publishes nothing. */
static void test_cancel_during_extract(void **state) {
    World *w = *state;
    Job *j = modex_analysis_submit(w->q, w->m, w->t, &w->p, &w->o);
    wait_stage(j, "extract", 0.1);
    modex_job_cancel(j);
    assert_int_equal(modex_job_wait(j), JOB_CANCELLED);
    assert_null(modex_job_latest(j));
    modex_job_release(j);
}

/* Snapshot reads while the worker publishes; then a cancel once some layer is out: whatever
 * was published stays readable and exact after the job ends (and after its release). */
static void test_snapshots_while_publishing(void **state) {
    World *w = *state;
    Job *j = modex_analysis_submit(w->q, w->m, w->t, &w->p, &w->o);
    Snapshot *kept = NULL;
    int last = 0, reads = 0;
    JobStatus st;
    do {
        modex_job_status(j, &st);
        Snapshot *s = modex_job_latest(j);
        if (s) {
            int n = check_snapshot(w, s);
            assert_true(n >= last); /* snapshots only grow */
            last = n;
            reads++;
            if (!kept) kept = modex_snapshot_retain(s);
            modex_snapshot_release(s);
        }
    } while (st.state < JOB_DONE);
    assert_int_equal(st.state, JOB_DONE);
    assert_true(reads > 0);
    Snapshot *fin = modex_job_latest(j);
    assert_non_null(fin);
    assert_int_equal(((const AnalysisSnap *)modex_snapshot_data(fin))->finished, 1);
    assert_int_equal(check_snapshot(w, fin), w->m->cfg.n_layer);
    modex_snapshot_release(fin);
    modex_job_release(j);
    assert_true(check_snapshot(w, kept) >= 1); /* outlives the job */
    modex_snapshot_release(kept);
}

/* Restart while running: the first job is cancelled in the statistics stage and a second
 * one queued behind it at once; the second completes with the reference's numbers, and the
 * first's last snapshot (if any) still holds exact layers. */
static void test_restart_while_running(void **state) {
    World *w = *state;
    Job *a = modex_analysis_submit(w->q, w->m, w->t, &w->p, &w->o);
    wait_stage(a, "statistics", 0.0);
    modex_job_cancel(a);
    Job *b = modex_analysis_submit(w->q, w->m, w->t, &w->p, &w->o);
    int sa = modex_job_wait(a);
    assert_true(sa == JOB_CANCELLED || sa == JOB_DONE);
    Snapshot *s = modex_job_latest(a);
    if (s) check_snapshot(w, s);
    modex_snapshot_release(s);
    modex_job_release(a);
    assert_int_equal(modex_job_wait(b), JOB_DONE);
    s = modex_job_latest(b);
    assert_non_null(s);
    assert_int_equal(check_snapshot(w, s), w->m->cfg.n_layer);
    modex_snapshot_release(s);
    modex_job_release(b);
}

/* Freeing the queue with a job running cancels and joins it. */
static void test_free_queue_while_running(void **state) {
    World *w = *state;
    JobQueue *q = modex_jobs_new();
    Job *j = modex_analysis_submit(q, w->m, w->t, &w->p, &w->o);
    wait_stage(j, "extract", 0.05);
    modex_jobs_free(q);
    JobStatus st;
    modex_job_status(j, &st);
    assert_true(st.state == JOB_CANCELLED || st.state == JOB_DONE);
    modex_job_release(j);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cancel_during_extract),
        cmocka_unit_test(test_snapshots_while_publishing),
        cmocka_unit_test(test_restart_while_running),
        cmocka_unit_test(test_free_queue_while_running),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
