/* term_restore.c — gives the user their terminal back when a fatal signal (SIGBUS from a model
 * file truncated under us) ends the explorer while curses owns the screen: the handler cannot
 * call endwin(), so the terminal modes from before initscr and the bytes that leave the
 * alternate screen, stop mouse reports, reset attributes and show the cursor are kept ready. */
#include "ui.h" /* before term.h, whose capability macros (lines, columns, ...) would clash */
#include <curses.h>
#include <string.h>
#include <term.h>
#include <termios.h>
#include <unistd.h>
#include "modex/util.h"

static struct termios g_tio;
static char g_leave[256];
static size_t g_leave_n;

static void leave_add(const char *s) {
    if (!s || s == (const char *)-1) return;
    size_t n = strlen(s);
    if (g_leave_n + n < sizeof g_leave) { memcpy(g_leave + g_leave_n, s, n); g_leave_n += n; }
}

static void restore(void) { /* async-signal-safe: write and tcsetattr only */
    size_t off = 0;
    while (off < g_leave_n) {
        ssize_t w = write(STDOUT_FILENO, g_leave + off, g_leave_n - off);
        if (w <= 0) break;
        off += (size_t)w;
    }
    tcsetattr(STDIN_FILENO, TCSANOW, &g_tio);
}

int ui_fatal_restore_save(void) { return tcgetattr(STDIN_FILENO, &g_tio) == 0; }

void ui_fatal_restore_arm(void) {
    g_leave_n = 0;
    leave_add("\033[?1000l\033[?1002l\033[?1006l"); /* mouse reports off */
    leave_add(tigetstr("sgr0"));
    leave_add(tigetstr("cnorm"));
    leave_add(tigetstr("rmcup"));
    leave_add("\r\n");
    modex_fatal_restore_set(restore);
}
