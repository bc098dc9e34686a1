/* probe.c — probe CSV reader (libcsv in strict mode). See include/modex/probe.h for the
 * format. libcsv does not report positions, so the input is fed in chunks that end just after
 * every ',', '\n' and '\r': a field is only ever completed by the last byte of a chunk, which
 * gives each field's start offset, hence exact LINE:COL in error messages. */
#include "modex/probe.h"
#include <csv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <utf8proc.h>
#include "modex/util.h"

enum { COL_TEXT, COL_LABEL, COL_FUNCTION, COL_SUBFUNCTION, COL_SPAN, COL_ANSWER, COL_ID, NCOL };
static const char *const col_names[NCOL] = {"text", "label", "function", "subfunction",
                                            "span", "answer", "id"};
static const char *const default_function = "default";

// --- a small open-addressing index of ints keyed by a caller-computed hash ------------------

typedef struct IndexSlot {
    uint32_t hash;  /* low bits of the key's hash, checked before the (costlier) key compare */
    int val;        /* -1 = empty */
} IndexSlot;

typedef struct Index {
    IndexSlot *slot; /* one array: a probe touches one cache line */
    size_t cap, n;
} Index;

typedef int (*IndexEq)(const void *ctx, int val);

static uint64_t fnv1a(const void *p, size_t n, uint64_t h) {
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ull;
    return h ^ (h >> 29); /* fold the well-mixed high bits into the ones the mask keeps */
}
#define FNV_SEED 14695981039346656037ull

static void index_grow(Index *ix) {
    size_t cap = ix->cap ? ix->cap * 2 : 64;
    IndexSlot *slot = modex_xmalloc(cap * sizeof *slot);
    for (size_t i = 0; i < cap; i++) slot[i].val = -1;
    for (size_t i = 0; i < ix->cap; i++) {
        if (ix->slot[i].val < 0) continue;
        size_t j = ix->slot[i].hash & (cap - 1);
        while (slot[j].val >= 0) j = (j + 1) & (cap - 1);
        slot[j] = ix->slot[i];
    }
    free(ix->slot);
    ix->slot = slot, ix->cap = cap;
}

/* Returns the stored value equal to the key, or stores `fresh` and returns -1. */
static int index_get_or_put(Index *ix, uint64_t h64, IndexEq eq, const void *ctx, int fresh) {
    if ((ix->n + 1) * 2 > ix->cap) index_grow(ix);
    uint32_t h = (uint32_t)h64;
    size_t j = h & (ix->cap - 1);
    for (; ix->slot[j].val >= 0; j = (j + 1) & (ix->cap - 1))
        if (ix->slot[j].hash == h && eq(ctx, ix->slot[j].val)) return ix->slot[j].val;
    ix->slot[j].val = fresh, ix->slot[j].hash = h, ix->n++;
    return -1;
}

static void index_free(Index *ix) { free(ix->slot); }

// --- parser state ----------------------------------------------------------------------------

typedef struct Field {
    char *s;        /* NUL-terminated copy */
    size_t len;
    size_t off;     /* byte offset of the field's first byte (its opening quote if quoted) */
} Field;

typedef struct Parser {
    const char *name, *data;
    size_t len;
    Error *err;
    int failed;
    Probe *p;
    struct csv_parser csv;
    size_t chunk_end, field_start;
    size_t cur_off; long cur_line;   /* line_of's cursor */
    Field *f; int nf, fcap;          /* the record being read */
    int have_header, col[NCOL];      /* col[c] = field index of column c, or -1 */
    int header_fields, header_line;
    int cap_texts, cap_units, cap_rows, cap_subs, cap_funcs;
    int *sub_first_line;             /* line of each sub-function's first row */
    Index texts, units, examples;    /* examples: (unit, sub) -> first row index */
    /* keys under lookup */
    const char *key_s; size_t key_len; ProbeUnit key_unit; int key_row_unit, key_sub;
} Parser;

/* A line ends with \n, \r\n or a lone \r (old Mac files). */
static int is_newline(const Parser *ps, size_t i) {
    char c = ps->data[i];
    return c == '\n' || (c == '\r' && (i + 1 >= ps->len || ps->data[i + 1] != '\n'));
}

/* 1-based line and character column of a byte offset (error path only: a linear scan). */
static void locate(const Parser *ps, size_t off, long *line, long *col) {
    long l = 1, c = 1;
    for (size_t i = 0; i < off && i < ps->len; i++) {
        unsigned char b = (unsigned char)ps->data[i];
        if (is_newline(ps, i)) l++, c = 1;
        else if (b == '\r') continue;
        else if ((b & 0xC0) != 0x80) c++;
    }
    *line = l, *col = c;
}

/* Line of a byte offset. Rows arrive in file order, so a cursor makes the scans linear. */
static long line_of(Parser *ps, size_t off) {
    if (off < ps->cur_off) ps->cur_off = 0, ps->cur_line = 1;
    for (size_t i = ps->cur_off; i < off && i < ps->len; i++) ps->cur_line += is_newline(ps, i);
    ps->cur_off = off;
    return ps->cur_line;
}

#define FAIL_AT(ps, off, ...)                                                     \
    do {                                                                          \
        long l_, c_;                                                              \
        locate((ps), (off), &l_, &c_);                                            \
        modex_error_line((ps)->err, (ps)->name, l_, c_, __VA_ARGS__);             \
        (ps)->failed = 1;                                                         \
    } while (0)
#define FAIL_LINE(ps, line, ...)                                                  \
    do {                                                                          \
        modex_error_line((ps)->err, (ps)->name, (line), 0, __VA_ARGS__);          \
        (ps)->failed = 1;                                                         \
    } while (0)

/* A value for quoting in a one-line message: control characters escaped, long ones cut. */
static const char *clip(const char *s, char *buf, size_t n) {
    size_t o = 0;
    for (; *s && o + 8 < n; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\n') buf[o++] = '\\', buf[o++] = 'n';
        else if (c == '\r') buf[o++] = '\\', buf[o++] = 'r';
        else if (c < 0x20 || c == 0x7F) o += (size_t)snprintf(buf + o, n - o, "\\x%02X", c);
        else buf[o++] = (char)c;
    }
    if (*s) { /* cut: don't leave half a character */
        while (o > 0 && ((unsigned char)buf[o - 1] & 0xC0) == 0x80) o--;
        if (o > 0 && ((unsigned char)buf[o - 1] & 0xC0) == 0xC0) o--;
        memcpy(buf + o, "...", 3), o += 3;
    }
    buf[o] = 0;
    return buf;
}

static int is_blank(int c) { return c == ' ' || c == '\t'; }

/* Trims ASCII blanks in place (the copy is ours). */
static char *trim(char *s) {
    while (is_blank((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n > 0 && is_blank((unsigned char)s[n - 1])) s[--n] = 0;
    return s;
}

// --- tables of texts, units, functions, sub-functions -----------------------------------------

static int eq_text(const void *ctx, int i) {
    const Parser *ps = ctx;
    return ps->p->text_len[i] == ps->key_len && memcmp(ps->p->texts[i], ps->key_s, ps->key_len) == 0;
}

static int eq_unit(const void *ctx, int i) {
    const Parser *ps = ctx;
    const ProbeUnit *u = &ps->p->units[i], *k = &ps->key_unit;
    return u->text == k->text && u->span_begin == k->span_begin && u->span_end == k->span_end;
}

static int eq_example(const void *ctx, int i) {
    const Parser *ps = ctx;
    return ps->p->rows[i].unit == ps->key_row_unit && ps->p->rows[i].sub == ps->key_sub;
}

#define GROW(arr, n, cap)                                                         \
    do {                                                                          \
        if ((n) >= (cap)) {                                                       \
            (cap) = (cap) ? (cap) * 2 : 16;                                       \
            (arr) = modex_xrealloc((arr), (size_t)(cap) * sizeof *(arr));         \
        }                                                                         \
    } while (0)

static int intern_text(Parser *ps, const char *s, size_t len) {
    Probe *p = ps->p;
    ps->key_s = s, ps->key_len = len;
    int i = index_get_or_put(&ps->texts, fnv1a(s, len, FNV_SEED), eq_text, ps, p->n_texts);
    if (i >= 0) return i;
    if (p->n_texts >= ps->cap_texts) { /* two parallel arrays */
        ps->cap_texts = ps->cap_texts ? ps->cap_texts * 2 : 16;
        p->texts = modex_xrealloc(p->texts, (size_t)ps->cap_texts * sizeof *p->texts);
        p->text_len = modex_xrealloc(p->text_len, (size_t)ps->cap_texts * sizeof *p->text_len);
    }
    p->texts[p->n_texts] = modex_xstrdup(s);
    p->text_len[p->n_texts] = len;
    return p->n_texts++;
}

static int intern_unit(Parser *ps, int text, int b, int e) {
    Probe *p = ps->p;
    ps->key_unit = (ProbeUnit){text, b, e};
    int k[3] = {text, b, e};
    int i = index_get_or_put(&ps->units, fnv1a(k, sizeof k, FNV_SEED), eq_unit, ps, p->n_units);
    if (i >= 0) return i;
    GROW(p->units, p->n_units, ps->cap_units);
    p->units[p->n_units] = ps->key_unit;
    return p->n_units++;
}

static int intern_function(Parser *ps, const char *name) {
    Probe *p = ps->p;
    for (int i = 0; i < p->n_funcs; i++)
        if (strcmp(p->funcs[i], name) == 0) return i;
    GROW(p->funcs, p->n_funcs, ps->cap_funcs);
    p->funcs[p->n_funcs] = modex_xstrdup(name);
    return p->n_funcs++;
}

/* Returns the sub-function's index, or -1 (error set) when the name is in another function. */
static int intern_sub(Parser *ps, const char *name, int func, size_t off, int line) {
    Probe *p = ps->p;
    for (int i = 0; i < p->n_subs; i++) {
        if (strcmp(p->subs[i].name, name) != 0) continue;
        if (p->subs[i].function != func) {
            char b1[80], b2[80], b3[80];
            FAIL_AT(ps, off,
                    "sub-function '%s' given function '%s', but line %d gave it '%s' "
                    "(expected each sub-function name in one function)",
                    clip(name, b1, sizeof b1), clip(p->funcs[func], b2, sizeof b2),
                    ps->sub_first_line[i], clip(p->funcs[p->subs[i].function], b3, sizeof b3));
            return -1;
        }
        return i;
    }
    if (p->n_subs >= ps->cap_subs) { /* two parallel arrays */
        ps->cap_subs = ps->cap_subs ? ps->cap_subs * 2 : 16;
        p->subs = modex_xrealloc(p->subs, (size_t)ps->cap_subs * sizeof *p->subs);
        ps->sub_first_line = modex_xrealloc(ps->sub_first_line, (size_t)ps->cap_subs * sizeof *ps->sub_first_line);
    }
    p->subs[p->n_subs] = (SubFunction){.name = modex_xstrdup(name), .function = func};
    ps->sub_first_line[p->n_subs] = line;
    return p->n_subs++;
}

// --- records -----------------------------------------------------------------------------------

static void read_header(Parser *ps) {
    for (int c = 0; c < NCOL; c++) ps->col[c] = -1;
    ps->header_line = (int)line_of(ps, ps->f[0].off);
    ps->header_fields = ps->nf;
    for (int i = 0; i < ps->nf; i++) {
        const char *h = trim(ps->f[i].s);
        char b[80];
        if (!*h) {
            FAIL_AT(ps, ps->f[i].off, "empty column name (expected one of text, label, function, "
                    "subfunction, span, answer, id; is there a trailing comma?)");
            return;
        }
        int c = 0;
        while (c < NCOL && strcasecmp(h, col_names[c]) != 0) c++;
        if (c == NCOL) {
            FAIL_AT(ps, ps->f[i].off,
                    "unknown column '%s' (expected text, label, function, subfunction, span, "
                    "answer or id)", clip(h, b, sizeof b));
            return;
        }
        if (ps->col[c] >= 0) {
            FAIL_AT(ps, ps->f[i].off, "column '%s' appears twice (expected each column once)",
                    clip(h, b, sizeof b));
            return;
        }
        ps->col[c] = i;
    }
    for (int c = 0; c < 2; c++) /* text, label */
        if (ps->col[c] < 0) {
            FAIL_LINE(ps, ps->header_line,
                      "missing column '%s' (expected a header row with at least text and label, "
                      "e.g. text,function,subfunction,label)", col_names[c]);
            return;
        }
    ps->have_header = 1;
}

static Field *col(Parser *ps, int c) { return ps->col[c] >= 0 ? &ps->f[ps->col[c]] : NULL; }

static void read_row(Parser *ps) {
    Probe *p = ps->p;
    int line = (int)line_of(ps, ps->f[0].off);
    char b1[80], b2[80];
    if (ps->nf != ps->header_fields) {
        FAIL_LINE(ps, line, "row has %d field%s (expected %d, as in the header on line %d)",
                  ps->nf, ps->nf == 1 ? "" : "s", ps->header_fields, ps->header_line);
        return;
    }
    Field *text = col(ps, COL_TEXT), *label = col(ps, COL_LABEL);
    Field *fn = col(ps, COL_FUNCTION), *sub = col(ps, COL_SUBFUNCTION);
    Field *span = col(ps, COL_SPAN), *answer = col(ps, COL_ANSWER), *id = col(ps, COL_ID);

    size_t k = 0;
    while (k < text->len && (is_blank((unsigned char)text->s[k]) || text->s[k] == '\n' || text->s[k] == '\r')) k++;
    if (k == text->len) { FAIL_AT(ps, text->off, "empty text (expected the example's text)"); return; }

    const char *lab = trim(label->s);
    if (strcmp(lab, "0") != 0 && strcmp(lab, "1") != 0) {
        FAIL_AT(ps, label->off, "label '%s' (expected 1 or 0)", clip(lab, b1, sizeof b1));
        return;
    }
    const char *fname = fn ? trim(fn->s) : default_function;
    if (!*fname) { FAIL_AT(ps, fn->off, "empty function (expected a name, e.g. semantic)"); return; }
    const char *sname = sub ? trim(sub->s) : fname;
    if (!*sname) { FAIL_AT(ps, sub->off, "empty subfunction (expected a name, e.g. sentiment)"); return; }

    int sb = -1, se = -1;
    if (span && span->len > 0) {
        const char *hit = memmem(text->s, text->len, span->s, span->len);
        if (!hit) {
            FAIL_AT(ps, span->off, "span '%s' is not in the text '%s' (expected a substring of the "
                    "row's text)", clip(span->s, b1, sizeof b1), clip(text->s, b2, sizeof b2));
            return;
        }
        sb = (int)(hit - text->s), se = sb + (int)span->len;
        p->has_span = 1;
    }

    int fi = intern_function(ps, fname);
    int si = intern_sub(ps, sname, fi, sub ? sub->off : fn ? fn->off : ps->f[0].off, line);
    if (si < 0) return;
    int ti = intern_text(ps, text->s, text->len);
    int ui = intern_unit(ps, ti, sb, se);

    /* One example, one label: the same (text, span) twice in a sub-function must agree. */
    unsigned char y = (unsigned char)(lab[0] - '0');
    ps->key_row_unit = ui, ps->key_sub = si;
    int kx[2] = {ui, si};
    int prev = index_get_or_put(&ps->examples, fnv1a(kx, sizeof kx, FNV_SEED), eq_example, ps,
                                p->n_rows);
    if (prev >= 0 && p->rows[prev].label != y) {
        FAIL_AT(ps, label->off, "label %d contradicts label %d for the same text%s in sub-function "
                "'%s' on line %d (expected one label per example)", y, p->rows[prev].label,
                sb >= 0 ? " and span" : "", clip(sname, b1, sizeof b1), p->rows[prev].line);
        return;
    }

    GROW(p->rows, p->n_rows, ps->cap_rows);
    ProbeRow *r = &p->rows[p->n_rows++];
    *r = (ProbeRow){.unit = ui, .sub = si, .label = y, .line = line};
    if (answer && answer->len > 0) r->answer = modex_xstrdup(answer->s), p->has_answer = 1;
    if (id && *trim(id->s)) r->id = modex_xstrdup(trim(id->s));
    SubFunction *s = &p->subs[si];
    s->n_rows++;
    if (y) s->n_pos++; else s->n_neg++;
}

static void clear_record(Parser *ps) {
    for (int i = 0; i < ps->nf; i++) free(ps->f[i].s);
    ps->nf = 0;
}

static void on_field(void *s, size_t len, void *ctx) {
    Parser *ps = ctx;
    if (ps->failed) return;
    GROW(ps->f, ps->nf, ps->fcap);
    Field *f = &ps->f[ps->nf++];
    f->s = modex_xmalloc(len + 1);
    if (len) memcpy(f->s, s, len);
    f->s[len] = 0;
    f->len = len;
    f->off = ps->field_start;
    ps->field_start = ps->chunk_end;
}

static void on_row(int c, void *ctx) {
    (void)c;
    Parser *ps = ctx;
    if (!ps->failed && ps->nf > 0) {
        /* A line of blanks is one whitespace-only field: skip it like an empty line. */
        int blank = ps->nf == 1;
        for (size_t i = 0; blank && i < ps->f[0].len; i++) blank = is_blank((unsigned char)ps->f[0].s[i]);
        if (!blank) {
            if (!ps->have_header) read_header(ps);
            else read_row(ps);
        }
    }
    clear_record(ps);
}

static int no_space(unsigned char c) { (void)c; return 0; } /* fields are kept byte-exact */

// --- whole file --------------------------------------------------------------------------------

/* Every byte must be UTF-8 and none NUL: checked once over the file, so every field is. */
static int check_utf8(Parser *ps, size_t from) {
    const utf8proc_uint8_t *d = (const utf8proc_uint8_t *)ps->data;
    for (size_t i = from; i < ps->len;) {
        if (d[i] == 0) { FAIL_AT(ps, i, "NUL byte (expected UTF-8 text)"); return -1; }
        if (d[i] < 0x80) { i++; continue; }
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(d + i, (utf8proc_ssize_t)MODEX_MIN(ps->len - i, 4), &cp);
        if (n <= 0) {
            FAIL_AT(ps, i, "invalid UTF-8 byte 0x%02X (expected UTF-8 text; re-save the file as UTF-8)", d[i]);
            return -1;
        }
        i += (size_t)n;
    }
    return 0;
}

static void finish(Parser *ps) {
    Probe *p = ps->p;
    if (!ps->have_header) {
        FAIL_LINE(ps, 1, "empty file (expected a header row, e.g. text,function,subfunction,label, "
                  "then one example per row)");
        return;
    }
    if (p->n_rows == 0) {
        FAIL_LINE(ps, ps->header_line + 1, "no examples after the header (expected at least one row)");
        return;
    }
    for (int i = 0; i < p->n_subs; i++) {
        SubFunction *s = &p->subs[i];
        if (s->n_pos == 0 || s->n_neg == 0) {
            char b[80];
            FAIL_LINE(ps, ps->sub_first_line[i], "sub-function '%s' has only label %d (%d row%s) "
                      "(expected examples with label 1 and with label 0)", clip(s->name, b, sizeof b),
                      s->n_pos ? 1 : 0, s->n_rows, s->n_rows == 1 ? "" : "s");
            return;
        }
        s->rows = modex_xmalloc((size_t)s->n_rows * sizeof *s->rows);
        s->n_rows = 0;
    }
    for (int r = 0; r < p->n_rows; r++) {
        SubFunction *s = &p->subs[p->rows[r].sub];
        s->rows[s->n_rows++] = r;
    }
}

int modex_probe_parse(Probe *p, const char *name, const char *data, size_t len, Error *err) {
    memset(p, 0, sizeof *p);
    Parser ps = {.name = name ? name : "(probe)", .data = data, .len = len, .err = err, .p = p,
                 .cur_line = 1};
    p->path = modex_xstrdup(ps.name);
    size_t pos = 0;
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) pos = 3; /* byte-order mark */
    if (check_utf8(&ps, pos) == 0) {
        if (csv_init(&ps.csv, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) abort();
        csv_set_space_func(&ps.csv, no_space);
        const int row_not_begun = ps.csv.pstate; /* libcsv's state between rows, as after init */
        while (pos < len && !ps.failed) {
            size_t end = pos;
            while (end < len && data[end] != ',' && data[end] != '\n' && data[end] != '\r') end++;
            if (end < len) end++;
            if (ps.csv.pstate == row_not_begun) ps.field_start = pos; /* a row may start here */
            ps.chunk_end = end;
            size_t n = csv_parse(&ps.csv, data + pos, end - pos, on_field, on_row, &ps);
            if (ps.failed) break;
            if (n != end - pos) {
                if (csv_error(&ps.csv) == CSV_ENOMEM) abort();
                FAIL_AT(&ps, pos + n, "misplaced quote (expected a field either without '\"' or "
                        "wholly in quotes, with each inner quote doubled as \"\", followed by ',' "
                        "or the end of the line)");
            }
            pos = end;
        }
        ps.chunk_end = len;
        if (!ps.failed && csv_fini(&ps.csv, on_field, on_row, &ps) != 0)
            FAIL_AT(&ps, ps.field_start, "unterminated quoted field (expected a closing '\"')");
        csv_free(&ps.csv);
        clear_record(&ps);
        if (!ps.failed) finish(&ps);
    }
    free(ps.f);
    free(ps.sub_first_line);
    index_free(&ps.texts), index_free(&ps.units), index_free(&ps.examples);
    if (ps.failed) { modex_probe_free(p); return -1; }
    return 0;
}

int modex_probe_load(Probe *p, const char *path, Error *err) {
    memset(p, 0, sizeof *p);
    size_t len;
    char *data = modex_read_text(path, &len, err);
    if (!data) return -1;
    int rc = modex_probe_parse(p, path, data, len, err);
    free(data);
    return rc;
}

void modex_probe_free(Probe *p) {
    if (!p) return;
    for (int i = 0; i < p->n_texts; i++) free(p->texts[i]);
    for (int i = 0; i < p->n_rows; i++) free(p->rows[i].answer), free(p->rows[i].id);
    for (int i = 0; i < p->n_subs; i++) free(p->subs[i].name), free(p->subs[i].rows);
    for (int i = 0; i < p->n_funcs; i++) free(p->funcs[i]);
    free(p->texts), free(p->text_len), free(p->units), free(p->rows), free(p->subs), free(p->funcs);
    free(p->path);
    memset(p, 0, sizeof *p);
}

int modex_probe_find_sub(const Probe *p, const char *name) {
    for (int i = 0; i < p->n_subs; i++)
        if (strcmp(p->subs[i].name, name) == 0) return i;
    const char *slash = strchr(name, '/');
    for (int i = 0; slash && i < p->n_subs; i++) {
        const SubFunction *s = &p->subs[i];
        const char *f = p->funcs[s->function];
        size_t fl = strlen(f);
        if (fl == (size_t)(slash - name) && memcmp(f, name, fl) == 0 && strcmp(s->name, slash + 1) == 0)
            return i;
    }
    return -1;
}
