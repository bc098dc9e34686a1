/* probe.h — a probe CSV: labelled example texts grouped into sub-functions of functions.
 *
 * Format (full description in assets/probes/README.md): RFC 4180 CSV, UTF-8, a header row,
 * then one example per row. Columns, in any order (names are trimmed, case-insensitive):
 *   text         required  the input text, kept byte-exact (spaces included)
 *   label        required  1 (the example has the property) or 0 (it does not)
 *   subfunction  optional  the property tested; absent column: the function's name, or
 *                          "default" when there is no function column either
 *   function     optional  the kind of property (semantic, knowledge, task ...); absent
 *                          column: "default"
 *   span         optional  a substring of text (its first occurrence); the activation is
 *                          taken over the tokens covering it; empty = whole text
 *   answer       optional  the expected continuation, kept byte-exact; empty = none
 *   id           optional  a name for the row, trimmed; empty = none
 * Unknown or repeated columns are errors (a misspelt "lable" must not be silently dropped).
 * function, subfunction, label and id are trimmed of ASCII blanks; text, span and answer
 * are not. Lines holding only blanks are skipped. A leading UTF-8 byte-order mark is skipped.
 * A sub-function name belongs to one function. The same text may appear in several rows;
 * it is stored (and run) once; the same (text, span) in one sub-function must carry one label.
 * Errors are one line "FILE:LINE[:COL]: what (expected what)"; on error nothing is kept. */
#ifndef MODEX_PROBE_H
#define MODEX_PROBE_H
#include <stddef.h>
#include "modex/error.h"

/* A unique (text, span) pair; span = byte range [span_begin, span_end) in the text, or
 * -1,-1 for the whole text. */
typedef struct ProbeUnit {
    int text;
    int span_begin, span_end;
} ProbeUnit;

typedef struct ProbeRow {
    int unit;
    int sub;
    unsigned char label;  /* 0 or 1 */
    char *answer;         /* NULL if none */
    char *id;             /* NULL if none */
    int line;             /* line of the row's start in the file (1-based) */
} ProbeRow;

typedef struct SubFunction {
    char *name;
    int function;         /* index into Probe.funcs */
    int n_rows;
    int *rows;            /* indices into Probe.rows, in file order */
    int n_pos, n_neg;
} SubFunction;

typedef struct Probe {
    char *path;
    int n_texts;  char **texts; size_t *text_len;   /* unique texts, in order of first appearance */
    int n_units;  ProbeUnit *units;                 /* order of first appearance */
    int n_rows;   ProbeRow *rows;                   /* CSV row order */
    int n_subs;   SubFunction *subs;                /* order of first appearance */
    int n_funcs;  char **funcs;                     /* order of first appearance */
    int has_span, has_answer;                       /* some row has a non-empty span / answer */
} Probe;

int  modex_probe_load(Probe *p, const char *path, Error *err);
/* Same from memory; name is used in error messages and as p->path. data needs no NUL. */
int  modex_probe_parse(Probe *p, const char *name, const char *data, size_t len, Error *err);
void modex_probe_free(Probe *p);
/* Index of the sub-function called name (or "function/name"), or -1. */
int  modex_probe_find_sub(const Probe *p, const char *name);

#include <stdio.h>
/* `modex bench` row: reading speed next to libcsv alone on the same synthetic file. */
int  modex_bench_probe(FILE *out);

#endif
