/* error.h — one error sentence with its place: "FILE:POS: what is wrong (what was expected)".
 * Every function that can fail takes an Error * (may be NULL), fills it and returns -1 / NULL. */
#ifndef MODEX_ERROR_H
#define MODEX_ERROR_H
#include <stdarg.h>

typedef struct Error {
    char msg[1536]; /* full text without the "modex: " prefix */
} Error;

/* FILE: message */
int modex_error(Error *e, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* FILE:OFFSET: message (byte offset into a binary file) */
int modex_error_at(Error *e, const char *file, long long offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* FILE:LINE:COL: message (text files; col <= 0 leaves it out) */
int modex_error_line(Error *e, const char *file, long line, long col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Prints "modex: <msg>" on stderr. */
void modex_error_print(const Error *e);

#endif
