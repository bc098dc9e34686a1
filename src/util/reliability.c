/* reliability.c — what keeps a run clean when the world misbehaves: temp files of unfinished
 * atomic writes are removed when a signal ends the process; a mapped file that shrinks
 * under us (SIGBUS) ends the process with one line naming it instead of a crash; memory is
 * checked before large allocations. */
#include "modex/util.h"
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

// --- temp files removed on SIGINT / SIGTERM / SIGHUP ------------------------------------------
/* Slots hold the temp names of open OutFiles; the handler may run at any moment, so a slot
 * is published only once its string is complete and cleared before the string is freed. */
enum { N_TMP = 64 };
static _Atomic(char *) tmp_live[N_TMP];
static const int fatal_signals[] = {SIGINT, SIGTERM, SIGHUP};

void modex_tmp_register(char *path) {
    for (int i = 0; i < N_TMP; i++) {
        char *expect = NULL;
        if (atomic_compare_exchange_strong(&tmp_live[i], &expect, path)) return;
    }
}

void modex_tmp_unregister(const char *path) {
    for (int i = 0; i < N_TMP; i++)
        if (atomic_load(&tmp_live[i]) == path) atomic_store(&tmp_live[i], NULL);
}

/* Files first, then folders (registered folders made for the output: removed if empty). */
static void remove_temps(void) {
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < N_TMP; i++) {
            char *p = atomic_load(&tmp_live[i]);
            if (p) (void)(pass ? rmdir(p) : unlink(p)); /* async-signal-safe */
        }
}

/* The handlers found at install (ncurses' terminal restore, when the explorer installs
 * after initscr): called after the temp files are gone. */
static struct sigaction fatal_prev[3];

static atomic_int sig_hold, sig_pending;

void modex_signals_hold(void) { atomic_fetch_add(&sig_hold, 1); }

void modex_signals_release(void) {
    if (atomic_fetch_sub(&sig_hold, 1) != 1) return;
    int s = atomic_exchange(&sig_pending, 0);
    if (s) raise(s); /* now handled as usual: the outputs are complete */
}

/* Removes the temp files, then hands over to the previous handler, or dies of the signal
 * itself (the shell sees 128+n). */
static void on_fatal(int sig) {
    /* Held: any thread may receive a process signal (OpenBLAS's and the pool's threads do not
     * block them), so blocking it in the writing thread alone is not enough. Noted, acted on
     * at release. */
    if (atomic_load(&sig_hold)) { atomic_store(&sig_pending, sig); return; }
    remove_temps();
    for (int i = 0; i < 3; i++) {
        if (fatal_signals[i] != sig) continue;
        const struct sigaction *p = &fatal_prev[i];
        if (p->sa_flags & SA_SIGINFO) { if (p->sa_sigaction) { p->sa_sigaction(sig, NULL, NULL); return; } }
        else if (p->sa_handler != SIG_DFL && p->sa_handler != SIG_IGN) { p->sa_handler(sig); return; }
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

// --- SIGBUS from a mapped file that shrank ----------------------------------------------------
typedef struct MapRec {
    const uint8_t *data;
    size_t size;
    char path[];
} MapRec;
enum { N_MAPS = 256 };
static _Atomic(MapRec *) maps_live[N_MAPS];

static void put_str(const char *s) {
    size_t n = strlen(s);
    while (n) {
        ssize_t w = write(2, s, n);
        if (w <= 0) return;
        s += w; n -= (size_t)w;
    }
}

static void (*_Atomic fatal_restore)(void);

void modex_fatal_restore_set(void (*fn)(void)) { atomic_store(&fatal_restore, fn); }

static void on_sigbus(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    void (*restore)(void) = atomic_exchange(&fatal_restore, NULL);
    if (restore) restore(); /* the terminal first, so that the line below is readable */
    const uint8_t *a = si->si_addr;
    for (int i = 0; i < N_MAPS; i++) {
        MapRec *r = atomic_load(&maps_live[i]);
        if (r && a >= r->data && a < r->data + r->size) {
            put_str("\nmodex: ");
            put_str(r->path);
            put_str(": the file shrank while modex was reading it (truncated or rewritten in place; "
                    "replace model files by renaming a new file over them)\n");
            remove_temps();
            _exit(2);
        }
    }
    /* not one of our maps: the default action (a crash report) is the honest outcome */
    signal(sig, SIG_DFL);
}

static void install_sigbus(void) {
    static atomic_int done;
    if (atomic_exchange(&done, 1)) return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, NULL);
}

void modex_map_register(const uint8_t *data, size_t size, const char *path) {
    install_sigbus();
    size_t n = strlen(path);
    MapRec *r = modex_xmalloc(sizeof *r + n + 1);
    r->data = data; r->size = size;
    memcpy(r->path, path, n + 1);
    for (int i = 0; i < N_MAPS; i++) {
        MapRec *expect = NULL;
        if (atomic_compare_exchange_strong(&maps_live[i], &expect, r)) return;
    }
    free(r); /* table full: still mapped, only unnamed in a SIGBUS report */
}

void modex_map_unregister(const uint8_t *data) {
    for (int i = 0; i < N_MAPS; i++) {
        MapRec *r = atomic_load(&maps_live[i]);
        if (r && r->data == data) {
            atomic_store(&maps_live[i], NULL);
            free(r);
            return;
        }
    }
}

size_t modex_map_copy_max(void) {
    const char *e = getenv("MODEX_MAP_COPY_MAX");
    if (e && *e) {
        char *end;
        unsigned long long v = strtoull(e, &end, 10);
        if (*end == 0) return (size_t)v;
    }
    return (size_t)64 << 20;
}

// --- signals ----------------------------------------------------------------------------------
void modex_signals_install(void) {
    for (size_t i = 0; i < sizeof fatal_signals / sizeof *fatal_signals; i++) {
        struct sigaction sa, old;
        if (sigaction(fatal_signals[i], NULL, &old) != 0) continue;
        if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_IGN) continue; /* nohup */
        if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler == on_fatal) continue; /* twice */
        fatal_prev[i] = old;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_fatal;
        sigemptyset(&sa.sa_mask);
        sigaction(fatal_signals[i], &sa, NULL);
    }
    install_sigbus();
}

// --- memory -----------------------------------------------------------------------------------
/* MemAvailable of /proc/meminfo (or free RAM), capped by what RLIMIT_AS still allows. */
size_t modex_mem_available(void) {
    size_t avail = SIZE_MAX;
    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        char line[256];
        unsigned long long kb;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) { avail = (size_t)kb * 1024; break; }
        fclose(f);
    }
    if (avail == SIZE_MAX) {
        long pages = sysconf(_SC_AVPHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
        if (pages > 0 && psz > 0) avail = (size_t)pages * (size_t)psz;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        size_t used = 0;
        FILE *s = fopen("/proc/self/statm", "r");
        unsigned long long pages;
        if (s && fscanf(s, "%llu", &pages) == 1) used = (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
        if (s) fclose(s);
        size_t left = rl.rlim_cur > used ? (size_t)rl.rlim_cur - used : 0;
        if (left < avail) avail = left;
    }
    return avail;
}

int modex_mem_check(size_t need, const char *file, const char *what, const char *hint, Error *err) {
    size_t avail = modex_mem_available();
    if (need <= avail) return 0;
    return modex_error(err, file, "%s needs %.1f MiB but only %.1f MiB of memory is available (%s)", what,
                       (double)need / 1048576.0, (double)avail / 1048576.0, hint);
}
