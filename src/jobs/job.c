/* job.c — one worker thread, a FIFO of jobs, progress, cancellation, snapshots (job.h).
 * One mutex per queue guards the list and every job's state: updates are rare next to the
 * work, and one lock keeps the ordering arguments simple. The queue is reference counted by
 * its owner and by every job alive, so a Job handle stays usable after modex_jobs_free. */
#include "modex/job.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "modex/util.h"

struct JobQueue {
    pthread_mutex_t mu;
    pthread_cond_t work;          /* worker: a job was queued, or stop */
    pthread_cond_t done;          /* waiters: some job finished */
    Job *head, *tail;             /* queued jobs, FIFO */
    Job *running;
    int stop, closed;
    int wake_rd, wake_wr, wake_pending;
    double last_progress_wake;
    pthread_t thread;
    atomic_int refs;              /* the owner + one per job alive */
};

struct Job {
    JobQueue *q;
    atomic_int refs;              /* the caller's + the queue's while queued or running */
    atomic_int cancel;
    char name[64];
    JobFn fn;
    void *arg;
    void (*free_arg)(void *);
    Job *next;
    /* under q->mu */
    JobState state;
    char stage[64];
    int stage_index, stage_count;
    double stage_frac, t_start, t_end;
    int has_error;
    char error[1536];
    Snapshot *latest;
};

struct Snapshot {
    atomic_int refs;
    void *data;
    void (*free_data)(void *);
};

#define PROGRESS_WAKE_INTERVAL 0.05 /* seconds: progress alone wakes the UI at most 20 times/s */

// --- snapshots --------------------------------------------------------------------------------

Snapshot *modex_snapshot_new(void *data, void (*free_data)(void *)) {
    Snapshot *s = modex_xmalloc(sizeof *s);
    atomic_init(&s->refs, 1);
    s->data = data, s->free_data = free_data;
    return s;
}

void *modex_snapshot_data(const Snapshot *s) { return s ? s->data : NULL; }

Snapshot *modex_snapshot_retain(Snapshot *s) {
    if (s) atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

void modex_snapshot_release(Snapshot *s) {
    if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1) return;
    if (s->free_data) s->free_data(s->data);
    free(s);
}

// --- queue internals --------------------------------------------------------------------------

/* With q->mu held. One pending byte at most: the reader drains, then sees the new state. */
static void wake_locked(JobQueue *q) {
    if (q->closed || q->wake_pending) return;
    ssize_t r;
    do r = write(q->wake_wr, "", 1); while (r < 0 && errno == EINTR);
    q->wake_pending = 1;
}

static void queue_release(JobQueue *q) {
    if (atomic_fetch_sub_explicit(&q->refs, 1, memory_order_acq_rel) != 1) return;
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->work);
    pthread_cond_destroy(&q->done);
    free(q);
}

static void job_destroy(Job *j) {
    if (j->free_arg) j->free_arg(j->arg);
    modex_snapshot_release(j->latest);
    JobQueue *q = j->q;
    free(j);
    queue_release(q);
}

static int job_unref(Job *j) { return atomic_fetch_sub_explicit(&j->refs, 1, memory_order_acq_rel) == 1; }

/* With q->mu held: records the end of a job (run or not). */
static void finish_locked(Job *j, JobState st) {
    JobQueue *q = j->q;
    j->state = st;
    j->t_end = modex_now();
    if (j->t_start == 0) j->t_start = j->t_end;
    if (st == JOB_FAILED && !j->has_error)
        snprintf(j->error, sizeof j->error, "job '%s' failed", j->name);
    pthread_cond_broadcast(&q->done);
    wake_locked(q);
}

static void *worker(void *arg) {
    JobQueue *q = arg;
    sigset_t all;
    sigfillset(&all);
    sigdelset(&all, SIGBUS); sigdelset(&all, SIGSEGV); sigdelset(&all, SIGFPE); sigdelset(&all, SIGILL);
    pthread_sigmask(SIG_BLOCK, &all, NULL); /* already inherited blocked; said again for clarity */
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (!q->head && !q->stop) pthread_cond_wait(&q->work, &q->mu);
        Job *j = q->head;
        if (!j) break;
        q->head = j->next;
        if (!q->head) q->tail = NULL;
        j->next = NULL;
        if (atomic_load(&j->cancel)) { /* cancelled while queued, before cancel() got the lock */
            finish_locked(j, JOB_CANCELLED);
        } else {
            j->state = JOB_RUNNING;
            j->t_start = modex_now();
            q->running = j;
            wake_locked(q);
            pthread_mutex_unlock(&q->mu);
            int rc = j->fn(j, j->arg);
            pthread_mutex_lock(&q->mu);
            q->running = NULL;
            if (rc != 0 && rc != -1 && rc != 1) {
                snprintf(j->error, sizeof j->error, "job '%s' returned %d", j->name, rc);
                j->has_error = 1;
            }
            finish_locked(j, rc == 0 ? JOB_DONE : rc == 1 ? JOB_CANCELLED : JOB_FAILED);
        }
        /* Drop the queue's reference before a waiter can wake: after modex_job_wait, the
         * caller's release is the last one and frees the arg at once. */
        int last = job_unref(j);
        pthread_mutex_unlock(&q->mu);
        if (last) job_destroy(j);
        pthread_mutex_lock(&q->mu);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

// --- the queue ----------------------------------------------------------------------------------

JobQueue *modex_jobs_new(void) {
    JobQueue *q = modex_xcalloc(1, sizeof *q);
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->work, NULL);
    pthread_cond_init(&q->done, NULL);
    atomic_init(&q->refs, 1);
    int fd[2];
    if (pipe2(fd, O_NONBLOCK | O_CLOEXEC) != 0) {
        fprintf(stderr, "modex: cannot create a pipe: %s\n", strerror(errno));
        abort();
    }
    q->wake_rd = fd[0], q->wake_wr = fd[1];
    /* The worker starts with every signal blocked, so SIGINT & co reach the UI thread. */
    sigset_t all, old;
    sigfillset(&all);
    /* but not the faults a bad memory access raises: blocked, they would kill the process
     * without running the handlers (the SIGBUS guard of a truncated mapped file) */
    sigdelset(&all, SIGBUS); sigdelset(&all, SIGSEGV); sigdelset(&all, SIGFPE); sigdelset(&all, SIGILL);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&q->thread, NULL, worker, q);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        fprintf(stderr, "modex: cannot start the worker thread: %s\n", strerror(rc));
        abort();
    }
    return q;
}

void modex_jobs_free(JobQueue *q) {
    if (!q) return;
    pthread_mutex_lock(&q->mu);
    q->stop = 1;
    Job *dead = NULL; /* queued jobs whose only reference was the queue's */
    while (q->head) {
        Job *j = q->head;
        q->head = j->next;
        j->next = NULL;
        atomic_store(&j->cancel, 1);
        finish_locked(j, JOB_CANCELLED);
        if (job_unref(j)) j->next = dead, dead = j;
    }
    q->tail = NULL;
    if (q->running) atomic_store(&q->running->cancel, 1);
    pthread_cond_broadcast(&q->work);
    pthread_mutex_unlock(&q->mu);
    while (dead) {
        Job *next = dead->next;
        job_destroy(dead);
        dead = next;
    }
    pthread_join(q->thread, NULL);
    pthread_mutex_lock(&q->mu);
    q->closed = 1;
    close(q->wake_rd), close(q->wake_wr);
    pthread_mutex_unlock(&q->mu);
    queue_release(q);
}

int modex_jobs_wake_fd(JobQueue *q) { return q->wake_rd; }

void modex_jobs_drain_wake(JobQueue *q) {
    pthread_mutex_lock(&q->mu);
    char buf[64];
    while (read(q->wake_rd, buf, sizeof buf) > 0) {}
    q->wake_pending = 0;
    pthread_mutex_unlock(&q->mu);
}

// --- jobs -----------------------------------------------------------------------------------------

Job *modex_job_submit(JobQueue *q, const char *name, JobFn fn, void *arg, void (*free_arg)(void *)) {
    Job *j = modex_xcalloc(1, sizeof *j);
    j->q = q;
    atomic_init(&j->refs, 2);
    atomic_init(&j->cancel, 0);
    snprintf(j->name, sizeof j->name, "%s", name ? name : "job");
    j->fn = fn, j->arg = arg, j->free_arg = free_arg;
    j->state = JOB_QUEUED;
    j->stage_index = j->stage_count = 0;
    atomic_fetch_add(&q->refs, 1);
    pthread_mutex_lock(&q->mu);
    if (q->stop) { /* the queue is shutting down: never runs */
        atomic_store(&j->cancel, 1);
        finish_locked(j, JOB_CANCELLED);
        job_unref(j);
        pthread_mutex_unlock(&q->mu);
        return j;
    }
    if (q->tail) q->tail->next = j; else q->head = j;
    q->tail = j;
    pthread_cond_signal(&q->work);
    wake_locked(q);
    pthread_mutex_unlock(&q->mu);
    return j;
}

void modex_job_release(Job *j) {
    if (j && job_unref(j)) job_destroy(j);
}

void modex_job_cancel(Job *j) {
    JobQueue *q = j->q;
    atomic_store(&j->cancel, 1);
    pthread_mutex_lock(&q->mu);
    if (j->state == JOB_QUEUED) { /* take it out now: waiting on it must not wait for others */
        Job **pp = &q->head, *prev = NULL;
        while (*pp && *pp != j) prev = *pp, pp = &(*pp)->next;
        if (*pp) {
            *pp = j->next;
            if (q->tail == j) q->tail = prev;
            j->next = NULL;
            finish_locked(j, JOB_CANCELLED);
            job_unref(j); /* the queue's reference; never the last: the caller holds one */
        }
    }
    pthread_mutex_unlock(&q->mu);
}

int modex_job_cancelled(const Job *j) { return atomic_load_explicit(&j->cancel, memory_order_relaxed); }

int modex_job_wait(Job *j) {
    JobQueue *q = j->q;
    pthread_mutex_lock(&q->mu);
    while (j->state == JOB_QUEUED || j->state == JOB_RUNNING) pthread_cond_wait(&q->done, &q->mu);
    JobState st = j->state;
    pthread_mutex_unlock(&q->mu);
    return st;
}

const char *modex_job_name(const Job *j) { return j->name; }
void *modex_job_arg(const Job *j) { return j->arg; }

void modex_job_status(const Job *j, JobStatus *out) {
    JobQueue *q = j->q;
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&q->mu);
    out->state = j->state;
    memcpy(out->stage, j->stage, sizeof out->stage);
    out->stage_index = j->stage_index, out->stage_count = j->stage_count;
    double f = j->stage_frac;
    if (j->stage_count > 0) {
        int i = j->stage_index < 0 ? 0 : j->stage_index >= j->stage_count ? j->stage_count - 1 : j->stage_index;
        f = (i + f) / j->stage_count;
    }
    if (j->state == JOB_DONE) f = 1;
    out->fraction = f < 0 ? 0 : f > 1 ? 1 : f;
    int finished = j->state >= JOB_DONE;
    out->elapsed = j->state == JOB_QUEUED ? 0 : (finished ? j->t_end : modex_now()) - j->t_start;
    if (finished) out->eta = 0;
    else if (j->state == JOB_RUNNING && out->fraction > 0 && out->elapsed > 0)
        out->eta = out->elapsed * (1 - out->fraction) / out->fraction;
    else out->eta = -1;
    if (j->state == JOB_FAILED) memcpy(out->error, j->error, sizeof out->error);
    pthread_mutex_unlock(&q->mu);
}

// --- from the job function --------------------------------------------------------------------

void modex_job_stage(Job *j, const char *stage, int index, int count) {
    JobQueue *q = j->q;
    pthread_mutex_lock(&q->mu);
    snprintf(j->stage, sizeof j->stage, "%s", stage ? stage : "");
    j->stage_index = index, j->stage_count = count;
    j->stage_frac = 0;
    wake_locked(q);
    pthread_mutex_unlock(&q->mu);
}

void modex_job_progress(Job *j, double fraction) {
    JobQueue *q = j->q;
    if (!(fraction >= 0)) fraction = 0; /* NaN too */
    if (fraction > 1) fraction = 1;
    double now = modex_now();
    pthread_mutex_lock(&q->mu);
    j->stage_frac = fraction;
    if (now - q->last_progress_wake >= PROGRESS_WAKE_INTERVAL) {
        q->last_progress_wake = now;
        wake_locked(q);
    }
    pthread_mutex_unlock(&q->mu);
}

void modex_job_fail(Job *j, const Error *e) {
    modex_job_failf(j, "%s", e && e->msg[0] ? e->msg : "unknown error");
}

void modex_job_failf(Job *j, const char *fmt, ...) {
    JobQueue *q = j->q;
    pthread_mutex_lock(&q->mu);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->error, sizeof j->error, fmt, ap);
    va_end(ap);
    j->has_error = 1;
    pthread_mutex_unlock(&q->mu);
}

void modex_job_publish(Job *j, Snapshot *s) {
    JobQueue *q = j->q;
    pthread_mutex_lock(&q->mu);
    Snapshot *old = j->latest;
    j->latest = s;
    wake_locked(q);
    pthread_mutex_unlock(&q->mu);
    modex_snapshot_release(old); /* may free: outside the lock */
}

Snapshot *modex_job_latest(Job *j) {
    JobQueue *q = j->q;
    pthread_mutex_lock(&q->mu);
    Snapshot *s = modex_snapshot_retain(j->latest);
    pthread_mutex_unlock(&q->mu);
    return s;
}

// --- foreground run for the CLI ----------------------------------------------------------------

static volatile sig_atomic_t got_sigint;
static void on_sigint(int sig) { (void)sig; got_sigint = 1; }

const char *modex_job_format_seconds(double s, char *buf, int n) {
    if (!(s >= 0)) { snprintf(buf, (size_t)n, "?"); return buf; }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, (size_t)n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, (size_t)n, "%ld:%02ld", t / 60, t % 60);
    return buf;
}

const char *modex_job_format_line(const char *name, const JobStatus *st, int width, char *buf, int n) {
    char el[24], eta[24], stage[96] = "", bar[64];
    if (st->stage[0] && st->stage_count > 0)
        snprintf(stage, sizeof stage, " %s %d/%d", st->stage, st->stage_index + 1, st->stage_count);
    else if (st->stage[0]) snprintf(stage, sizeof stage, " %s", st->stage);
    if (width < 1) width = 1;
    if (width > (int)sizeof bar - 1) width = (int)sizeof bar - 1;
    int filled = (int)(st->fraction * width + 0.5);
    for (int i = 0; i < width; i++) bar[i] = i < filled ? '#' : '.';
    bar[width] = 0;
    snprintf(buf, (size_t)n, "%s:%s [%s] %3.0f%% %s, ETA %s", name, stage, bar, st->fraction * 100,
             modex_job_format_seconds(st->elapsed, el, sizeof el),
             st->eta < 0 ? "?" : modex_job_format_seconds(st->eta, eta, sizeof eta));
    return buf;
}

static void draw_bar(const Job *j, const JobStatus *st, int cancelling) {
    struct winsize ws;
    int cols = ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : 80;
    char line[512];
    modex_job_format_line(j->name, st, 24, line, sizeof line);
    if (cancelling) snprintf(strrchr(line, ']') + 1, 16, " cancelling...");
    if (cols > 1 && (int)strlen(line) >= cols) line[cols - 1] = 0;
    fprintf(stderr, "\r\033[K%s", line);
    fflush(stderr);
}

JobState modex_job_run_cli(JobQueue *q, Job *j) {
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask); /* no SA_RESTART: poll() returns at once on ^C */
    got_sigint = 0;
    sigaction(SIGINT, &sa, &old);
    int tty = isatty(2), drawn = 0, cancelling = 0;
    double last_draw = 0;
    JobStatus st;
    for (;;) {
        modex_job_status(j, &st);
        if (st.state >= JOB_DONE) break;
        if (got_sigint && !cancelling) {
            modex_job_cancel(j);
            cancelling = 1;
            sigaction(SIGINT, &old, NULL); /* a second ^C is not ignored if the job hangs */
        }
        double now = modex_now();
        if (tty && (now - last_draw >= 0.1 || cancelling == 1)) {
            draw_bar(j, &st, cancelling);
            drawn = 1, last_draw = now;
            if (cancelling) cancelling = 2;
        }
        struct pollfd pfd = {.fd = modex_jobs_wake_fd(q), .events = POLLIN};
        if (poll(&pfd, 1, 100) > 0) modex_jobs_drain_wake(q);
    }
    if (drawn) { fprintf(stderr, "\r\033[K"); fflush(stderr); }
    if (!cancelling) sigaction(SIGINT, &old, NULL);
    return got_sigint ? JOB_CANCELLED : st.state;
}

int modex_job_cb_cancelled(void *job) { return modex_job_cancelled(job); }
void modex_job_cb_stage(void *job, const char *stage, int index, int count) { modex_job_stage(job, stage, index, count); }
void modex_job_cb_progress(void *job, double fraction) { modex_job_progress(job, fraction); }
