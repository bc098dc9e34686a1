/* ui.h — the explorer's screen side: a character canvas the views draw into (no curses, so
 * scripts and tests see exactly what a terminal would), the view operations, the colour
 * scheme, key names and the application loop. Only app.c, cmdline.c and keys.c use curses. */
#ifndef MODEX_UI_H
#define MODEX_UI_H
#include <stdio.h>
#include "modex/session.h"

// --- colour scheme: drawing code names an element, never a colour --------------------------------
typedef enum UiElem {
    EL_NORMAL, EL_TITLE, EL_HEADER, EL_HEADER_SEL, EL_CURSOR, EL_CURSOR_CELL, EL_STATUS, EL_MSG,
    EL_ERROR, EL_MASKED, EL_FUNCTIONAL, EL_BAR, EL_DIM, EL_PROMPT, EL_PENDING,
    EL_HEAT0, EL_HEAT9 = EL_HEAT0 + 9,
    EL_COUNT
} UiElem;

// --- canvas -------------------------------------------------------------------------------------
typedef struct Cell { char ch[5]; unsigned char el; } Cell; /* ch: one UTF-8 character; "" = right half of a wide one */
typedef struct Canvas {
    int w, h;
    Cell *c;
    int cur_y, cur_x, show_cursor;
} Canvas;
void ui_canvas_resize(Canvas *cv, int w, int h);
void ui_canvas_free(Canvas *cv);
void ui_canvas_clear(Canvas *cv);
/* Writes UTF-8 text at (y, x), at most maxw columns; returns the columns used. */
int  ui_canvas_put(Canvas *cv, int y, int x, int maxw, UiElem el, const char *s);
int  ui_canvas_printf(Canvas *cv, int y, int x, int maxw, UiElem el, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void ui_canvas_fill(Canvas *cv, int y, int x, int w, UiElem el, char ch);
void ui_canvas_set_el(Canvas *cv, int y, int x, int w, UiElem el); /* recolour cells */
/* The screen as text: one line per row, trailing blanks removed. */
void ui_canvas_dump(const Canvas *cv, FILE *f);

// --- views: one file each, a table of operations ---------------------------------------------------
struct App;
typedef struct ViewOps {
    ViewId id;
    void (*open)(struct App *a);                             /* on entering the view (may be NULL) */
    void (*draw)(struct App *a, Canvas *cv, int y0, int y1); /* body rows [y0, y1) */
    int  (*key)(struct App *a, int key);                     /* view-only keys: SESS_* flags, 0 = not mine */
    void (*select)(struct App *a, int row);                  /* a click on table row `row` */
    int  (*export)(struct App *a, const char *path, int force, Error *err);
} ViewOps;
extern const ViewOps ui_view_layers, ui_view_experts, ui_view_neurons, ui_view_perturb, ui_view_help;
const ViewOps *ui_view_ops(ViewId v);

/* The generic table drawer the views share: header + rows of t with the cursor of vs;
 * returns the first screen row after the table. first_row_y receives the y of row `top`. */
typedef struct TableGeom { int y0, y_rows, n_shown; } TableGeom;
int  ui_draw_table(struct App *a, Canvas *cv, const ViewTable *t, ViewState *vs, int y0, int y1, TableGeom *g);
int  ui_view_export(struct App *a, const char *path, int force, Error *err); /* the session's */
/* heatmap.c: one cell (w columns: glyphs, then '!' for a functional expert), and the legend. */
int  ui_heat_cell(Canvas *cv, int y, int x, int w, double v, double lo, double hi, int functional, int cursor);
void ui_heat_legend(Canvas *cv, int y, double lo, double hi, int raw);
void ui_view_select(struct App *a, int row);

// --- keys -------------------------------------------------------------------------------------
/* Curses key codes of a key name ("j", "Down", "^D", "S-Tab", "Space", "F1"); returns count. */
int  ui_key_codes(const char *name, int *codes, int max);
CmdId ui_key_command(int code);      /* CMD_NONE if unbound */
void ui_keys_init(void);

// --- the application ------------------------------------------------------------------------------
typedef struct App {
    Session *s;
    Canvas cv;
    int curses, color, mouse;
    int prompt;                /* the command line is open */
    int dirty, too_small;
    TableGeom geom;            /* of the last drawn table, for mouse clicks */
    const char *script_name;
    int script_line;
} App;

void ui_app_draw(App *a);                        /* whole screen into a->cv */
int  ui_app_key(App *a, int key);                /* one key: flags */
int  ui_app_exec(App *a, const char *line);      /* one command line: flags */
int  ui_app_run(App *a);                         /* the interactive loop; exit status */
int  ui_app_script(App *a, FILE *in, const char *name, int echo); /* exit status */

void ui_app_frame(App *a);                       /* draw, and copy to the terminal if any */
int  ui_term_start(App *a);                      /* curses on the terminal */
int  ui_term_start_on(App *a, const char *term, FILE *out, FILE *in, int w, int h); /* bench */
int  ui_term_setup(App *a);
/* term_restore.c: save the terminal modes before initscr (1 if there is a terminal), then arm
 * the fatal-signal restore once curses runs (ui_term_end disarms it). */
int  ui_fatal_restore_save(void);
void ui_fatal_restore_arm(void);
void ui_term_end(App *a);

// --- cmdline.c (readline's callback interface) ---------------------------------------------------
void ui_cmdline_init(App *a);
void ui_cmdline_end(void);
void ui_cmdline_open(App *a, const char *prefill);
int  ui_cmdline_key(App *a, int key); /* flags; closes the prompt on Enter/Esc */
void ui_cmdline_draw(App *a, Canvas *cv, int y);

#endif
