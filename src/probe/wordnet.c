/* wordnet.c — the WordNet 3.0 database files read directly (wndb(5WN)): data.POS (one synset
 * per line, its byte offset as its key), index.POS (lemma → synsets in sense order) and
 * POS.exc (irregular inflections), plus Morphy's detachment rules for regular ones. */
#include "modex/wordnet.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "modex/util.h"

static const char *const POS_NAME[WN_NPOS] = {"noun", "verb", "adj", "adv"};
static const char POS_CHAR[WN_NPOS] = {'n', 'v', 'a', 'r'};

const char *modex_wordnet_default_dir(void) {
    const char *env = getenv("WNSEARCHDIR");
    if (env && *env) return env;
    static const char *const dirs[] = {"/usr/share/wordnet", "/usr/local/WordNet-3.0/dict",
                                       "/usr/share/wordnet/dict"};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        char *p = modex_path_join(dirs[i], "data.noun");
        int ok = modex_file_exists(p);
        free(p);
        if (ok) return dirs[i];
    }
    return dirs[0];
}

// --- growable pools -------------------------------------------------------------------

#define GROW(arr, n, cap)                                                                  \
    do {                                                                                   \
        if ((n) >= (cap)) {                                                                \
            (cap) = (cap) ? (cap) * 2 : 1024;                                              \
            (arr) = modex_xrealloc((arr), (size_t)(cap) * sizeof *(arr));                  \
        }                                                                                  \
    } while (0)

// --- line cursor ----------------------------------------------------------------------

/* One line being parsed; fields are separated by single spaces (runs are tolerated). */
typedef struct Cursor {
    char *p, *end;     /* unread part of the line (end = the '\n' or the text's end) */
    const char *path;
    long line;
    Error *err;
} Cursor;

/* Next field: start, length in *n; NULL at the end of the line. */
static char *field(Cursor *c, size_t *n) {
    *n = 0;
    while (c->p < c->end && *c->p == ' ') c->p++;
    if (c->p >= c->end) return NULL;
    char *s = c->p;
    while (c->p < c->end && *c->p != ' ') c->p++;
    *n = (size_t)(c->p - s);
    return s;
}

static int bad(Cursor *c, const char *what, const char *tok, size_t n, const char *expected) {
    if (!tok) return modex_error_line(c->err, c->path, c->line, 0, "line ends before the %s (%s)",
                                      what, expected);
    return modex_error_line(c->err, c->path, c->line, 0, "bad %s '%.*s' (%s)", what,
                            (int)MODEX_MIN(n, 40), tok, expected);
}

/* A fixed-width (width > 0) or free-width decimal or hex number field. */
static int bad_number(Cursor *c, const char *what, int width, int base, const char *t, size_t n) {
    char expected[48];
    if (width) snprintf(expected, sizeof expected, "%d %s digit%s", width,
                        base == 16 ? "hex" : "decimal", width > 1 ? "s" : "");
    else snprintf(expected, sizeof expected, "a decimal number");
    return bad(c, what, t, n, expected);
}

static int number(Cursor *c, const char *what, int width, int base, long *out) {
    size_t n;
    char *t = field(c, &n);
    if (!t || (width && n != (size_t)width) || n > 9) return bad_number(c, what, width, base, t, n);
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        int ch = (unsigned char)t[i];
        int d = isdigit(ch) ? ch - '0' : (base == 16 && isxdigit(ch)) ? tolower(ch) - 'a' + 10 : -1;
        if (d < 0) return bad_number(c, what, width, base, t, n);
        v = v * base + d;
    }
    *out = v;
    return 0;
}

/* Calls fn on every line that is not part of the license header (lines starting with two
 * spaces). Lines are cut at '\n' (the '\n' itself is kept in the buffer). */
typedef int (*LineFn)(void *ctx, Cursor *c, char *line_start);
static int each_line(char *text, size_t size, const char *path, Error *err, LineFn fn, void *ctx) {
    char *p = text, *end = text + size;
    long line = 0;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *le = nl ? nl : end;
        line++;
        if (!(le - p >= 2 && p[0] == ' ' && p[1] == ' ')) {
            Cursor c = {p, le, path, line, err};
            if (le == p) return modex_error_line(err, path, line, 0, "empty line (a database line)");
            if (fn(ctx, &c, p)) return -1;
        }
        p = nl ? nl + 1 : end;
    }
    return 0;
}

// --- data.POS ---------------------------------------------------------------------------

typedef struct DataCtx {
    WordnetPosData *d;
    int pos;
    char *text;
    int cap_syn, cap_words, cap_ptrs, cap_ex;
    int nwords, nptrs, nex;
} DataCtx;

static int pos_of_char(char ch) {
    switch (ch) {
    case 'n': return WN_NOUN;
    case 'v': return WN_VERB;
    case 'a': case 's': return WN_ADJ;
    case 'r': return WN_ADV;
    default: return -1;
    }
}

static int data_line(void *vctx, Cursor *c, char *start) {
    DataCtx *x = vctx;
    WordnetPosData *d = x->d;
    long off, lex, wcnt, lexid, pcnt, v;
    size_t n;
    char *t;
    if (number(c, "synset offset", 8, 10, &off)) return -1;
    if (off != (long)(start - x->text))
        return modex_error_line(c->err, c->path, c->line, 0,
                                "synset offset %08ld is not the line's byte offset (expected %08ld)",
                                off, (long)(start - x->text));
    if (number(c, "lex_filenum", 2, 10, &lex)) return -1;
    t = field(c, &n);
    if (!t || n != 1 || pos_of_char(*t) != x->pos || (*t == 's' && x->pos != WN_ADJ))
        return bad(c, "ss_type", t, n, x->pos == WN_ADJ ? "a or s" : (char[]){POS_CHAR[x->pos], 0});
    char type = *t;
    if (number(c, "w_cnt", 2, 16, &wcnt)) return -1;
    if (wcnt < 1) return bad(c, "w_cnt", "00", 2, "at least one word");
    GROW(d->synsets, d->nsynsets, x->cap_syn);
    WordnetSynset *s = &d->synsets[d->nsynsets];
    memset(s, 0, sizeof *s);
    s->offset = (uint32_t)off;
    s->line = (uint32_t)c->line;
    s->lexfile = (uint8_t)lex;
    s->type = type;
    s->words = (uint32_t)x->nwords;
    for (long i = 0; i < wcnt; i++) {
        t = field(c, &n);
        if (!t || *t == '|') return bad(c, "word", NULL, 0, "w_cnt words, each with a lex_id");
        if (number(c, "lex_id", 1, 16, &lexid)) return -1;
        t[n] = 0; /* the space after it: already consumed */
        if (x->pos == WN_ADJ && n > 2 && t[n - 1] == ')') { /* syntactic marker "(p)" */
            char *paren = strrchr(t, '(');
            if (paren && paren > t) *paren = 0;
        }
        GROW(d->words, x->nwords, x->cap_words);
        d->words[x->nwords++] = t;
    }
    s->nwords = (uint16_t)wcnt;
    if (number(c, "p_cnt", 3, 10, &pcnt)) return -1;
    s->ptrs = (uint32_t)x->nptrs;
    for (long i = 0; i < pcnt; i++) {
        t = field(c, &n);
        if (!t || n > 2 || *t == '|') return bad(c, "pointer symbol", t, n, "p_cnt pointers, each 'symbol offset pos source/target'");
        GROW(d->ptrs, x->nptrs, x->cap_ptrs);
        WordnetPointer *p = &d->ptrs[x->nptrs];
        memset(p, 0, sizeof *p);
        memcpy(p->symbol, t, n);
        if (number(c, "pointer offset", 8, 10, &v)) return -1;
        p->synset = (int32_t)v; /* an offset until resolved */
        t = field(c, &n);
        int tp = t && n == 1 ? pos_of_char(*t) : -1;
        if (tp < 0) return bad(c, "pointer pos", t, n, "n, v, a, s or r");
        p->pos = (uint8_t)tp;
        if (number(c, "source/target", 4, 16, &v)) return -1;
        p->source = (uint8_t)(v >> 8);
        p->target = (uint8_t)(v & 0xff);
        if (p->source > wcnt) return bad(c, "source/target", t + 2, 4, "a source word number within w_cnt");
        x->nptrs++;
    }
    s->nptrs = (uint32_t)pcnt;
    if (x->pos == WN_VERB) {
        long fcnt;
        if (number(c, "f_cnt", 2, 10, &fcnt)) return -1;
        for (long i = 0; i < fcnt; i++) {
            t = field(c, &n);
            if (!t || n != 1 || *t != '+') return bad(c, "frame", t, n, "'+ f_num w_num' for each of f_cnt frames");
            if (number(c, "f_num", 2, 10, &v) || number(c, "w_num", 2, 16, &v)) return -1;
        }
    }
    t = field(c, &n);
    if (!t || n != 1 || *t != '|') return bad(c, "gloss separator", t, n, "'|' after the pointers");
    /* The gloss: a definition and/or "quoted usage examples". */
    char *g = c->p, *ge = c->end;
    while (ge > g && (ge[-1] == ' ' || ge[-1] == '\r')) ge--;
    *ge = 0;
    s->examples = (uint32_t)x->nex;
    for (char *q = strchr(g, '"'); q; ) {
        char *close = strchr(q + 1, '"');
        if (!close) break;
        *close = 0;
        char *e = q + 1;
        while (*e == ' ') e++;
        for (char *z = close; z > e && z[-1] == ' '; ) *--z = 0;
        if (*e) {
            GROW(d->examples, x->nex, x->cap_ex);
            d->examples[x->nex++] = e;
            s->nexamples++;
        }
        q = strchr(close + 1, '"');
    }
    if (d->nsynsets > 0 && d->synsets[d->nsynsets - 1].offset >= s->offset)
        return modex_error_line(c->err, c->path, c->line, 0, "synsets out of order (increasing offsets)");
    d->nsynsets++;
    return 0;
}

static int32_t find_synset(const WordnetPosData *d, uint32_t off) {
    int lo = 0, hi = d->nsynsets - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (d->synsets[mid].offset == off) return mid;
        if (d->synsets[mid].offset < off) lo = mid + 1; else hi = mid - 1;
    }
    return -1;
}

// --- index.POS --------------------------------------------------------------------------

typedef struct IndexCtx {
    WordnetPosData *d;
    int pos, cap_lem, cap_sense, nsense;
} IndexCtx;

static int index_line(void *vctx, Cursor *c, char *start) {
    (void)start;
    IndexCtx *x = vctx;
    WordnetPosData *d = x->d;
    size_t n, ln;
    long cnt, pcnt, v;
    char *lemma = field(c, &ln);
    if (!lemma) return bad(c, "lemma", NULL, 0, "lemma pos synset_cnt ...");
    char *t = field(c, &n);
    if (!t || n != 1 || *t != POS_CHAR[x->pos])
        return bad(c, "pos", t, n, (char[]){POS_CHAR[x->pos], 0});
    if (number(c, "synset_cnt", 0, 10, &cnt)) return -1;
    if (cnt < 1) return bad(c, "synset_cnt", "0", 1, "at least 1");
    if (number(c, "p_cnt", 0, 10, &pcnt)) return -1;
    for (long i = 0; i < pcnt; i++)
        if (!field(c, &n)) return bad(c, "pointer symbol", NULL, 0, "p_cnt pointer symbols");
    if (number(c, "sense_cnt", 0, 10, &v) || number(c, "tagsense_cnt", 0, 10, &v)) return -1;
    lemma[ln] = 0;
    GROW(d->lemmas, d->nlemmas, x->cap_lem);
    WordnetLemma *l = &d->lemmas[d->nlemmas];
    l->lemma = lemma;
    l->nsenses = (uint32_t)cnt;
    l->senses = (uint32_t)x->nsense;
    for (long i = 0; i < cnt; i++) {
        if (number(c, "synset_offset", 8, 10, &v)) return -1;
        int32_t s = find_synset(d, (uint32_t)v);
        if (s < 0)
            return modex_error_line(c->err, c->path, c->line, 0,
                                    "synset offset %08ld is not in data.%s (the offset of a synset line)",
                                    v, POS_NAME[x->pos]);
        GROW(d->sense_pool, x->nsense, x->cap_sense);
        d->sense_pool[x->nsense++] = s;
    }
    if (field(c, &n)) return bad(c, "trailing field", c->p - n, n, "synset_cnt offsets, then the end of the line");
    d->nlemmas++;
    return 0;
}

// --- POS.exc ----------------------------------------------------------------------------

typedef struct ExcCtx {
    WordnetPosData *d;
    int cap_exc, cap_base, nbase;
} ExcCtx;

static int exc_line(void *vctx, Cursor *c, char *start) {
    (void)start;
    ExcCtx *x = vctx;
    WordnetPosData *d = x->d;
    size_t n;
    char *form = field(c, &n);
    if (!form) return bad(c, "exception", NULL, 0, "an inflected form and its base forms");
    if (c->p < c->end) c->p++; /* past the separator, so that it can become a NUL */
    form[n] = 0;
    GROW(d->exc, d->nexc, x->cap_exc);
    WordnetException *e = &d->exc[d->nexc];
    e->form = form;
    e->bases = (uint32_t)x->nbase;
    e->nbases = 0;
    char *t;
    while ((t = field(c, &n))) {
        if (c->p < c->end) c->p++;
        t[n] = 0;
        GROW(d->base_pool, x->nbase, x->cap_base);
        d->base_pool[x->nbase++] = t;
        e->nbases++;
    }
    if (!e->nbases) return bad(c, "exception", NULL, 0, "an inflected form followed by its base forms");
    d->nexc++;
    return 0;
}

// --- loading ----------------------------------------------------------------------------

static int cmp_lemma(const void *a, const void *b) {
    return strcmp(((const WordnetLemma *)a)->lemma, ((const WordnetLemma *)b)->lemma);
}
static int cmp_exc(const void *a, const void *b) {
    const WordnetException *x = a, *y = b;
    int c = strcmp(x->form, y->form);
    return c ? c : (x->bases > y->bases) - (x->bases < y->bases);
}

static int load_text(const char *dir, const char *name, char **path, char **text, size_t *size,
                     Error *err) {
    *path = modex_path_join(dir, name);
    *text = modex_read_text(*path, size, err);
    return *text ? 0 : -1;
}

int modex_wordnet_load(Wordnet *wn, const char *dir, Error *err) {
    memset(wn, 0, sizeof *wn);
    if (!dir) dir = modex_wordnet_default_dir();
    wn->dir = modex_xstrdup(dir);
    if (!modex_path_is_dir(dir)) {
        modex_error(err, dir, "no such folder (the WordNet database folder: apt-get install wordnet-base, or --wordnet-dir)");
        goto fail;
    }
    char name[32];
    size_t size;
    /* Every data file first: pointers cross parts of speech. */
    for (int p = 0; p < WN_NPOS; p++) {
        WordnetPosData *d = &wn->pos[p];
        snprintf(name, sizeof name, "data.%s", POS_NAME[p]);
        if (load_text(dir, name, &d->data_path, &d->data_text, &size, err)) goto fail;
        DataCtx x = {.d = d, .pos = p, .text = d->data_text};
        if (each_line(d->data_text, size, d->data_path, err, data_line, &x)) goto fail;
        if (!d->nsynsets) { modex_error(err, d->data_path, "no synsets (a WordNet data file)"); goto fail; }
    }
    for (int p = 0; p < WN_NPOS; p++) {
        WordnetPosData *d = &wn->pos[p];
        for (int i = 0; i < d->nsynsets; i++) {
            const WordnetSynset *s = &d->synsets[i];
            for (uint32_t k = 0; k < s->nptrs; k++) {
                WordnetPointer *ptr = &d->ptrs[s->ptrs + k];
                int32_t t = find_synset(&wn->pos[ptr->pos], (uint32_t)ptr->synset);
                if (t < 0 || (ptr->target && ptr->target > wn->pos[ptr->pos].synsets[t].nwords)) {
                    modex_error_line(err, d->data_path, s->line, 0,
                                     "pointer '%s' to %s %08u: %s (a synset of data.%s)", ptr->symbol,
                                     POS_NAME[ptr->pos], (unsigned)ptr->synset,
                                     t < 0 ? "no such synset" : "no such target word",
                                     POS_NAME[ptr->pos]);
                    goto fail;
                }
                ptr->synset = t;
            }
        }
        snprintf(name, sizeof name, "index.%s", POS_NAME[p]);
        if (load_text(dir, name, &d->index_path, &d->index_text, &size, err)) goto fail;
        IndexCtx ix = {.d = d, .pos = p};
        if (each_line(d->index_text, size, d->index_path, err, index_line, &ix)) goto fail;
        if (!d->nlemmas) { modex_error(err, d->index_path, "no lemmas (a WordNet index file)"); goto fail; }
        qsort(d->lemmas, (size_t)d->nlemmas, sizeof *d->lemmas, cmp_lemma);
        snprintf(name, sizeof name, "%s.exc", POS_NAME[p]);
        if (load_text(dir, name, &d->exc_path, &d->exc_text, &size, err)) goto fail;
        ExcCtx ex = {.d = d};
        if (each_line(d->exc_text, size, d->exc_path, err, exc_line, &ex)) goto fail;
        if (d->nexc) qsort(d->exc, (size_t)d->nexc, sizeof *d->exc, cmp_exc);
    }
    return 0;
fail:
    modex_wordnet_free(wn);
    return -1;
}

void modex_wordnet_free(Wordnet *wn) {
    if (!wn) return;
    for (int p = 0; p < WN_NPOS; p++) {
        WordnetPosData *d = &wn->pos[p];
        free(d->data_path); free(d->index_path); free(d->exc_path);
        free(d->data_text); free(d->index_text); free(d->exc_text);
        free(d->synsets); free(d->words); free(d->ptrs); free(d->examples);
        free(d->lemmas); free(d->sense_pool); free(d->exc); free(d->base_pool);
    }
    free(wn->dir);
    memset(wn, 0, sizeof *wn);
}

const WordnetLemma *modex_wordnet_lemma(const Wordnet *wn, WordnetPos pos, const char *lemma) {
    const WordnetPosData *d = &wn->pos[pos];
    WordnetLemma key = {.lemma = lemma};
    if (!d->nlemmas) return NULL;
    return bsearch(&key, d->lemmas, (size_t)d->nlemmas, sizeof *d->lemmas, cmp_lemma);
}

const WordnetSynset *modex_wordnet_synset(const Wordnet *wn, WordnetPos pos, uint32_t offset) {
    int32_t i = find_synset(&wn->pos[pos], offset);
    return i < 0 ? NULL : &wn->pos[pos].synsets[i];
}

// --- morphology -------------------------------------------------------------------------

/* Morphy's rules of detachment (morphy(7WN)): suffix → ending. */
typedef struct Rule { const char *suffix, *ending; } Rule;
static const Rule NOUN_RULES[] = {{"s", ""}, {"ses", "s"}, {"xes", "x"}, {"zes", "z"}, {"ches", "ch"},
                                  {"shes", "sh"}, {"men", "man"}, {"ies", "y"}, {NULL, NULL}};
static const Rule VERB_RULES[] = {{"s", ""}, {"ies", "y"}, {"es", "e"}, {"es", ""}, {"ed", "e"},
                                  {"ed", ""}, {"ing", "e"}, {"ing", ""}, {NULL, NULL}};
static const Rule ADJ_RULES[] = {{"er", ""}, {"est", ""}, {"er", "e"}, {"est", "e"}, {NULL, NULL}};
static const Rule NO_RULES[] = {{NULL, NULL}};

static const WordnetException *find_exc(const WordnetPosData *d, const char *form) {
    int lo = 0, hi = d->nexc - 1;
    while (lo <= hi) { /* the first entry of that form */
        int mid = (lo + hi) / 2;
        if (strcmp(d->exc[mid].form, form) < 0) lo = mid + 1; else hi = mid - 1;
    }
    return lo < d->nexc && strcmp(d->exc[lo].form, form) == 0 ? &d->exc[lo] : NULL;
}

int modex_wordnet_is_form(const Wordnet *wn, WordnetPos pos, const char *tok, size_t n,
                          const char *lemma, size_t ll) {
    char w[96];
    if (n == 0 || n >= sizeof w - 8 || ll >= sizeof w - 8) return 0;
    for (size_t i = 0; i < n; i++) w[i] = (char)tolower((unsigned char)tok[i]);
    w[n] = 0;
    if (n == ll && memcmp(w, lemma, n) == 0) return 1;
    const WordnetPosData *d = &wn->pos[pos];
    for (const WordnetException *e = find_exc(d, w); e && e < d->exc + d->nexc && strcmp(e->form, w) == 0; e++)
        for (uint32_t b = 0; b < e->nbases; b++) {
            const char *base = d->base_pool[e->bases + b];
            if (strlen(base) == ll && memcmp(base, lemma, ll) == 0) return 1;
        }
    const Rule *r = pos == WN_NOUN ? NOUN_RULES : pos == WN_VERB ? VERB_RULES
                  : pos == WN_ADJ ? ADJ_RULES : NO_RULES;
    for (; r->suffix; r++) {
        size_t sl = strlen(r->suffix), el = strlen(r->ending);
        if (n <= sl || memcmp(w + n - sl, r->suffix, sl) != 0) continue;
        if (n - sl + el == ll && memcmp(w, lemma, n - sl) == 0 && memcmp(lemma + n - sl, r->ending, el) == 0)
            return 1;
    }
    return 0;
}

static int word_char(char ch) {
    return isalnum((unsigned char)ch) || ch == '\'' || ch == '-';
}

const char *modex_wordnet_find(const Wordnet *wn, WordnetPos pos, const char *text,
                               const char *lemma, size_t *len) {
    /* The lemma's words (split at '_'). */
    const char *lw[8];
    size_t lwn[8];
    int k = 0;
    for (const char *p = lemma; ; ) {
        const char *u = strchr(p, '_');
        size_t n = u ? (size_t)(u - p) : strlen(p);
        if (k == 8 || n == 0) return NULL;
        lw[k] = p; lwn[k] = n; k++;
        if (!u) break;
        p = u + 1;
    }
    for (const char *s = text; *s; ) {
        while (*s && !word_char(*s)) s++;
        if (!*s) break;
        const char *p = s, *start = NULL, *span_end = NULL;
        int j = 0;
        for (; j < k; j++) {
            if (j > 0) { /* exactly one space between the words of a collocation */
                if (p[0] != ' ' || !word_char(p[1])) break;
                p++;
            }
            while (*p == '\'' || *p == '-') p++; /* quotes and dashes around a word */
            const char *ts = p;
            while (word_char(*p)) p++;
            const char *te = p;
            while (te > ts && (te[-1] == '\'' || te[-1] == '-')) te--;
            if (te == ts) break;
            int ok = modex_wordnet_is_form(wn, pos, ts, (size_t)(te - ts), lw[j], lwn[j]);
            if (!ok && te - ts > 2 && te[-2] == '\'' && (te[-1] == 's' || te[-1] == 'S')) { /* possessive */
                te -= 2;
                ok = modex_wordnet_is_form(wn, pos, ts, (size_t)(te - ts), lw[j], lwn[j]);
            }
            if (!ok) break;
            if (j == 0) start = ts;
            span_end = te;
            if (j + 1 < k && te != p) break; /* no collocation continues after "'s" */
        }
        if (j == k) { *len = (size_t)(span_end - start); return start; }
        while (*s && word_char(*s)) s++;
    }
    return NULL;
}
