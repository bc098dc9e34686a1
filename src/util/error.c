/* error.c — formatting of the one-line errors (see error.h). */
#include "modex/error.h"
#include <stdio.h>
#include <string.h>

static int vset(Error *e, const char *prefix, const char *fmt, va_list ap) {
    if (!e) return -1;
    int n = snprintf(e->msg, sizeof e->msg, "%s", prefix);
    if (n < 0) n = 0;
    if ((size_t)n < sizeof e->msg) vsnprintf(e->msg + n, sizeof e->msg - (size_t)n, fmt, ap);
    return -1;
}

int modex_error(Error *e, const char *file, const char *fmt, ...) {
    char p[1100];
    snprintf(p, sizeof p, "%s: ", file ? file : "(input)");
    va_list ap; va_start(ap, fmt); vset(e, p, fmt, ap); va_end(ap);
    return -1;
}

int modex_error_at(Error *e, const char *file, long long off, const char *fmt, ...) {
    char p[1100];
    snprintf(p, sizeof p, "%s:%lld: ", file ? file : "(input)", off);
    va_list ap; va_start(ap, fmt); vset(e, p, fmt, ap); va_end(ap);
    return -1;
}

int modex_error_line(Error *e, const char *file, long line, long col, const char *fmt, ...) {
    char p[1100];
    if (col > 0) snprintf(p, sizeof p, "%s:%ld:%ld: ", file ? file : "(input)", line, col);
    else snprintf(p, sizeof p, "%s:%ld: ", file ? file : "(input)", line);
    va_list ap; va_start(ap, fmt); vset(e, p, fmt, ap); va_end(ap);
    return -1;
}

void modex_error_print(const Error *e) {
    fprintf(stderr, "modex: %s\n", e && e->msg[0] ? e->msg : "unknown error");
}
