/* test_reliability.c — faults the process must survive or end cleanly from, each in a
 * forked child so that the signal or limit stays there: a mapped file truncated under us
 * (SIGBUS → one line naming it, exit 2), a small file truncated after open (copied: still
 * readable), SIGTERM during an atomic write (no temp file left, exit by the signal), and
 * the memory check under RLIMIT_AS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "modex/job.h"
#include "modex/util.h"

static char dir[64];

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/modex-rel-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}
static int teardown(void **state) {
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static char *make_file(const char *name, size_t n) {
    char *p = modex_path_join(dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++) fputc((int)(i * 7 & 255), f);
    fclose(f);
    return p;
}

/* Runs fn in a child with stderr to a file; returns the wait status, stderr in buf. */
static int in_child(void (*fn)(const char *), const char *arg, char *buf, size_t n) {
    char *log = modex_path_join(dir, "child.err");
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen(log, "w", stderr)) _exit(99);
        fn(arg);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    FILE *f = fopen(log, "r");
    size_t k = f ? fread(buf, 1, n - 1, f) : 0;
    buf[k] = 0;
    if (f) fclose(f);
    free(log);
    return st;
}

static void child_truncate_mapped(const char *path) {
    setenv("MODEX_MAP_COPY_MAX", "0", 1); /* map, whatever the size */
    modex_signals_install();
    MappedFile m;
    if (modex_map_file(&m, path, NULL)) _exit(98);
    if (truncate(path, 0)) _exit(97);
    volatile uint8_t x = m.data[m.size - 1]; /* SIGBUS */
    (void)x;
    _exit(0);
}

static void test_sigbus_names_file(void **state) {
    (void)state;
    char *p = make_file("big.bin", 1 << 20), buf[2048];
    int st = in_child(child_truncate_mapped, p, buf, sizeof buf);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 2);
    assert_non_null(strstr(buf, p));
    assert_non_null(strstr(buf, "modex: "));
    assert_non_null(strstr(buf, "shrank"));
    free(p);
}

/* The same in a job on the worker thread (which blocks the other signals). */
static int job_truncate_mapped(Job *j, void *arg) {
    (void)j;
    child_truncate_mapped(arg);
    return 0;
}
static void child_truncate_in_job(const char *path) {
    JobQueue *q = modex_jobs_new();
    Job *j = modex_job_submit(q, "truncate", job_truncate_mapped, (void *)path, NULL);
    modex_job_wait(j);
    _exit(0); /* not reached: the worker exits 2 */
}

static void test_sigbus_in_job_names_file(void **state) {
    (void)state;
    char *p = make_file("big2.bin", 1 << 20), buf[2048];
    int st = in_child(child_truncate_in_job, p, buf, sizeof buf);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 2);
    assert_non_null(strstr(buf, p));
    assert_non_null(strstr(buf, "shrank"));
    free(p);
}

static void test_small_file_is_copied(void **state) {
    (void)state;
    char *p = make_file("small.bin", 100000);
    MappedFile m;
    Error err = {{0}};
    assert_int_equal(modex_map_file(&m, p, &err), 0);
    assert_true(m.size <= modex_map_copy_max());
    assert_int_equal(truncate(p, 0), 0);
    unsigned sum = 0, want = 0;
    for (size_t i = 0; i < m.size; i++) { sum += m.data[i]; want += (unsigned)(i * 7 & 255); }
    assert_int_equal(sum, want); /* read after the truncation: the copy is intact */
    modex_unmap_file(&m);
    free(p);
}

static void child_term_while_writing(const char *path) {
    modex_signals_install();
    OutFile o;
    if (modex_out_open(&o, path, 0, NULL)) _exit(98);
    fputs("half a file", o.f);
    fflush(o.f);
    raise(SIGTERM);
    _exit(0); /* not reached */
}

static int count_entries(void) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "child.err");
    closedir(d);
    return n;
}

static void test_sigterm_removes_temp(void **state) {
    (void)state;
    char *p = modex_path_join(dir, "out.csv"), buf[256];
    int before = count_entries();
    int st = in_child(child_term_while_writing, p, buf, sizeof buf);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGTERM);
    assert_false(modex_file_exists(p));
    assert_int_equal(count_entries(), before); /* no out.csv.XXXXXX */
    free(p);
}

/* A signal that lands while a multi-file output is being renamed into place waits until the
 * release, whichever thread receives it (a thread that does not block it, like OpenBLAS's,
 * stands in here): analyze once left 3 of its 6 files when ^C reached such a thread. */
static int go[2];
static void *other_thread_signal(void *arg) { /* started before the writer blocks SIGINT */
    (void)arg;
    char c;
    if (read(go[0], &c, 1) != 1) return NULL;
    kill(getpid(), SIGINT); /* process-directed, like ^C */
    return NULL;
}

static void child_int_while_held(const char *path) {
    modex_signals_install();
    if (pipe(go)) _exit(95);
    pthread_t th;
    pthread_create(&th, NULL, other_thread_signal, NULL);
    OutFile a, b;
    char *pb = modex_path_join(dir, "second.csv");
    if (modex_out_open(&a, path, 0, NULL) || modex_out_open(&b, pb, 0, NULL)) _exit(98);
    fputs("first", a.f);
    fputs("second", b.f);
    sigset_t block, old;
    sigemptyset(&block); /* this thread blocks it, as analyze's writer did; the other does not */
    sigaddset(&block, SIGINT);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    modex_signals_hold();
    if (modex_out_commit(&a, NULL)) _exit(97);
    if (write(go[1], "x", 1) != 1) _exit(94);
    pthread_join(th, NULL);
    usleep(50 * 1000);
    if (modex_out_commit(&b, NULL)) _exit(96); /* still alive: the second file goes in too */
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    modex_signals_release(); /* now the ^C ends the process */
    _exit(0);
}

static void test_signal_held_during_renames(void **state) {
    (void)state;
    char *p = modex_path_join(dir, "first.csv"), *pb = modex_path_join(dir, "second.csv"), buf[256];
    int before = count_entries();
    int st = in_child(child_int_while_held, p, buf, sizeof buf);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGINT);
    assert_true(modex_file_exists(p));
    assert_true(modex_file_exists(pb)); /* both, not one */
    assert_int_equal(count_entries(), before + 2); /* no temp files */
    remove(p); remove(pb);
    free(p); free(pb);
}

/* A handler installed before (ncurses' terminal restore) runs after the temp files go. */
static const char *chained_mark;
static void previous_handler(int sig) {
    FILE *f = fopen(chained_mark, "w");
    if (f) { fprintf(f, "%d", sig); fclose(f); }
    _exit(7);
}

static void child_term_chained(const char *path) {
    signal(SIGTERM, previous_handler);
    modex_signals_install();
    OutFile o;
    if (modex_out_open(&o, path, 0, NULL)) _exit(98);
    fputs("half a file", o.f);
    fflush(o.f);
    raise(SIGTERM);
    _exit(0);
}

static void test_sigterm_chains_previous_handler(void **state) {
    (void)state;
    char *p = modex_path_join(dir, "out2.csv"), buf[256];
    char *mark = modex_path_join(dir, "mark");
    chained_mark = mark;
    int before = count_entries();
    int st = in_child(child_term_chained, p, buf, sizeof buf);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 7);
    assert_true(modex_file_exists(mark));
    assert_false(modex_file_exists(p));
    assert_int_equal(count_entries(), before + 1); /* the mark only: no out2.csv.XXXXXX */
    free(p); free(mark);
}

static void child_mem_limit(const char *arg) {
    (void)arg;
    struct rlimit rl;
    long pages = 0;
    FILE *s = fopen("/proc/self/statm", "r");
    if (!s || fscanf(s, "%ld", &pages) != 1) _exit(90);
    fclose(s);
    rl.rlim_cur = rl.rlim_max = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + ((rlim_t)256 << 20);
    if (setrlimit(RLIMIT_AS, &rl)) _exit(91);
    size_t avail = modex_mem_available();
    if (avail > ((size_t)256 << 20) || avail < ((size_t)200 << 20)) _exit(92);
    Error err = {{0}};
    if (modex_mem_check((size_t)64 << 20, "p.csv", "the activation store", "fewer layers", &err) != 0) _exit(93);
    if (modex_mem_check((size_t)1 << 30, "p.csv", "the activation store", "fewer layers", &err) != -1) _exit(94);
    fprintf(stderr, "%s\n", err.msg);
    fflush(stderr);
    _exit(0);
}

static void test_memory_check(void **state) {
    (void)state;
    char buf[2048];
    int st = in_child(child_mem_limit, NULL, buf, sizeof buf);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    if (!strstr(buf, "p.csv: the activation store needs 1024.0 MiB but only ")) fail_msg("child said: %s", buf);
    assert_non_null(strstr(buf, "(fewer layers)"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigbus_names_file),
        cmocka_unit_test(test_sigbus_in_job_names_file),
        cmocka_unit_test(test_small_file_is_copied),
        cmocka_unit_test(test_sigterm_removes_temp),
        cmocka_unit_test(test_sigterm_chains_previous_handler),
        cmocka_unit_test(test_signal_held_during_renames),
        cmocka_unit_test(test_memory_check),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
