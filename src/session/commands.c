/* commands.c — the command table (keys.h) and what each command does to a session. Keys and
 * `:` lines end here alike; drawing is left to the UI, which reads the returned flags. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "modex/forward.h"
#include "modex/session.h"
#include "modex/util.h"

// --- the table ------------------------------------------------------------------------------------
static const CmdDef defs[CMD_COUNT] = {
#define MODEX_X_DEF(ID, NAME, KEYS, ARGS, HELP, GROUP) {ID, NAME, KEYS, ARGS, HELP, GROUP},
    MODEX_COMMANDS(MODEX_X_DEF)
#undef MODEX_X_DEF
};

const CmdDef *modex_cmd_def(int id) { return id >= 0 && id < CMD_COUNT ? &defs[id] : NULL; }

CmdId modex_cmd_find(const char *name) {
    for (int i = 0; i < CMD_COUNT; i++)
        if (!strcmp(defs[i].name, name)) return (CmdId)i;
    if (!strcmp(name, "q")) return CMD_QUIT;
    return CMD_NONE;
}

const char *modex_cmd_group_name(CmdGroup g) {
    static const char *n[] = {"Moving", "Views", "Masks and perturbation", "Analysis", "Files", "Scripts"};
    return n[g];
}

/* roff: "\-" for '-', "\e" for '\'. */
static void roff(FILE *out, const char *s) {
    for (; *s; s++) {
        if (*s == '-') fputs("\\-", out);
        else if (*s == '\\') fputs("\\e", out);
        else fputc(*s, out);
    }
}

void modex_keys_man(FILE *out) {
    int g = -1;
    for (int i = 0; i < CMD_COUNT; i++) {
        const CmdDef *d = &defs[i];
        if ((int)d->group != g) {
            g = d->group;
            fprintf(out, ".SS %s\n", modex_cmd_group_name(d->group));
        }
        fputs(".TP\n", out);
        if (d->keys[0]) { fputs(".BR \"", out); roff(out, d->keys); fputs("\" \", :", out); }
        else fputs(".BR \":", out);
        roff(out, d->name);
        fputs(d->args[0] ? " \" \"" : "\"", out);
        if (d->args[0]) { fputc('\\', out); fputs("fI", out); roff(out, d->args); fputs("\\fR\"", out); }
        fputc('\n', out);
        roff(out, d->help);
        fputs(".\n", out);
    }
}

// --- helpers ------------------------------------------------------------------------------------
static int parse_int(const char *s, int *v) {
    char *end;
    if (!s || !*s) return -1;
    long x = strtol(s, &end, 10);
    while (*end == ' ') end++;
    if (*end || x < -1000000000L || x > 1000000000L) return -1;
    *v = (int)x;
    return 0;
}

static const char *skip_ws(const char *s) { while (s && (*s == ' ' || *s == '\t')) s++; return s; }

static void move_cursor(Session *s, int delta) {
    const ViewTable *t = modex_session_table(s, s->view);
    ViewState *vs = &s->vs[s->view];
    vs->cur += delta;
    if (vs->cur >= t->n_rows) vs->cur = t->n_rows - 1;
    if (vs->cur < 0) vs->cur = 0;
}

static void set_view(Session *s, ViewId v) {
    if (v == s->view) return;
    s->prev_view = s->view;
    s->view = v;
    if (v == VIEW_PERTURB && !s->pjob) s->perturb_wanted = 1;
}

static void set_layer(Session *s, int l) {
    if (l == s->layer) return;
    s->layer = l;
    s->only_expert = -1;
    s->vs[VIEW_EXPERTS].cur = s->vs[VIEW_EXPERTS].top = 0;
    s->vs[VIEW_NEURONS].cur = s->vs[VIEW_NEURONS].top = 0;
    s->gen++;
}

/* Toggle of the row under the cursor: an expert (experts view; layers view: nothing) or a
 * neuron (neurons view). */
static int toggle(Session *s) {
    const ViewTable *t = modex_session_table(s, s->view);
    if (t->n_rows == 0) return 0;
    int id = t->id[s->vs[s->view].cur];
    const LayerResult *lr = modex_session_layer(s, s->layer);
    if (!lr) { modex_session_msg(s, 1, "layer %d is not analysed yet", s->layer); return SESS_ERROR; }
    unsigned char *on = s->mask.on + (size_t)s->layer * s->mask.width;
    if (s->view == VIEW_EXPERTS) {
        int all = 1;
        for (int j = 0; j < lr->width; j++) if (lr->assign[j] == id && !on[j]) all = 0;
        modex_mask_set_expert(&s->mask, s->layer, lr->assign, id, !all);
        modex_session_msg(s, 0, "%s expert %d of layer %d (%d neurons masked)", all ? "unmasked" : "masked", id, s->layer, modex_mask_count(&s->mask));
    } else if (s->view == VIEW_NEURONS) {
        on[id] = !on[id];
        modex_session_msg(s, 0, "%s neuron %d of layer %d (%d neurons masked)", on[id] ? "masked" : "unmasked", id, s->layer, modex_mask_count(&s->mask));
    } else {
        modex_session_msg(s, 1, "Space masks an expert or a neuron: open the experts or neurons view");
        return SESS_ERROR;
    }
    modex_session_mask_changed(s);
    return SESS_REDRAW;
}

/* "L:E[,E...]" → sets experts on/off. */
static int mask_spec(Session *s, const char *a, int on) {
    int L = s->model->cfg.n_layer, l;
    char *colon = strchr(a, ':');
    char lbuf[32];
    if (!colon || colon - a >= (long)sizeof lbuf) goto bad;
    memcpy(lbuf, a, (size_t)(colon - a));
    lbuf[colon - a] = 0;
    if (parse_int(lbuf, &l) || l < 0 || l >= L) goto bad;
    const LayerResult *lr = modex_session_layer(s, l);
    if (!lr) { modex_session_msg(s, 1, "layer %d is not analysed yet (wait for its row in the layers view)", l); return SESS_ERROR; }
    int64_t *es = NULL;
    int n = modex_parse_ints(colon + 1, &es);
    if (n <= 0) { free(es); goto bad; }
    for (int i = 0; i < n; i++)
        if (es[i] < 0 || es[i] >= lr->E) {
            modex_session_msg(s, 1, "mask: expert %lld (0..%d in layer %d)", (long long)es[i], lr->E - 1, l);
            free(es);
            return SESS_ERROR;
        }
    for (int i = 0; i < n; i++) modex_mask_set_expert(&s->mask, l, lr->assign, (int)es[i], on);
    free(es);
    modex_session_mask_changed(s);
    modex_session_msg(s, 0, "%d neurons masked", modex_mask_count(&s->mask));
    return SESS_REDRAW;
bad:
    modex_session_msg(s, 1, "mask: '%s' (L:E[,E...], e.g. 1:3,5)", a);
    return SESS_ERROR;
}

void modex_session_masks_text(Session *s, char *buf, int size) {
    int n = 0;
    buf[0] = 0;
    for (int l = 0; l < s->mask.n_layer && s->mask.on; l++) {
        int c = modex_mask_layer_count(&s->mask, l);
        if (!c) continue;
        const LayerResult *lr = modex_session_layer(s, l);
        int ne = lr ? modex_mask_layer_experts(&s->mask, l, lr->assign, lr->E) : -1;
        n += snprintf(buf + n, (size_t)(size - n), "%sL%d: ", n ? "; " : "", l);
        if (ne > 0) {
            int first = 1;
            for (int e = 0; e < lr->E && n < size - 16; e++) {
                int all = 1, any = 0;
                for (int j = 0; j < lr->width; j++)
                    if (lr->assign[j] == e) { if (s->mask.on[(size_t)l * s->mask.width + j]) any = 1; else all = 0; }
                if (all && any) { n += snprintf(buf + n, (size_t)(size - n), "%se%d", first ? "" : ",", e); first = 0; }
            }
        } else n += snprintf(buf + n, (size_t)(size - n), "%d neurons", c);
        if (n >= size - 16) break;
    }
}

static void masks_line(Session *s) {
    char buf[900];
    modex_session_masks_text(s, buf, sizeof buf);
    if (!buf[0]) modex_session_msg(s, 0, "no masks");
    else modex_session_msg(s, 0, "masks (%s): %s", modex_perturb_mode_name(s->o.mode), buf);
}

static int do_sort(Session *s, const char *args) {
    ViewState *vs = &s->vs[s->view];
    const ViewTable *t = modex_session_table(s, s->view);
    if (!args) { /* the key: by the cursor's column; again: reverse */
        if (vs->sort_col == vs->col) vs->sort_desc = !vs->sort_desc;
        else { vs->sort_col = vs->col; vs->sort_desc = t->kind[vs->col] != COL_TEXT; }
    } else {
        char col[128];
        const char *sp = strchr(args, ' ');
        size_t n = sp ? (size_t)(sp - args) : strlen(args);
        if (n == 0) { vs->sort_col = -1; s->vgen[s->view]++; modex_session_msg(s, 0, "natural order"); return SESS_REDRAW; }
        if (n >= sizeof col) n = sizeof col - 1;
        memcpy(col, args, n);
        col[n] = 0;
        int c = modex_table_col(t, col);
        if (c < 0) { modex_session_msg(s, 1, "sort: no column '%s' in the %s view", col, modex_view_name(s->view)); return SESS_ERROR; }
        const char *rest = sp ? skip_ws(sp) : "";
        if (*rest && strcmp(rest, "desc") && strcmp(rest, "asc")) { modex_session_msg(s, 1, "sort: '%s' (desc or asc)", rest); return SESS_ERROR; }
        vs->sort_col = c;
        vs->sort_desc = !strcmp(rest, "desc");
        vs->col = c;
    }
    s->vgen[s->view]++;
    modex_session_msg(s, 0, "sorted by %s%s", t->cols[vs->sort_col], vs->sort_desc ? " (descending)" : "");
    return SESS_REDRAW;
}

static int do_set(Session *s, const char *args) {
    char opt[64];
    const char *sp = strchr(args, ' ');
    size_t n = sp ? (size_t)(sp - args) : strlen(args);
    const char *val = sp ? skip_ws(sp) : "";
    if (n >= sizeof opt) n = sizeof opt - 1;
    memcpy(opt, args, n);
    opt[n] = 0;
    int v;
    if (!strcmp(opt, "draws") && !parse_int(val, &v) && v >= 0 && v <= 1000) {
        s->o.draws = v;
        if (s->pjob) modex_session_mask_changed(s);
    } else if (!strcmp(opt, "seed") && !parse_int(val, &v) && v >= 0) {
        s->o.seed = (unsigned long long)v;
        if (s->pjob) modex_session_mask_changed(s);
    } else if (!strcmp(opt, "heat") && (!strcmp(val, "z") || !strcmp(val, "raw"))) {
        s->heat_raw = !strcmp(val, "raw");
        s->gen++;
    } else if (!strcmp(opt, "expert-size") && !parse_int(val, &v) && v > 0) {
        s->o.analysis.expert_size = v;
        s->o.analysis.n_experts = 0;
        modex_session_restart_analysis(s);
    } else {
        modex_session_msg(s, 1, "set: '%s' (draws N, seed N, heat z|raw, expert-size S)", args);
        return SESS_ERROR;
    }
    modex_session_msg(s, 0, "%s = %s", opt, val);
    return SESS_REDRAW;
}

int modex_session_export(Session *s, const char *path, int force, Error *err) {
    const ViewTable *t = modex_session_table(s, s->view);
    OutFile o;
    if (modex_out_open(&o, path, force, err)) return -1;
    if (modex_table_write_csv(t, o.f)) { modex_out_abort(&o); return modex_error(err, path, "write failed (a writable disk)"); }
    return modex_out_commit(&o, err);
}

static int do_export(Session *s, const char *args, int force) {
    char def[256];
    Error err = {0};
    if (!args || !*args) { /* the key: a fresh name in the current folder */
        for (int i = 0; i < 1000; i++) {
            if (s->view == VIEW_EXPERTS || s->view == VIEW_NEURONS) snprintf(def, sizeof def, "modex-%s-L%d%s%.0d.csv", modex_view_name(s->view), s->layer, i ? "-" : "", i);
            else snprintf(def, sizeof def, "modex-%s%s%.0d.csv", modex_view_name(s->view), i ? "-" : "", i);
            if (!modex_file_exists(def)) break;
        }
        args = def;
    }
    if (modex_session_export(s, args, force, &err)) {
        if (!force && modex_file_exists(args)) modex_session_msg(s, 1, "%s: already exists (export! %s to overwrite)", args, args);
        else modex_session_msg(s, 1, "%s", err.msg);
        return SESS_ERROR;
    }
    modex_session_msg(s, 0, "exported %d rows of the %s view to %s", s->tab[s->view].n_rows, modex_view_name(s->view), args);
    return SESS_REDRAW;
}

static int reanalyse(Session *s, const char *what) {
    modex_session_restart_analysis(s);
    modex_session_msg(s, 0, "%s: analysis restarted (masks cleared)", what);
    return SESS_REDRAW;
}

// --- run ------------------------------------------------------------------------------------------
int modex_session_run(Session *s, CmdId id, const char *args) {
    ViewState *vs = &s->vs[s->view];
    const ViewTable *t = modex_session_table(s, s->view);
    int page = s->page_rows > 1 ? s->page_rows : 1, v;
    const char *a = args ? skip_ws(args) : NULL;
    switch (id) {
    case CMD_DOWN: move_cursor(s, 1); return SESS_REDRAW;
    case CMD_UP: move_cursor(s, -1); return SESS_REDRAW;
    case CMD_PGDN: move_cursor(s, page); return SESS_REDRAW;
    case CMD_PGUP: move_cursor(s, -page); return SESS_REDRAW;
    case CMD_HALFDN: move_cursor(s, MODEX_MAX(1, page / 2)); return SESS_REDRAW;
    case CMD_HALFUP: move_cursor(s, -MODEX_MAX(1, page / 2)); return SESS_REDRAW;
    case CMD_TOP: vs->cur = 0; return SESS_REDRAW;
    case CMD_BOTTOM: vs->cur = t->n_rows - 1; move_cursor(s, 0); return SESS_REDRAW;
    case CMD_LEFT: if (vs->col > 0) vs->col--; return SESS_REDRAW;
    case CMD_RIGHT: if (vs->col < t->n_cols - 1) vs->col++; return SESS_REDRAW;
    case CMD_NEXTVIEW: set_view(s, (ViewId)((s->view + 1) % VIEW_HELP)); return SESS_REDRAW;
    case CMD_PREVVIEW: set_view(s, (ViewId)((s->view + VIEW_HELP - 1) % VIEW_HELP)); return SESS_REDRAW;
    case CMD_ENTER:
        if (t->n_rows == 0) return 0;
        if (s->view == VIEW_LAYERS) { set_layer(s, t->id[vs->cur]); set_view(s, VIEW_EXPERTS); }
        else if (s->view == VIEW_EXPERTS) {
            s->only_expert = t->id[vs->cur];
            s->vs[VIEW_NEURONS].cur = s->vs[VIEW_NEURONS].top = 0;
            s->gen++;
            set_view(s, VIEW_NEURONS);
        } else if (s->view == VIEW_HELP) {
            modex_session_msg(s, 0, "%s: %s", modex_cmd_def(t->id[vs->cur])->name, modex_cmd_def(t->id[vs->cur])->help);
        }
        return SESS_REDRAW;
    case CMD_BACK:
        if (s->view == VIEW_NEURONS && s->only_expert >= 0) { s->only_expert = -1; s->gen++; set_view(s, VIEW_EXPERTS); }
        else if (s->view == VIEW_EXPERTS || s->view == VIEW_NEURONS) set_view(s, VIEW_LAYERS);
        else if (s->view != VIEW_LAYERS) set_view(s, s->prev_view != s->view ? s->prev_view : VIEW_LAYERS);
        return SESS_REDRAW;
    case CMD_VIEW: {
        ViewId nv;
        if (!a || modex_view_parse(a, &nv)) { modex_session_msg(s, 1, "view: '%s' (layers, experts, neurons, perturb or help)", a ? a : ""); return SESS_ERROR; }
        set_view(s, nv);
        return SESS_REDRAW;
    }
    case CMD_LAYER:
        if (!a || parse_int(a, &v) || v < 0 || v >= s->model->cfg.n_layer) { modex_session_msg(s, 1, "layer: '%s' (0..%d)", a ? a : "", s->model->cfg.n_layer - 1); return SESS_ERROR; }
        set_layer(s, v);
        if (s->view == VIEW_LAYERS) { s->vs[VIEW_LAYERS].cur = v; set_view(s, VIEW_EXPERTS); }
        return SESS_REDRAW;
    case CMD_SORT: return do_sort(s, a);
    case CMD_FIND:
        if (!a) { snprintf(s->msg, sizeof s->msg, "find "); return SESS_PROMPT; }
        snprintf(vs->filter, sizeof vs->filter, "%s", a);
        s->vgen[s->view]++;
        vs->cur = vs->top = 0;
        t = modex_session_table(s, s->view);
        if (*a) modex_session_msg(s, 0, "%d rows contain '%s'", t->n_rows, a);
        else modex_session_msg(s, 0, "all %d rows", t->n_rows);
        return SESS_REDRAW;
    case CMD_HELP: set_view(s, VIEW_HELP); return SESS_REDRAW;
    case CMD_TOGGLE: return toggle(s);
    case CMD_MASK: if (!a || !*a) { modex_session_msg(s, 1, "mask: L:E[,E...]"); return SESS_ERROR; } return mask_spec(s, a, 1);
    case CMD_UNMASK:
        if (a && *a) return mask_spec(s, a, 0);
        /* fall through */
    case CMD_CLEAR:
        modex_mask_clear(&s->mask);
        modex_session_mask_changed(s);
        modex_session_msg(s, 0, "masks cleared");
        return SESS_REDRAW;
    case CMD_MASKS:
        if (a && !strcmp(a, "clear")) return modex_session_run(s, CMD_CLEAR, NULL);
        if (a && *a) { modex_session_msg(s, 1, "masks: '%s' (nothing, or clear)", a); return SESS_ERROR; }
        masks_line(s);
        return SESS_REDRAW;
    case CMD_MODE: {
        PerturbMode m;
        if (!a) m = (PerturbMode)((s->o.mode + 1) % 3);
        else if (modex_perturb_mode_parse(a, &m)) { modex_session_msg(s, 1, "mode: '%s' (zero, mean or shuffle)", a); return SESS_ERROR; }
        s->o.mode = m;
        if (s->pjob || modex_mask_count(&s->mask)) modex_session_mask_changed(s);
        modex_session_msg(s, 0, "mode %s", modex_perturb_mode_name(m));
        return SESS_REDRAW;
    }
    case CMD_EXPERTS:
        if (!a || parse_int(a, &v) || v <= 0 || modex_ffn_width(s->model) % v) {
            modex_session_msg(s, 1, "experts: '%s' (a divisor of %d)", a ? a : "", modex_ffn_width(s->model));
            return SESS_ERROR;
        }
        s->o.analysis.n_experts = v;
        return reanalyse(s, "experts");
    case CMD_SPLIT: {
        SplitKind k;
        if (!a || modex_split_parse(a, &k) || k == SPLIT_NATIVE) { modex_session_msg(s, 1, "split: '%s' (param or coact)", a ? a : ""); return SESS_ERROR; }
        s->o.analysis.split = k;
        return reanalyse(s, "split");
    }
    case CMD_AGG: {
        Aggregation g;
        if (!a || modex_agg_parse(a, &g)) { modex_session_msg(s, 1, "agg: '%s' (max, mean, last or span)", a ? a : ""); return SESS_ERROR; }
        s->o.analysis.agg = g;
        return reanalyse(s, "agg");
    }
    case CMD_BASELINE:
        if (a && !strcmp(a, "random-init on")) s->o.analysis.random_init = 1;
        else if (a && !strcmp(a, "random-init off")) s->o.analysis.random_init = 0;
        else { modex_session_msg(s, 1, "baseline: '%s' (random-init on or random-init off)", a ? a : ""); return SESS_ERROR; }
        return reanalyse(s, "baseline");
    case CMD_SET: if (!a || !*a) { modex_session_msg(s, 1, "set: OPTION VALUE"); return SESS_ERROR; } return do_set(s, a);
    case CMD_OPEN:
    case CMD_PROBE: {
        if (!a || !*a) { modex_session_msg(s, 1, "%s: a path", id == CMD_OPEN ? "open" : "probe"); return SESS_ERROR; }
        char m[1024], p[1024];
        if (id == CMD_PROBE) { snprintf(m, sizeof m, "%s", s->model_path); snprintf(p, sizeof p, "%s", a); }
        else {
            const char *sp = strchr(a, ' ');
            if (sp) { snprintf(m, sizeof m, "%.*s", (int)(sp - a), a); snprintf(p, sizeof p, "%s", skip_ws(sp)); }
            else { snprintf(m, sizeof m, "%s", a); snprintf(p, sizeof p, "%s", s->probe_path); }
        }
        Error err = {0};
        if (modex_session_reopen(s, m, p, &err)) { modex_session_msg(s, 1, "%s", err.msg); return SESS_ERROR; }
        s->view = VIEW_LAYERS;
        modex_session_msg(s, 0, "opened %s with %s", m, p);
        return SESS_REDRAW;
    }
    case CMD_EXPORT: return do_export(s, a, 0);
    case CMD_EXPORTF:
        if (!a || !*a) { modex_session_msg(s, 1, "export!: FILE.csv"); return SESS_ERROR; }
        return do_export(s, a, 1);
    case CMD_QUIT: s->quit = 1; return SESS_QUIT;
    case CMD_PROMPT: s->msg[0] = 0; return SESS_PROMPT;
    case CMD_REDRAW: case CMD_DUMP: case CMD_WAIT: case CMD_KEY: return SESS_UI;
    default: return 0;
    }
}

int modex_session_exec(Session *s, const char *line) {
    line = skip_ws(line);
    if (*line == ':') line = skip_ws(line + 1);
    if (!*line || *line == '#') return 0;
    char name[64];
    size_t n = strcspn(line, " \t");
    if (n >= sizeof name) n = sizeof name - 1;
    memcpy(name, line, n);
    name[n] = 0;
    CmdId id = modex_cmd_find(name);
    if (id == CMD_NONE) { modex_session_msg(s, 1, "unknown command '%s' (see :help)", name); return SESS_ERROR; }
    /* trailing blanks are not part of an argument */
    char args[1024];
    snprintf(args, sizeof args, "%s", skip_ws(line + n));
    size_t k = strlen(args);
    while (k && (args[k - 1] == ' ' || args[k - 1] == '\t' || args[k - 1] == '\r' || args[k - 1] == '\n')) args[--k] = 0;
    return modex_session_run(s, id, args);
}

// --- completion -------------------------------------------------------------------------------------
static void add(char ***v, int *n, const char *s) {
    *v = modex_xrealloc(*v, sizeof **v * (size_t)(*n + 2));
    (*v)[(*n)++] = modex_xstrdup(s);
    (*v)[*n] = NULL;
}

char **modex_session_complete(const Session *s, const char *line, int word, const char *prefix) {
    char **v = NULL;
    int n = 0;
    size_t pl = strlen(prefix);
    line = skip_ws(line);
    if (*line == ':') line = skip_ws(line + 1);
    if (word == 0) {
        for (int i = 0; i < CMD_COUNT; i++)
            if (!strncmp(defs[i].name, prefix, pl)) add(&v, &n, defs[i].name);
        return v ? v : modex_xcalloc(1, sizeof *v);
    }
    char name[64];
    size_t k = strcspn(line, " \t");
    snprintf(name, sizeof name, "%.*s", (int)k, line);
    CmdId id = modex_cmd_find(name);
    static const char *views[] = {"layers", "experts", "neurons", "perturb", "help", NULL};
    static const char *modes[] = {"zero", "mean", "shuffle", NULL};
    static const char *splits[] = {"param", "coact", NULL};
    static const char *aggs[] = {"max", "mean", "last", "span", NULL};
    static const char *sets[] = {"draws", "seed", "heat", "expert-size", NULL};
    const char **list = NULL;
    switch (id) {
    case CMD_OPEN: case CMD_PROBE: case CMD_EXPORT: case CMD_EXPORTF: case CMD_DUMP: return NULL; /* paths */
    case CMD_VIEW: list = views; break;
    case CMD_MODE: list = modes; break;
    case CMD_SPLIT: list = splits; break;
    case CMD_AGG: list = aggs; break;
    case CMD_SET: if (word == 1) list = sets; break;
    case CMD_SORT:
        if (word == 1) {
            const ViewTable *t = &s->tab[s->view];
            for (int c = 0; c < t->n_cols; c++) if (!strncmp(t->cols[c], prefix, pl)) add(&v, &n, t->cols[c]);
        } else if (!strncmp("desc", prefix, pl)) add(&v, &n, "desc");
        break;
    case CMD_FIND:
        for (int i = 0; i < s->probe.n_subs; i++)
            if (!strncmp(s->probe.subs[i].name, prefix, pl)) add(&v, &n, s->probe.subs[i].name);
        break;
    default: break;
    }
    for (int i = 0; list && list[i]; i++)
        if (!strncmp(list[i], prefix, pl)) add(&v, &n, list[i]);
    return v ? v : modex_xcalloc(1, sizeof *v);
}
