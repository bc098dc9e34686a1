/* csvout.h — RFC 4180 CSV rows through libcsv's writer (csv_fwrite quotes only when needed). */
#ifndef MODEX_CSVOUT_H
#define MODEX_CSVOUT_H
#include <stdio.h>

typedef struct CsvOut {
    FILE *f;
    int col;    /* fields written on the current row */
    int bad;    /* a write failed */
} CsvOut;

void modex_csv_begin(CsvOut *c, FILE *f);
void modex_csv_str(CsvOut *c, const char *s);       /* quoted as needed */
void modex_csv_int(CsvOut *c, long long v);
void modex_csv_num(CsvOut *c, double v);            /* %.9g; NaN written as empty */
void modex_csv_fmt(CsvOut *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void modex_csv_end_row(CsvOut *c);
/* Writes a header row from a comma-separated list of names. */
void modex_csv_header(CsvOut *c, const char *names);

#endif
