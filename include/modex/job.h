/* job.h — long work off the UI thread: one worker runs jobs from a FIFO queue, reports stage
 * and progress, can be cancelled, and publishes results as immutable reference-counted
 * snapshots. The UI polls modex_jobs_wake_fd() next to stdin and redraws from
 * modex_job_status() / modex_job_latest(). */
#ifndef MODEX_JOB_H
#define MODEX_JOB_H
#include "modex/error.h"

typedef struct JobQueue JobQueue; /* one worker thread; the worker blocks all signals */
typedef struct Job Job;

/* Returns 0 done, -1 failed (after modex_job_fail / modex_job_failf, else a generic
 * message), 1 cancelled. Runs on the worker thread. */
typedef int (*JobFn)(Job *job, void *arg);

typedef enum { JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_FAILED, JOB_CANCELLED } JobState;

typedef struct JobStatus {
    JobState state;
    char stage[64];
    int stage_index, stage_count; /* index from 0 to count-1, shown as "index+1/count";
                                   * count 0 = no stages (fraction = the progress alone) */
    double fraction;              /* overall 0..1 */
    double elapsed, eta;          /* seconds since the job started; eta < 0 = unknown */
    char error[1536];             /* for JOB_FAILED */
} JobStatus;

// --- the queue -------------------------------------------------------------------------------
JobQueue *modex_jobs_new(void);
void modex_jobs_free(JobQueue *q);     /* cancels everything, joins the worker */
int  modex_jobs_wake_fd(JobQueue *q);  /* readable when any job progressed/finished/published */
void modex_jobs_drain_wake(JobQueue *q);

// --- jobs, from the submitting thread ---------------------------------------------------------
/* Queues fn(job, arg). Returns a reference the caller must release. free_arg (may be NULL)
 * is called on arg when the last reference goes, so results left in arg stay readable. */
Job *modex_job_submit(JobQueue *q, const char *name, JobFn fn, void *arg, void (*free_arg)(void *));
void modex_job_release(Job *j);
void modex_job_cancel(Job *j);         /* sets the flag; a queued job finishes as cancelled, unrun */
int  modex_job_wait(Job *j);           /* blocks until finished; returns the JobState */
void modex_job_status(const Job *j, JobStatus *out);
const char *modex_job_name(const Job *j);
void *modex_job_arg(const Job *j);

// --- from the job function --------------------------------------------------------------------
int  modex_job_cancelled(const Job *j); /* check between batches; then return 1 */
void modex_job_stage(Job *j, const char *stage, int index, int count); /* ("extract", 1, 5) = 2nd of 5 */
void modex_job_progress(Job *j, double fraction_of_stage);            /* 0..1 */
/* The same three as callbacks whose context is the Job (AnalysisProgress, EmergenceProgress,
 * the perturber's cancel test). */
int  modex_job_cb_cancelled(void *job);
void modex_job_cb_stage(void *job, const char *stage, int index, int count);
void modex_job_cb_progress(void *job, double fraction_of_stage);
void modex_job_fail(Job *j, const Error *e);                          /* then return -1 */
void modex_job_failf(Job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// --- snapshots: immutable results, reference counted -------------------------------------------
typedef struct Snapshot Snapshot;
Snapshot *modex_snapshot_new(void *data, void (*free_data)(void *)); /* one reference */
void *modex_snapshot_data(const Snapshot *s);
Snapshot *modex_snapshot_retain(Snapshot *s);
void modex_snapshot_release(Snapshot *s);     /* NULL is fine */
void modex_job_publish(Job *j, Snapshot *s);  /* takes ownership of one reference */
Snapshot *modex_job_latest(Job *j);           /* retained (release it), or NULL */

/* For the CLI: waits for the job in the foreground, drawing a progress bar with ETA on stderr
 * when it is a terminal. SIGINT cancels the job (the CLI then exits 130, writing nothing).
 * Returns the final state. */
JobState modex_job_run_cli(JobQueue *q, Job *j);

/* "2:05" / "1:02:05" for a progress line; buf of 16 bytes at least. */
const char *modex_job_format_seconds(double s, char *buf, int n);
/* "NAME: STAGE 2/5 [######......]  45% 0:12, ETA 0:15" with a bar of width characters. */
const char *modex_job_format_line(const char *name, const JobStatus *st, int width, char *buf, int n);

#endif
