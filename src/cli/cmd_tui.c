/* cmd_tui.c — `modex [MODEL [PROBE.csv]]`: the explorer, on a terminal or from a script. */
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "modex/cli.h"
#include "modex/parallel.h"
#include "modex/session.h"
#include "modex/util.h"
#include "../ui/ui.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: modex [MODEL [PROBE.csv]] [options]\n"
            "       modex tui [MODEL [PROBE.csv]] [options]\n\n"
            "Opens the explorer: layers, experts (heatmap), neurons and perturbation views of MODEL\n"
            "analysed on PROBE.csv in the background. Without MODEL: the bundled sample model and its\n"
            "probe set (sample_models/), else the e2e fixture model with assets/probes/english.csv.\n\n"
            "options:\n"
            "  --no-mouse             do not take the mouse\n"
            "  --no-color             monochrome (also when NO_COLOR is set)\n"
            "  --script FILE          run the commands of FILE without a terminal, then exit\n"
            "  --batch                the same with commands on stdin\n"
            "  --dump-screen FILE     after the script, write the screen as text to FILE\n"
            "  --size WxH             screen size for --script/--batch (default 120x40)\n"
            "  --list-keys            print the key list of modex(1) and exit\n"
            "  --experts E            experts per layer (default: d_ff / expert size)\n"
            "  --expert-size S        neurons per expert (default 32)\n"
            "  --split param|coact    how neurons become experts (default param)\n"
            "  --agg max|mean|last|span   example activation over its tokens (default max)\n"
            "  --random-init SEED     also analyse a random-init copy (baseline)\n"
            "  --seed N               seed of k-means, partitions and perturbation draws\n"
            "  --mode zero|mean|shuffle   perturbation mode (default zero)\n"
            "  --draws N              random draws of the perturbation baseline (default 8)\n"
            "  --tokenizer PATH       tokenizer (default: found beside the model)\n"
            "  --threads N            threads for BLAS and modex (default: all cores)\n"
            "Keys and commands: press ? in the explorer, or see modex(1).\n");
}

static int cmd_tui(int argc, char **argv) {
    SessionOpts o;
    modex_session_opts_defaults(&o);
    const char *script = NULL, *dump = NULL;
    int batch = 0, mouse = 1, color = 1, threads = 0, W = 120, H = 40;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (modex_is_help(a)) { usage(stdout); return 0; }
        else if (!strcmp(a, "--list-keys")) { modex_keys_man(stdout); return 0; }
        else if (!strcmp(a, "--no-mouse")) mouse = 0;
        else if (!strcmp(a, "--no-color")) color = 0;
        else if (!strcmp(a, "--batch")) batch = 1;
        else if (!strcmp(a, "--script") && more) script = argv[++i];
        else if (!strcmp(a, "--dump-screen") && more) dump = argv[++i];
        else if (!strcmp(a, "--size") && more) {
            if (sscanf(argv[++i], "%dx%d", &W, &H) != 2 || W < 1 || H < 1 || W > 1000 || H > 1000) {
                fprintf(stderr, "modex: --size: '%s' (WIDTHxHEIGHT, e.g. 120x40)\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(a, "--experts") && more) o.analysis.n_experts = atoi(argv[++i]);
        else if (!strcmp(a, "--expert-size") && more) o.analysis.expert_size = atoi(argv[++i]);
        else if (!strcmp(a, "--split") && more) {
            if (modex_split_parse(argv[++i], &o.analysis.split) || o.analysis.split == SPLIT_NATIVE) { fprintf(stderr, "modex: --split: '%s' (param or coact)\n", argv[i]); return 2; }
        } else if (!strcmp(a, "--agg") && more) {
            if (modex_agg_parse(argv[++i], &o.analysis.agg)) { fprintf(stderr, "modex: --agg: '%s' (max, mean, last or span)\n", argv[i]); return 2; }
        } else if (!strcmp(a, "--mode") && more) {
            if (modex_perturb_mode_parse(argv[++i], &o.mode)) { fprintf(stderr, "modex: --mode: '%s' (zero, mean or shuffle)\n", argv[i]); return 2; }
        } else if (!strcmp(a, "--random-init") && more) { o.analysis.random_init = 1; o.analysis.random_seed = strtoull(argv[++i], NULL, 10); }
        else if (!strcmp(a, "--seed") && more) { o.analysis.seed = strtoull(argv[++i], NULL, 10); o.seed = o.analysis.seed; }
        else if (!strcmp(a, "--draws") && more) o.draws = atoi(argv[++i]);
        else if (!strcmp(a, "--tokenizer") && more) o.tok_path = argv[++i];
        else if (!strcmp(a, "--threads") && more) threads = atoi(argv[++i]);
        else if (a[0] != '-' && !o.model_path) o.model_path = a;
        else if (a[0] != '-' && !o.probe_path) o.probe_path = a;
        else { fprintf(stderr, "modex: unknown argument '%s' (see modex --help)\n", a); return 2; }
    }
    if (o.draws < 0 || o.draws > 1000) { fprintf(stderr, "modex: --draws: %d (0..1000)\n", o.draws); return 2; }
    if (getenv("NO_COLOR") && getenv("NO_COLOR")[0]) color = 0;
    char sm[PATH_MAX], sp[PATH_MAX];
    if (!o.model_path) {
        if (modex_session_default_paths(sm, sp, sizeof sm) >= 0) { o.model_path = sm; o.probe_path = sp; }
        else {
            fprintf(stderr, "modex: no model given and no sample model found (sample_models/NAME/config.json); usage: modex MODEL [PROBE.csv]\n");
            return 2;
        }
    }
    if (!o.probe_path) o.probe_path = "assets/probes/english.csv";
    int interactive = !script && !batch;
    if (interactive && (!isatty(0) || !isatty(1))) {
        fprintf(stderr, "modex: the explorer needs a terminal (or --script FILE / --batch)\n");
        return 2;
    }
    FILE *in = NULL;
    if (script) {
        in = fopen(script, "r");
        if (!in) { fprintf(stderr, "modex: %s: cannot open (a readable script of commands)\n", script); return 2; }
    }
    setlocale(LC_ALL, "");
    modex_set_threads(threads);
    Session s;
    Error err = {0};
    if (modex_session_open(&s, &o, &err)) {
        modex_error_print(&err);
        if (in) fclose(in);
        return 2;
    }
    App app;
    memset(&app, 0, sizeof app);
    app.s = &s;
    app.mouse = mouse;
    app.color = color;
    int rc = 0;
    if (interactive) {
        if (ui_term_start(&app)) { fprintf(stderr, "modex: cannot start the terminal (TERM=%s)\n", getenv("TERM") ? getenv("TERM") : ""); rc = 2; }
        else {
            rc = ui_app_run(&app);
            ui_term_end(&app);
        }
    } else {
        ui_canvas_resize(&app.cv, W, H);
        rc = ui_app_script(&app, in ? in : stdin, script ? script : "stdin", 1);
        if (rc == 0 && dump) {
            char line[PATH_MAX + 8];
            snprintf(line, sizeof line, "dump %s", dump);
            if (ui_app_exec(&app, line) & SESS_ERROR) { fprintf(stderr, "modex: %s\n", s.msg); rc = 2; }
        }
    }
    if (in) fclose(in);
    ui_canvas_free(&app.cv);
    modex_session_close(&s);
    return rc;
}
MODEX_COMMAND(tui, "the explorer (also: modex [MODEL [PROBE.csv]])", cmd_tui)
