/* csvout.c — CSV output rows via libcsv's csv_fwrite. */
#include "modex/csvout.h"
#include <csv.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

void modex_csv_begin(CsvOut *c, FILE *f) { c->f = f; c->col = 0; c->bad = 0; }

static void sep(CsvOut *c) {
    if (c->col++ && fputc(',', c->f) == EOF) c->bad = 1;
}

void modex_csv_str(CsvOut *c, const char *s) {
    sep(c);
    if (!s) s = "";
    /* csv_fwrite always quotes; quote only when needed so numbers-as-text stay plain */
    if (strpbrk(s, ",\"\r\n") || (s[0] == ' ') || (s[0] && s[strlen(s) - 1] == ' ')) {
        if (csv_fwrite(c->f, s, strlen(s)) != 0) c->bad = 1;
    } else if (fputs(s, c->f) == EOF && *s) c->bad = 1;
}

void modex_csv_int(CsvOut *c, long long v) {
    sep(c);
    if (fprintf(c->f, "%lld", v) < 0) c->bad = 1;
}

void modex_csv_num(CsvOut *c, double v) {
    sep(c);
    if (isnan(v)) return;
    if (fprintf(c->f, "%.9g", v) < 0) c->bad = 1;
}

void modex_csv_fmt(CsvOut *c, const char *fmt, ...) {
    char buf[4096];
    va_list ap; va_start(ap, fmt); vsnprintf(buf, sizeof buf, fmt, ap); va_end(ap);
    modex_csv_str(c, buf);
}

void modex_csv_end_row(CsvOut *c) {
    if (fputs("\r\n", c->f) == EOF) c->bad = 1;
    c->col = 0;
}

void modex_csv_header(CsvOut *c, const char *names) {
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", names);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) modex_csv_str(c, tok);
    modex_csv_end_row(c);
}
