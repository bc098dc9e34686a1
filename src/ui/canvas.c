/* canvas.c — the character grid the views draw into; app.c copies it to the terminal and
 * `dump` writes it as text. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include "modex/util.h"
#include "ui.h"

void ui_canvas_resize(Canvas *cv, int w, int h) {
    if (w < 1) w = 1;
    if (h < 1) h = 1;
    if (w != cv->w || h != cv->h || !cv->c) {
        free(cv->c);
        cv->c = modex_xcalloc((size_t)w * h, sizeof *cv->c);
        cv->w = w;
        cv->h = h;
    }
    ui_canvas_clear(cv);
}

void ui_canvas_free(Canvas *cv) { free(cv->c); memset(cv, 0, sizeof *cv); }

void ui_canvas_clear(Canvas *cv) {
    for (int i = 0; i < cv->w * cv->h; i++) { cv->c[i].ch[0] = ' '; cv->c[i].ch[1] = 0; cv->c[i].el = EL_NORMAL; }
    cv->show_cursor = 0;
}

int ui_canvas_put(Canvas *cv, int y, int x, int maxw, UiElem el, const char *s) {
    if (y < 0 || y >= cv->h || x >= cv->w || !s) return 0;
    if (maxw < 0 || x + maxw > cv->w) maxw = cv->w - x;
    int used = 0;
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    while (*p && used < maxw) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p, -1, &cp);
        if (n <= 0) { cp = '?'; n = 1; }
        int w = cp < 32 ? 1 : utf8proc_charwidth(cp);
        if (w <= 0) { p += n; continue; } /* combining marks are dropped */
        if (used + w > maxw) break;
        if (x + used >= 0) {
            Cell *c = &cv->c[(size_t)y * cv->w + x + used];
            if (cp < 32 || cp == 127) { c->ch[0] = ' '; c->ch[1] = 0; }
            else { memcpy(c->ch, p, (size_t)n); c->ch[n] = 0; }
            c->el = (unsigned char)el;
            if (w == 2) { c[1].ch[0] = 0; c[1].el = (unsigned char)el; }
        }
        used += w;
        p += n;
    }
    return used;
}

int ui_canvas_printf(Canvas *cv, int y, int x, int maxw, UiElem el, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return ui_canvas_put(cv, y, x, maxw, el, buf);
}

void ui_canvas_fill(Canvas *cv, int y, int x, int w, UiElem el, char ch) {
    if (y < 0 || y >= cv->h) return;
    for (int i = x < 0 ? 0 : x; i < x + w && i < cv->w; i++) {
        Cell *c = &cv->c[(size_t)y * cv->w + i];
        c->ch[0] = ch; c->ch[1] = 0; c->el = (unsigned char)el;
    }
}

void ui_canvas_set_el(Canvas *cv, int y, int x, int w, UiElem el) {
    if (y < 0 || y >= cv->h) return;
    for (int i = x < 0 ? 0 : x; i < x + w && i < cv->w; i++) cv->c[(size_t)y * cv->w + i].el = (unsigned char)el;
}

void ui_canvas_dump(const Canvas *cv, FILE *f) {
    for (int y = 0; y < cv->h; y++) {
        const Cell *row = &cv->c[(size_t)y * cv->w];
        int end = cv->w;
        while (end > 0 && row[end - 1].ch[0] == ' ' && !row[end - 1].ch[1]) end--;
        for (int x = 0; x < end; x++) fputs(row[x].ch, f);
        fputc('\n', f);
    }
}
