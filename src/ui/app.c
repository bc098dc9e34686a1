/* app.c — the explorer's loop: poll() on stdin and the job queue's wake fd, keys to commands
 * (handlers return flags and never draw), then one redraw into the canvas, copied to the
 * terminal. Scripts run the same commands on a canvas without a terminal. */
#include <curses.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "modex/util.h"
#include "ui.h"

// --- colours ---------------------------------------------------------------------------------------
static attr_t el_attr[EL_COUNT];

static void scheme_init(int color) {
    for (int i = 0; i < EL_COUNT; i++) el_attr[i] = A_NORMAL;
    /* monochrome: attributes only; heat cells differ by glyph */
    el_attr[EL_TITLE] = A_REVERSE | A_BOLD;
    el_attr[EL_HEADER] = A_BOLD | A_UNDERLINE;
    el_attr[EL_HEADER_SEL] = A_REVERSE | A_BOLD;
    el_attr[EL_CURSOR] = A_REVERSE;
    el_attr[EL_CURSOR_CELL] = A_REVERSE | A_BOLD | A_UNDERLINE;
    el_attr[EL_STATUS] = A_REVERSE;
    el_attr[EL_ERROR] = A_BOLD;
    el_attr[EL_MASKED] = A_BOLD;
    el_attr[EL_FUNCTIONAL] = A_BOLD;
    el_attr[EL_DIM] = A_DIM;
    el_attr[EL_PENDING] = A_DIM;
    el_attr[EL_HEAT0 + 9] = A_BOLD;
    if (!color || !has_colors()) return;
    start_color();
    use_default_colors();
    static const struct { UiElem el; short fg, bg; attr_t extra; } pairs[] = {
        {EL_TITLE, COLOR_BLACK, COLOR_CYAN, A_BOLD}, {EL_HEADER, COLOR_YELLOW, -1, A_BOLD},
        {EL_HEADER_SEL, COLOR_BLACK, COLOR_YELLOW, A_BOLD}, {EL_CURSOR, COLOR_WHITE, COLOR_BLUE, 0},
        {EL_CURSOR_CELL, COLOR_BLACK, COLOR_YELLOW, A_BOLD}, {EL_STATUS, COLOR_BLACK, COLOR_WHITE, 0},
        {EL_ERROR, COLOR_RED, -1, A_BOLD}, {EL_MASKED, COLOR_MAGENTA, -1, A_BOLD},
        {EL_FUNCTIONAL, COLOR_RED, -1, A_BOLD}, {EL_BAR, COLOR_GREEN, -1, 0}, {EL_PROMPT, COLOR_CYAN, -1, 0},
    };
    short n = 1;
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++, n++) {
        init_pair(n, pairs[i].fg, pairs[i].bg);
        el_attr[pairs[i].el] = COLOR_PAIR(n) | pairs[i].extra;
    }
    /* heat ramp: cold to hot */
    static const short ramp256[10] = {17, 18, 19, 25, 31, 37, 71, 142, 178, 196};
    static const short ramp8[10] = {COLOR_BLUE, COLOR_BLUE, COLOR_BLUE, COLOR_CYAN, COLOR_CYAN, COLOR_GREEN, COLOR_GREEN, COLOR_YELLOW, COLOR_YELLOW, COLOR_RED};
    for (int k = 0; k < 10; k++, n++) {
        init_pair(n, COLORS >= 256 ? ramp256[k] : ramp8[k], -1);
        el_attr[EL_HEAT0 + k] = COLOR_PAIR(n) | (COLORS < 256 && k >= 7 ? A_BOLD : 0);
    }
}

static void blit(const Canvas *cv) {
    char run[4096];
    for (int y = 0; y < cv->h && y < LINES; y++) {
        int x = 0;
        move(y, 0);
        while (x < cv->w && x < COLS) {
            int el = cv->c[(size_t)y * cv->w + x].el, n = 0;
            while (x < cv->w && x < COLS && cv->c[(size_t)y * cv->w + x].el == el && n < (int)sizeof run - 8) {
                const char *ch = cv->c[(size_t)y * cv->w + x].ch;
                size_t l = strlen(ch);
                memcpy(run + n, ch, l);
                n += (int)l;
                x++;
            }
            run[n] = 0;
            attrset(el_attr[el]);
            addstr(run);
        }
    }
    attrset(A_NORMAL);
    if (cv->show_cursor) { curs_set(1); move(cv->cur_y, cv->cur_x); }
    else curs_set(0);
    refresh();
}

// --- drawing -----------------------------------------------------------------------------------------
void ui_app_draw(App *a) {
    Session *s = a->s;
    Canvas *cv = &a->cv;
    if (a->curses) ui_canvas_resize(cv, COLS, LINES);
    else ui_canvas_clear(cv);
    int W = cv->w, H = cv->h;
    a->too_small = W < 80 || H < 24;
    if (a->too_small) {
        int y = H / 2 - 1;
        ui_canvas_put(cv, y < 0 ? 0 : y, 0, W, EL_ERROR, "terminal too small");
        ui_canvas_printf(cv, y + 1, 0, W, EL_NORMAL, "%dx%d, needs 80x24", W, H);
        ui_canvas_put(cv, y + 2, 0, W, EL_DIM, "q quits");
        return;
    }
    /* title */
    ui_canvas_fill(cv, 0, 0, W, EL_TITLE, ' ');
    char title[512];
    const char *mp = strrchr(s->model_path, '/') && strrchr(s->model_path, '/')[1] ? strrchr(s->model_path, '/') + 1 : s->model_path;
    const char *pp = strrchr(s->probe_path, '/') ? strrchr(s->probe_path, '/') + 1 : s->probe_path;
    snprintf(title, sizeof title, " modex  %s (%s, %d layers)  probe %s  | %s  layer %d  mode %s  masked %d", mp, s->model->cfg.family,
             s->model->cfg.n_layer, pp, modex_view_name(s->view), s->layer, modex_perturb_mode_name(s->o.mode), modex_mask_count(&s->mask));
    ui_canvas_put(cv, 0, 0, W, EL_TITLE, title);
    /* body */
    memset(&a->geom, 0, sizeof a->geom);
    ui_view_ops(s->view)->draw(a, cv, 1, H - 2);
    /* status bar: job progress | hints */
    ui_canvas_fill(cv, H - 2, 0, W, EL_STATUS, ' ');
    char job[256];
    modex_session_job_line(s, job, sizeof job, 20);
    const char *hint = "Tab views  Enter open  Space mask  : command  ? help  q quit";
    int hw = (int)strlen(hint);
    /* while the command line is open, its messages (completions) take the status bar */
    ui_canvas_put(cv, H - 2, 1, W - hw - 3, EL_STATUS, a->prompt && s->msg[0] ? s->msg : job);
    ui_canvas_put(cv, H - 2, W - hw - 1, hw, EL_STATUS, hint);
    /* message / cell / prompt */
    if (a->prompt) ui_cmdline_draw(a, cv, H - 1);
    else if (s->msg[0]) ui_canvas_put(cv, H - 1, 0, W, s->msg_err ? EL_ERROR : EL_MSG, s->msg);
    else {
        char info[512];
        modex_session_cell_info(s, info, sizeof info);
        ui_canvas_put(cv, H - 1, 0, W, EL_DIM, info);
    }
}

void ui_app_frame(App *a) {
    ui_app_draw(a);
    if (a->curses) blit(&a->cv);
}

// --- keys and commands --------------------------------------------------------------------------------
static int after_run(App *a, ViewId before, int flags) {
    if (a->s->view != before && ui_view_ops(a->s->view)->open) ui_view_ops(a->s->view)->open(a);
    if (flags & SESS_PROMPT) {
        char pre[1024];
        snprintf(pre, sizeof pre, "%s", a->s->msg);
        a->s->msg[0] = 0;
        if (a->curses) ui_cmdline_open(a, pre);
    }
    return flags | SESS_REDRAW;
}

static int mouse(App *a) {
    MEVENT ev;
    if (getmouse(&ev) != OK) return 0;
    ViewState *vs = &a->s->vs[a->s->view];
    if (ev.bstate & BUTTON4_PRESSED) return modex_session_run(a->s, CMD_UP, NULL) | modex_session_run(a->s, CMD_UP, NULL) | modex_session_run(a->s, CMD_UP, NULL);
#ifdef BUTTON5_PRESSED
    if (ev.bstate & BUTTON5_PRESSED) return modex_session_run(a->s, CMD_DOWN, NULL) | modex_session_run(a->s, CMD_DOWN, NULL) | modex_session_run(a->s, CMD_DOWN, NULL);
#endif
    if (ev.bstate & (BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON1_RELEASED)) {
        int r = ev.y - a->geom.y_rows;
        if (r >= 0 && r < a->geom.n_shown) { ui_view_ops(a->s->view)->select(a, vs->top + r); return SESS_REDRAW; }
    }
    return 0;
}

int ui_app_key(App *a, int key) {
    Session *s = a->s;
    if (a->prompt) return ui_cmdline_key(a, key);
    if (key == KEY_RESIZE) return SESS_REDRAW;
    if (key == KEY_MOUSE) return mouse(a);
    ViewId before = s->view;
    const ViewOps *ops = ui_view_ops(s->view);
    if (ops->key) { int f = ops->key(a, key); if (f) return after_run(a, before, f); }
    CmdId id = ui_key_command(key);
    if (a->too_small && id != CMD_QUIT) return 0;
    s->msg[0] = 0;
    s->msg_err = 0;
    if (id == CMD_NONE) {
        modex_session_msg(s, 1, "key %s is not bound (? lists the keys)", keyname(key) ? keyname(key) : "?");
        return SESS_REDRAW;
    }
    int f = modex_session_run(s, id, NULL);
    if ((f & SESS_UI) && id == CMD_REDRAW && a->curses) clearok(curscr, TRUE);
    return after_run(a, before, f);
}

static int dump(App *a, const char *path) {
    Error err = {0};
    OutFile o;
    ui_app_draw(a);
    if (!path || !*path) { modex_session_msg(a->s, 1, "dump: FILE"); return SESS_ERROR; }
    if (modex_out_open(&o, path, 1, &err)) { modex_session_msg(a->s, 1, "%s", err.msg); return SESS_ERROR; }
    ui_canvas_dump(&a->cv, o.f);
    if (modex_out_commit(&o, &err)) { modex_session_msg(a->s, 1, "%s", err.msg); return SESS_ERROR; }
    modex_session_msg(a->s, 0, "screen written to %s", path);
    return SESS_REDRAW;
}

int ui_app_exec(App *a, const char *line) {
    Session *s = a->s;
    while (*line == ' ' || *line == ':') line++;
    char name[64];
    size_t n = strcspn(line, " \t\r\n");
    snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), line);
    const char *args = line + n;
    while (*args == ' ' || *args == '\t') args++;
    char arg[1024];
    snprintf(arg, sizeof arg, "%s", args);
    for (size_t k = strlen(arg); k && (arg[k - 1] == '\n' || arg[k - 1] == '\r' || arg[k - 1] == ' '); k--) arg[k - 1] = 0;
    CmdId id = modex_cmd_find(name);
    s->msg[0] = 0;
    s->msg_err = 0;
    ViewId before = s->view;
    switch (id) {
    case CMD_DUMP: return dump(a, arg);
    case CMD_WAIT:
        if (modex_session_wait(s, 600) != 0) {
            if (!s->msg[0]) modex_session_msg(s, 1, "wait: the jobs did not finish in 600 s");
            return SESS_ERROR;
        }
        return SESS_REDRAW;
    case CMD_KEY: {
        int f = 0;
        for (char *save = NULL, *k = strtok_r(arg, " ", &save); k; k = strtok_r(NULL, " ", &save)) {
            int codes[4];
            if (ui_key_codes(k, codes, 4) < 1) { modex_session_msg(s, 1, "key: unknown key name '%s' (e.g. j, Enter, Space, ^D, S-Tab, F1)", k); return SESS_ERROR; }
            ui_app_draw(a); /* page sizes follow the screen */
            f |= ui_app_key(a, codes[0]);
            if (f & SESS_QUIT) break;
        }
        return f;
    }
    case CMD_REDRAW: if (a->curses) clearok(curscr, TRUE); return SESS_REDRAW;
    default: return after_run(a, before, modex_session_exec(s, line));
    }
}

// --- the interactive loop ---------------------------------------------------------------------------------
/* SIGINT / SIGTERM / SIGHUP end the loop so that the terminal is restored (^C in cbreak mode). */
static volatile sig_atomic_t g_stop;
static void on_stop(int sig) { (void)sig; g_stop = 1; }

int ui_app_run(App *a) {
    Session *s = a->s;
    struct sigaction sa, old[3];
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
    for (int i = 0; i < 3; i++) sigaction(sigs[i], &sa, &old[i]);
    g_stop = 0;
    int wake = modex_jobs_wake_fd(s->q);
    ui_cmdline_init(a);
    a->dirty = 1;
    double last_draw = 0;
    while (!s->quit && !g_stop) {
        if (modex_session_poll(s)) a->dirty = 1;
        if (modex_session_busy(s) && modex_now() - last_draw > 0.25) a->dirty = 1; /* progress and ETA */
        if (a->dirty) {
            ui_app_frame(a);
            a->dirty = 0;
            last_draw = modex_now();
        }
        struct pollfd fds[2] = {{0, POLLIN, 0}, {wake, POLLIN, 0}};
        int r = poll(fds, 2, modex_session_busy(s) ? 250 : -1);
        if (r < 0 && errno != EINTR) break;
        if (r > 0 && (fds[1].revents & POLLIN)) { modex_jobs_drain_wake(s->q); a->dirty |= modex_session_poll(s); }
        if (r > 0 && (fds[0].revents & (POLLHUP | POLLERR)) && !(fds[0].revents & POLLIN)) break;
        /* stdin readable, or a signal (SIGWINCH: curses queues KEY_RESIZE) */
        int key;
        while ((key = getch()) != ERR) {
            int f = ui_app_key(a, key);
            if (f) a->dirty = 1;
            if ((f & SESS_QUIT) || s->quit) break;
        }
    }
    ui_cmdline_end();
    for (int i = 0; i < 3; i++) sigaction(sigs[i], &old[i], NULL);
    return g_stop ? 130 : 0;
}

int ui_app_script(App *a, FILE *in, const char *name, int echo) {
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    a->script_name = name;
    a->script_line = 0;
    while (!a->s->quit && getline(&line, &cap, in) > 0) {
        a->script_line++;
        line[strcspn(line, "\r\n")] = 0;
        const char *p = line + strspn(line, " \t");
        if (!*p || *p == '#') continue;
        modex_session_poll(a->s);
        int f = ui_app_exec(a, line);
        modex_session_poll(a->s);
        ui_app_draw(a);
        if (f & SESS_ERROR) {
            fprintf(stderr, "modex: %s:%d: %s\n", name, a->script_line, a->s->msg);
            rc = 2;
            break;
        }
        if (echo && a->s->msg[0]) printf("%s\n", a->s->msg);
        fflush(stdout);
    }
    free(line);
    return rc;
}

// --- terminal setup (for cmd_tui.c) ---------------------------------------------------------------------------
static SCREEN *g_screen;

int ui_term_start(App *a) {
    int have_tio = ui_fatal_restore_save();
    if (!initscr()) return -1;
    int rc = ui_term_setup(a);
    if (rc == 0 && have_tio) ui_fatal_restore_arm();
    return rc;
}

int ui_term_start_on(App *a, const char *term, FILE *out, FILE *in, int w, int h) {
    g_screen = newterm(term, out, in);
    if (!g_screen) return -1;
    set_term(g_screen);
    resizeterm(h, w);
    return ui_term_setup(a);
}

int ui_term_setup(App *a) {
    set_escdelay(25);
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    curs_set(0);
    scheme_init(a->color);
    if (a->mouse) {
        mousemask(BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON4_PRESSED
#ifdef BUTTON5_PRESSED
                      | BUTTON5_PRESSED
#endif
                  ,
                  NULL);
        mouseinterval(0);
    }
    a->curses = 1;
    return 0;
}

void ui_term_end(App *a) {
    modex_fatal_restore_set(NULL);
    if (a->curses) endwin();
    if (g_screen) { delscreen(g_screen); g_screen = NULL; }
    a->curses = 0;
}
