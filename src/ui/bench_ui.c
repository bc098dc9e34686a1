/* bench_ui.c — `modex bench` rows of the explorer: time from a key to the finished redraw
 * (canvas and curses output to /dev/null) while an analysis job runs, and from a mask toggle
 * to the updated perturbation numbers, on the sample model (else the e2e fixture model). */
#include <curses.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "modex/bench.h"
#include "modex/forward.h"
#include "modex/util.h"
#include "ui.h"

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(double *v, int n, double p) {
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    int k = (int)ceil(p * n) - 1;
    return v[k < 0 ? 0 : k >= n ? n - 1 : k];
}

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int bench_ui(FILE *out) {
    char mp[4096], pp[4096];
    int which = modex_session_default_paths(mp, pp, sizeof mp);
    if (which < 0) { fprintf(out, "| explorer | skipped: no sample model and no fixture model | | |\n"); return -1; }
    SessionOpts o;
    modex_session_opts_defaults(&o);
    o.model_path = mp;
    o.probe_path = pp;
    Session s;
    Error err = {0};
    if (modex_session_open(&s, &o, &err)) { fprintf(out, "| explorer | failed: %s | | |\n", err.msg); return -1; }
    App a;
    memset(&a, 0, sizeof a);
    a.s = &s;
    FILE *null_out = fopen("/dev/null", "w"), *null_in = fopen("/dev/null", "r");
    const char *term = getenv("TERM") && *getenv("TERM") ? getenv("TERM") : "xterm";
    int on_curses = null_out && null_in && ui_term_start_on(&a, term, null_out, null_in, 120, 40) == 0;
    if (!on_curses) ui_canvas_resize(&a.cv, 120, 40);
    const char *name = strrchr(mp, '/') ? strrchr(mp, '/') + 1 : mp;
    /* --- key → redraw while the analysis runs (restarted whenever it finishes) --- */
    enum { N = 600 };
    static const int keys[] = {'j', 'j', 'l', 'k', 'h', '\t', 'j', 'l', 'j', 's', '\t', 'j', 'G', 'g', KEY_BTAB, '\t', '\t', '\t'};
    double *t = modex_xmalloc(sizeof *t * N), *cpu = modex_xmalloc(sizeof *cpu * N);
    int busy = 0;
    ui_app_frame(&a);
    for (int i = 0; i < N; i++) {
        modex_session_poll(&s);
        if (!modex_session_busy(&s)) modex_session_restart_analysis(&s);
        else busy++;
        double t0 = modex_now(), c0 = cpu_now();
        ui_app_key(&a, keys[i % (int)(sizeof keys / sizeof *keys)]);
        ui_app_frame(&a);
        t[i] = modex_now() - t0;
        cpu[i] = cpu_now() - c0;
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL); /* let the worker progress between keys */
    }
    double med = pct(t, N, 0.5), p99 = pct(t, N, 0.99), cp99 = pct(cpu, N, 0.99);
    fprintf(out, "| explorer: key to finished redraw, 120x40 %s, analysis job running (%d of %d keys), %s | median %.2f ms, p99 %.2f ms (UI thread CPU p99 %.2f ms) | aim: p99 16 ms (one frame at 60 Hz) | %.2f |\n",
            on_curses ? "canvas + curses to /dev/null" : "canvas only", busy, N, name, med * 1e3, p99 * 1e3, cp99 * 1e3, p99 / 0.016);
    /* --- the same once the layers are done, a perturbation job running (masks toggled) --- */
    modex_session_wait(&s, 600);
    s.layer = s.model->cfg.n_layer - 1;
    s.gen++;
    static const int keys2[] = {'j', 'l', 'j', 's', 'G', 'g', '\t', 'j', ' ', 'j', 'l', 'h', '\t', 'j', 'k', 's', '\t', 'j', '\t'};
    int busy2 = 0;
    for (int i = 0; i < N; i++) {
        modex_session_poll(&s);
        busy2 += modex_session_busy(&s);
        double t0 = modex_now(), c0 = cpu_now();
        ui_app_key(&a, keys2[i % (int)(sizeof keys2 / sizeof *keys2)]);
        ui_app_frame(&a);
        t[i] = modex_now() - t0;
        cpu[i] = cpu_now() - c0;
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    med = pct(t, N, 0.5);
    p99 = pct(t, N, 0.99);
    cp99 = pct(cpu, N, 0.99);
    fprintf(out, "| explorer: key to finished redraw on analysed layers (%d neurons), masks toggled, perturbation running (%d of %d keys), %s | median %.2f ms, p99 %.2f ms (UI thread CPU p99 %.2f ms) | aim: p99 16 ms | %.2f |\n",
            modex_ffn_width(s.model), busy2, N, name, med * 1e3, p99 * 1e3, cp99 * 1e3, p99 / 0.016);
    free(t);
    free(cpu);
    /* --- mask toggle → updated numbers --- */
    modex_session_run(&s, CMD_CLEAR, NULL);
    modex_session_wait(&s, 600);
    s.view = VIEW_EXPERTS;
    s.layer = s.model->cfg.n_layer / 2;
    s.gen++;
    modex_session_run(&s, CMD_TOGGLE, NULL); /* first one pays the clean run */
    modex_session_wait(&s, 600);
    double upd[5], fin[5];
    int n = 0;
    for (int i = 0; i < 5; i++) {
        s.vs[VIEW_EXPERTS].cur = i + 1;
        modex_session_run(&s, CMD_TOGGLE, NULL);
        double t0 = s.t_toggle;
        while (s.t_updated == 0 && modex_now() - t0 < 600) {
            modex_session_poll(&s);
            struct timespec ts = {0, 500 * 1000};
            nanosleep(&ts, NULL);
        }
        if (s.t_updated == 0) break;
        upd[n] = s.t_updated - t0;
        modex_session_wait(&s, 600);
        fin[n++] = modex_now() - t0;
    }
    if (n > 0) {
        double mu = pct(upd, n, 0.5), mf = pct(fin, n, 0.5);
        fprintf(out, "| explorer: mask toggle (1 expert, layer %d of %d) to updated numbers, %s | median %.3f s (with %d random draws: %.3f s) | aim 1 s | %.2f |\n",
                s.layer, s.model->cfg.n_layer, name, mu, s.o.draws, mf, mu / 1.0);
    }
    if (on_curses) ui_term_end(&a);
    if (null_out) fclose(null_out);
    if (null_in) fclose(null_in);
    ui_canvas_free(&a.cv);
    modex_session_close(&s);
    return 0;
}
MODEX_BENCH(ui, bench_ui)
