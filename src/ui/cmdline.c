/* cmdline.c — the `:` command line inside the screen through readline's callback interface:
 * curses keys are turned into the bytes readline expects and fed to rl_callback_read_char();
 * readline never touches the terminal (its output goes to /dev/null, its redisplay is ours).
 * History lives in $XDG_STATE_HOME/modex/history; Tab completes commands, sub-functions,
 * options and paths. */
#include <curses.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <readline/history.h>
#include <readline/readline.h>
#include "modex/util.h"
#include "ui.h"

static App *g_app;
static unsigned char g_q[32];
static int g_qh, g_qn;
static char *g_line;
static int g_done, g_ready;
static char g_hist[4096];
static char **g_cands;
static int g_ci;

static int getc_fn(FILE *f) { (void)f; return g_qh < g_qn ? g_q[g_qh++] : EOF; }
/* readline asks whether more input is queued (typeahead): only ours, never the terminal's */
static int input_available(void) { return g_qh < g_qn; }
static void redisplay(void) { if (g_app) g_app->dirty = 1; }
static void prep(int meta) { (void)meta; }
static void deprep(void) {}
static void on_line(char *line) {
    g_line = line;
    g_done = 1;
    rl_callback_handler_remove();
}

static char *gen(const char *text, int state) {
    (void)text;
    if (!state) g_ci = 0;
    return g_cands && g_cands[g_ci] ? modex_xstrdup(g_cands[g_ci++]) : NULL;
}

static char **complete(const char *text, int start, int end) {
    (void)end;
    int word = 0;
    for (int i = 0, in = 0; i < start; i++) {
        int blank = rl_line_buffer[i] == ' ' || rl_line_buffer[i] == '\t';
        if (!blank && !in) { in = 1; }
        if (blank && in) { in = 0; word++; }
    }
    char **c = modex_session_complete(g_app->s, rl_line_buffer, word, text);
    if (!c) { rl_attempted_completion_over = 0; return NULL; } /* readline's file names */
    rl_attempted_completion_over = 1;
    g_cands = c;
    char **m = rl_completion_matches(text, gen);
    for (int i = 0; c[i]; i++) free(c[i]);
    free(c);
    g_cands = NULL;
    return m;
}

static void show_matches(char **matches, int n, int maxlen) {
    (void)maxlen;
    char buf[900];
    int k = 0;
    for (int i = 1; i <= n && k < (int)sizeof buf - 64; i++) k += snprintf(buf + k, sizeof buf - (size_t)k, "%s ", matches[i]);
    modex_session_msg(g_app->s, 0, "%s", buf);
}

static void history_path(void) {
    const char *x = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    char dir[4000];
    if (x && *x) snprintf(dir, sizeof dir, "%s/modex", x);
    else if (home && *home) snprintf(dir, sizeof dir, "%s/.local/state/modex", home);
    else { g_hist[0] = 0; return; }
    /* mkdir -p */
    for (char *p = dir + 1; *p; p++)
        if (*p == '/') { *p = 0; mkdir(dir, 0700); *p = '/'; }
    mkdir(dir, 0700);
    snprintf(g_hist, sizeof g_hist, "%s/history", dir);
}

void ui_cmdline_init(App *a) {
    g_app = a;
    if (g_ready) return;
    rl_readline_name = "modex";
    rl_catch_signals = 0;
    rl_catch_sigwinch = 0;
    rl_change_environment = 0;
    rl_outstream = fopen("/dev/null", "w");
    rl_instream = fopen("/dev/null", "r");
    rl_getc_function = getc_fn;
    rl_input_available_hook = input_available;
    rl_redisplay_function = redisplay;
    rl_prep_term_function = prep;
    rl_deprep_term_function = deprep;
    rl_attempted_completion_function = complete;
    rl_completion_display_matches_hook = show_matches;
    rl_variable_bind("bell-style", "none");
    rl_variable_bind("show-all-if-ambiguous", "on");
    using_history();
    stifle_history(1000);
    history_path();
    if (g_hist[0]) read_history(g_hist);
    g_ready = 1;
}

void ui_cmdline_end(void) {
    if (!g_ready || !g_hist[0]) return;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp%d", g_hist, (int)getpid());
    if (write_history(tmp) == 0) rename(tmp, g_hist);
    else remove(tmp);
}

void ui_cmdline_open(App *a, const char *prefill) {
    ui_cmdline_init(a);
    g_done = 0;
    g_line = NULL;
    rl_callback_handler_install("", on_line);
    if (prefill && *prefill) rl_insert_text(prefill);
    a->prompt = 1;
}

static void close_prompt(App *a) {
    a->prompt = 0;
    a->cv.show_cursor = 0;
}

int ui_cmdline_key(App *a, int key) {
    const char *seq = NULL;
    char one[2] = {0, 0};
    switch (key) {
    case 27: /* Esc: cancel */
        rl_callback_handler_remove();
        close_prompt(a);
        a->s->msg[0] = 0;
        return SESS_REDRAW;
    case KEY_RESIZE: return SESS_REDRAW;
    case KEY_LEFT: seq = "\033[D"; break;
    case KEY_RIGHT: seq = "\033[C"; break;
    case KEY_UP: seq = "\033[A"; break;
    case KEY_DOWN: seq = "\033[B"; break;
    case KEY_HOME: seq = "\001"; break;
    case KEY_END: seq = "\005"; break;
    case KEY_DC: seq = "\033[3~"; break;
    case KEY_BACKSPACE: seq = "\177"; break;
    case KEY_ENTER: case '\r': seq = "\n"; break;
    default:
        if (key < 0 || key > 255) return 0;
        one[0] = (char)key;
        seq = one;
        if (key == 0) return 0;
    }
    size_t n = strlen(seq);
    memcpy(g_q, seq, n);
    g_qh = 0;
    g_qn = (int)n;
    while (g_qh < g_qn && !g_done) rl_callback_read_char();
    if (!g_done) return SESS_REDRAW;
    close_prompt(a);
    if (!g_line) return SESS_REDRAW; /* ^D on an empty line */
    char *line = g_line;
    g_line = NULL;
    int f = SESS_REDRAW;
    if (*line) {
        HIST_ENTRY *last = history_length > 0 ? history_get(history_base + history_length - 1) : NULL;
        if (!last || strcmp(last->line, line)) add_history(line); /* no repeats in a row */
        f |= ui_app_exec(a, line);
    }
    free(line);
    return f;
}

void ui_cmdline_draw(App *a, Canvas *cv, int y) {
    (void)a;
    const char *buf = rl_line_buffer ? rl_line_buffer : "";
    int point = rl_point, W = cv->w - 2;
    /* columns of the point, then scroll so that it shows */
    int col = 0;
    for (int i = 0; i < point && buf[i]; i++) col += ((unsigned char)buf[i] & 0xC0) != 0x80;
    int skip = col > W - 1 ? col - (W - 1) : 0, start = 0;
    for (int c = 0; c < skip && buf[start]; start++) if (((unsigned char)buf[start + 1] & 0xC0) != 0x80) c++;
    ui_canvas_fill(cv, y, 0, cv->w, EL_PROMPT, ' ');
    ui_canvas_put(cv, y, 0, 1, EL_PROMPT, ":");
    ui_canvas_put(cv, y, 1, W + 1, EL_PROMPT, buf + start);
    cv->show_cursor = 1;
    cv->cur_y = y;
    cv->cur_x = 1 + col - skip;
}
