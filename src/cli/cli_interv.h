/* cli_interv.h — helpers shared by the intervention commands (perturb, routing, emergence,
 * taskneurons): the output folder, one CSV written atomically, layer-set labels. */
#ifndef MODEX_CLI_INTERV_H
#define MODEX_CLI_INTERV_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "modex/csvout.h"
#include "modex/util.h"

/* Creates dir if missing and refuses existing outputs (unless force); 0 ok, else message + 2. */
static inline int interv_out_check(const char *dir, const char *const *names, int n, int force) {
    if (!modex_path_is_dir(dir) && mkdir(dir, 0755) != 0) {
        fprintf(stderr, "modex: %s: cannot create the output folder (a writable path)\n", dir);
        return 2;
    }
    for (int i = 0; i < n && !force; i++) {
        char *p = modex_path_join(dir, names[i]);
        int ex = modex_file_exists(p);
        if (ex) fprintf(stderr, "modex: %s: already exists (another folder, or --force to overwrite)\n", p);
        free(p);
        if (ex) return 2;
    }
    return 0;
}

/* "0-2,5" from a 0/1 layer mask (into buf). */
static inline const char *interv_layer_label(const unsigned char *on, int n, char *buf, size_t cap) {
    size_t o = 0;
    buf[0] = 0;
    for (int l = 0; l < n; l++) {
        if (!on[l]) continue;
        int e = l;
        while (e + 1 < n && on[e + 1]) e++;
        int w = e > l ? snprintf(buf + o, cap - o, "%s%d-%d", o ? "," : "", l, e) : snprintf(buf + o, cap - o, "%s%d", o ? "," : "", l);
        if (w < 0 || (size_t)w >= cap - o) break;
        o += (size_t)w;
        l = e;
    }
    return buf;
}

/* One CSV file written atomically by fn(ctx, csv). 0 ok, -1 with err. */
static inline int interv_write_csv(const char *dir, const char *name, int force, void (*fn)(void *, CsvOut *), void *ctx,
                                   Error *err) {
    char *p = modex_path_join(dir, name);
    OutFile of;
    int rc = modex_out_open(&of, p, force, err);
    if (rc) { free(p); return -1; }
    CsvOut c;
    modex_csv_begin(&c, of.f);
    fn(ctx, &c);
    if (c.bad) { modex_out_abort(&of); rc = modex_error(err, p, "write failed (space on the device)"); }
    else rc = modex_out_commit(&of, err);
    free(p);
    return rc;
}

/* Several CSV files, each by fns[i](ctx, csv): all or none (the ones already renamed are
 * removed again when a later one fails, unless they replaced files under --force). Prints the
 * error; 0 ok, -1 failed. */
static inline int interv_write_all(const char *dir, const char *const *names, void (*const *fns)(void *, CsvOut *), int n,
                                   int force, void *ctx) {
    Error err = {0};
    modex_signals_hold(); /* a ^C now takes effect once the files are all in place or all gone */
    for (int i = 0; i < n; i++)
        if (interv_write_csv(dir, names[i], force, fns[i], ctx, &err)) {
            modex_error_print(&err);
            for (int k = 0; k < i && !force; k++) { char *p = modex_path_join(dir, names[k]); remove(p); free(p); }
            modex_signals_release();
            return -1;
        }
    modex_signals_release();
    return 0;
}
#endif
