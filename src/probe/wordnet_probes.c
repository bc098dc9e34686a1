/* wordnet_probes.c — probe sets from WordNet: word senses (one semantic sub-function per
 * word and pair of its senses, examples from the glosses' usage examples) and relations
 * (one knowledge sub-function per relation: a true statement and a corrupted twin). */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "modex/bench.h"
#include "modex/csvout.h"
#include "modex/util.h"
#include "modex/wordnet.h"

static const char POS_CHAR[WN_NPOS] = {'n', 'v', 'a', 'r'};

void modex_wordnet_options_default(WordnetOptions *o) {
    memset(o, 0, sizeof *o);
    o->pos_mask = (1u << WN_NOUN) | (1u << WN_VERB) | (1u << WN_ADJ);
    o->min_examples = 2;
    o->max_subfunctions = 250;
    o->per_word = 1;
    o->pairs = 120;
    o->seed = 1;
}

// --- helpers ------------------------------------------------------------------------------

static uint64_t rng_next(uint64_t *s) { /* splitmix64: the same stream on every platform */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static uint32_t rng_below(uint64_t *s, uint32_t n) { return (uint32_t)(rng_next(s) % n); }
static void shuffle(int *a, int n, uint64_t *s) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_below(s, (uint32_t)i + 1), t = a[i];
        a[i] = a[j]; a[j] = t;
    }
}

static char *xfmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xfmt(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = modex_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* Printable ASCII only: the probe CSV must be valid UTF-8 and free of control bytes. */
static int plain_text(const char *s) {
    for (; *s; s++) if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e) return 0;
    return 1;
}
static int count_words(const char *s) {
    int n = 0;
    for (int in = 0; *s; s++) {
        int w = isalnum((unsigned char)*s);
        if (w && !in) n++;
        in = w;
    }
    return n;
}
/* "pull_the_plug" → "pull the plug" (malloc'd). */
static char *render(const char *w) {
    char *s = modex_xstrdup(w);
    for (char *p = s; *p; p++) if (*p == '_') *p = ' ';
    return s;
}
/* The true continuation of the text before the span: " dog". */
static char *answer(const char *w) {
    char *r = render(w), *a = xfmt(" %s", r);
    free(r);
    return a;
}
static int has_substring_ci(const char *hay, const char *needle) {
    size_t n = strlen(needle);
    for (; *hay; hay++) if (strncasecmp(hay, needle, n) == 0) return 1;
    return 0;
}

static void add_row(WordnetProbe *p, int *cap, int fn, char *text, char *sub, int label,
                    char *span, char *answer, char *id) {
    if (p->nrows >= *cap) {
        *cap = *cap ? *cap * 2 : 1024;
        p->rows = modex_xrealloc(p->rows, (size_t)*cap * sizeof *p->rows);
    }
    WordnetRow *r = &p->rows[p->nrows++];
    r->text = text;
    r->function = modex_xstrdup(fn ? "knowledge" : "semantic");
    r->subfunction = sub;
    r->label = label;
    r->span = span;
    r->answer = answer ? answer : modex_xstrdup("");
    r->id = id;
    if (label) p->positives[fn]++; else p->negatives[fn]++;
}

// --- semantic: word senses ----------------------------------------------------------------

typedef struct SenseEx {
    const char *text, *span;
    size_t span_len;
    int32_t synset;
    int exno;           /* 1-based number of the example in its synset's gloss */
} SenseEx;

#define MAX_SENSE_EX 32

/* The usage examples of one sense that contain the lemma (or an inflection of it). */
static int sense_examples(const Wordnet *wn, WordnetPos pos, const char *lemma, int32_t si,
                          SenseEx *out) {
    const WordnetPosData *d = &wn->pos[pos];
    const WordnetSynset *s = &d->synsets[si];
    int n = 0;
    for (int e = 0; e < s->nexamples && n < MAX_SENSE_EX; e++) {
        const char *text = d->examples[s->examples + e];
        if (!plain_text(text) || count_words(text) < 3) continue;
        int dup = 0;
        for (int k = 0; k < n; k++) dup |= strcmp(out[k].text, text) == 0;
        size_t len;
        const char *span = dup ? NULL : modex_wordnet_find(wn, pos, text, lemma, &len);
        /* Readers locate a span by its first occurrence ("bank" in "banker ... bank"). */
        if (!span || memmem(text, strlen(text), span, len) != span) continue;
        out[n++] = (SenseEx){text, span, len, si, e + 1};
    }
    return n;
}

/* Drops from a and b the texts they share (an example that illustrates both senses). */
static void drop_shared(SenseEx *a, int *na, SenseEx *b, int *nb) {
    int keep_a = 0;
    for (int i = 0; i < *na; i++) {
        int shared = 0;
        for (int j = 0; j < *nb; j++) shared |= strcmp(a[i].text, b[j].text) == 0;
        if (!shared) a[keep_a++] = a[i];
        else { /* remove it from b too */
            int kb = 0;
            for (int j = 0; j < *nb; j++) if (strcmp(a[i].text, b[j].text) != 0) b[kb++] = b[j];
            *nb = kb;
        }
    }
    *na = keep_a;
}

typedef struct SemCand {
    uint8_t pos;
    int lemma;
    uint16_t a, b;      /* 0-based sense numbers, a < b */
} SemCand;

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void semantic(const Wordnet *wn, const WordnetOptions *o, WordnetProbe *p, int *cap) {
    /* --words, normalised to index form: lower case, '_' for spaces, sorted for bsearch. */
    char **words = NULL;
    if (o->words) {
        words = modex_xmalloc((size_t)(o->nwords + 1) * sizeof *words);
        for (int i = 0; i < o->nwords; i++) {
            words[i] = modex_xstrdup(o->words[i]);
            for (char *c = words[i]; *c; c++) *c = *c == ' ' ? '_' : (char)tolower((unsigned char)*c);
        }
        qsort(words, (size_t)o->nwords, sizeof *words, cmp_str);
    }
    SemCand *cand = NULL;
    int nc = 0, ccap = 0;
    SenseEx (*ex)[MAX_SENSE_EX] = NULL;
    int *nex = NULL, excap = 0;
    const WordnetPos order[] = {WN_NOUN, WN_VERB, WN_ADJ};
    for (int oi = 0; oi < 3 && o->max_subfunctions > 0; oi++) {
        WordnetPos pos = order[oi];
        if (!(o->pos_mask & (1u << pos))) continue;
        const WordnetPosData *d = &wn->pos[pos];
        for (int li = 0; li < d->nlemmas; li++) {
            const WordnetLemma *l = &d->lemmas[li];
            if (l->nsenses < 2) continue;
            if (words && !bsearch(&l->lemma, words, (size_t)o->nwords, sizeof *words, cmp_str)) continue;
            if ((int)l->nsenses > excap) {
                excap = (int)l->nsenses;
                ex = modex_xrealloc(ex, (size_t)excap * sizeof *ex);
                nex = modex_xrealloc(nex, (size_t)excap * sizeof *nex);
            }
            for (uint32_t s = 0; s < l->nsenses; s++)
                nex[s] = sense_examples(wn, pos, l->lemma, d->sense_pool[l->senses + s], ex[s]);
            for (uint32_t a = 0; a < l->nsenses && a < 65535; a++) {
                if (nex[a] < o->min_examples) continue;
                for (uint32_t b = a + 1; b < l->nsenses && b < 65535; b++) {
                    if (nex[b] < o->min_examples) continue;
                    SenseEx ea[MAX_SENSE_EX], eb[MAX_SENSE_EX];
                    int na = nex[a], nb = nex[b];
                    memcpy(ea, ex[a], (size_t)na * sizeof *ea);
                    memcpy(eb, ex[b], (size_t)nb * sizeof *eb);
                    drop_shared(ea, &na, eb, &nb);
                    if (na < o->min_examples || nb < o->min_examples) continue;
                    if (nc >= ccap) { ccap = ccap ? ccap * 2 : 1024; cand = modex_xrealloc(cand, (size_t)ccap * sizeof *cand); }
                    cand[nc++] = (SemCand){(uint8_t)pos, li, (uint16_t)a, (uint16_t)b};
                }
            }
        }
    }
    /* A seeded sample; without --words at most per_word pairs of one word, so that the very
     * polysemous verbs ("take": 42 senses) do not fill the set. */
    int *idx = modex_xmalloc((size_t)(nc ? nc : 1) * sizeof *idx);
    for (int i = 0; i < nc; i++) idx[i] = i;
    uint64_t rng = o->seed ^ 0x5e3a471cull;
    shuffle(idx, nc, &rng);
    unsigned char *take = modex_xcalloc((size_t)(nc ? nc : 1), 1);
    int *per[WN_NPOS] = {0};
    for (int q = 0; q < WN_NPOS; q++) per[q] = modex_xcalloc((size_t)wn->pos[q].nlemmas + 1, sizeof(int));
    int taken = 0;
    for (int i = 0; i < nc && taken < o->max_subfunctions; i++) {
        const SemCand *c = &cand[idx[i]];
        if (!words && o->per_word > 0 && per[c->pos][c->lemma] >= o->per_word) continue;
        per[c->pos][c->lemma]++;
        take[idx[i]] = 1;
        taken++;
    }
    for (int i = 0; i < nc; i++) {
        if (!take[i]) continue;
        const SemCand *c = &cand[i];
        const WordnetPosData *d = &wn->pos[c->pos];
        const WordnetLemma *l = &d->lemmas[c->lemma];
        SenseEx ea[MAX_SENSE_EX], eb[MAX_SENSE_EX];
        int na = sense_examples(wn, c->pos, l->lemma, d->sense_pool[l->senses + c->a], ea);
        int nb = sense_examples(wn, c->pos, l->lemma, d->sense_pool[l->senses + c->b], eb);
        drop_shared(ea, &na, eb, &nb);
        p->subfunctions[0]++;
        for (int side = 0; side < 2; side++) {
            const SenseEx *e = side ? eb : ea;
            for (int k = 0; k < (side ? nb : na); k++) {
                add_row(p, cap, 0, modex_xstrdup(e[k].text),
                        xfmt("%s.%c.%d_vs_%d", l->lemma, POS_CHAR[c->pos], c->a + 1, c->b + 1), !side,
                        xfmt("%.*s", (int)e[k].span_len, e[k].span), NULL,
                        xfmt("wn:%c%08u:e%d", POS_CHAR[c->pos], (unsigned)d->synsets[e[k].synset].offset,
                             e[k].exno));
            }
        }
    }
    for (int q = 0; q < WN_NPOS; q++) free(per[q]);
    free(take); free(idx); free(cand); free(ex); free(nex);
    if (words) for (int i = 0; i < o->nwords; i++) free(words[i]);
    free(words);
}

// --- knowledge: relations -----------------------------------------------------------------

enum { CASE_LOWER, CASE_PROPER, CASE_ANY };
enum { T_KIND, T_INSTANCE, T_PART, T_MEMBER, T_OPPOSITE, T_WAY, T_ENTAILS, T_CAUSES };

typedef struct Relation {
    const char *name;
    WordnetPos pos;
    const char *symbol;
    int lexical;        /* a pointer between words (antonymy), not between synsets */
    int subject_case, object_case, template;
} Relation;

static const Relation RELATIONS[] = {
    {"kind_of", WN_NOUN, "@", 0, CASE_LOWER, CASE_LOWER, T_KIND},
    {"instance_of", WN_NOUN, "@i", 0, CASE_PROPER, CASE_LOWER, T_INSTANCE},
    {"part_of", WN_NOUN, "#p", 0, CASE_LOWER, CASE_ANY, T_PART},
    {"member_of", WN_NOUN, "#m", 0, CASE_LOWER, CASE_ANY, T_MEMBER},
    {"opposite_of", WN_ADJ, "!", 1, CASE_LOWER, CASE_LOWER, T_OPPOSITE},
    {"way_to", WN_VERB, "@", 0, CASE_LOWER, CASE_LOWER, T_WAY},
    {"entails", WN_VERB, "*", 0, CASE_LOWER, CASE_LOWER, T_ENTAILS},
    {"causes", WN_VERB, ">", 0, CASE_LOWER, CASE_LOWER, T_CAUSES},
};
#define NREL ((int)(sizeof RELATIONS / sizeof *RELATIONS))

/* Pointers along which a statement stays true when followed from its subject upwards:
 * hypernyms and instances, holonyms, entailment and cause. */
static int upward(const char *sym) {
    static const char *const up[] = {"@", "@i", "#m", "#p", "#s", "*", ">"};
    for (size_t i = 0; i < sizeof up / sizeof *up; i++) if (strcmp(sym, up[i]) == 0) return 1;
    return 0;
}

static int word_ok(const char *w, int wcase) {
    if (!*w || !plain_text(w)) return 0;
    int parts = 1;
    for (const char *c = w; *c; c++) {
        if (*c == '_') parts++;
        else if (!isalpha((unsigned char)*c) && *c != '-' && *c != '\'' && *c != '.') return 0;
        if (wcase == CASE_LOWER && isupper((unsigned char)*c)) return 0;
    }
    if (wcase == CASE_PROPER && !isupper((unsigned char)w[0])) return 0;
    return parts <= 3;
}

typedef struct Pair {
    int order;
    const char *subject, *object;
    int32_t ssyn, osyn;
} Pair;

typedef struct PoolEntry {
    const char *word;
    uint8_t lexfile;
    int32_t synset;
} PoolEntry;

static int cmp_pair_subject(const void *a, const void *b) {
    const Pair *x = a, *y = b;
    int c = strcasecmp(x->subject, y->subject);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}
static int cmp_pair_order(const void *a, const void *b) {
    const Pair *x = a, *y = b;
    return (x->order > y->order) - (x->order < y->order);
}
static int cmp_pool(const void *a, const void *b) {
    const PoolEntry *x = a, *y = b;
    if (x->lexfile != y->lexfile) return x->lexfile < y->lexfile ? -1 : 1;
    int c = strcasecmp(x->word, y->word);
    return c ? c : (x->synset > y->synset) - (x->synset < y->synset);
}

/* Synsets reachable from every sense of a word: each sense, everything one pointer away
 * (and their similar / see-also / verb-group neighbours), and upward closures of all of
 * these. A corrupted partner must name none of them, so the false statement is false. */
typedef struct Reach {
    unsigned char *mark[WN_NPOS];
    int32_t *list; uint8_t *lpos; int n, cap;
    int32_t *queue; uint8_t *qpos, *qmode; int qn, qcap;
} Reach;

enum { M_SENSE = 1, M_NEIGHBOUR = 2, M_ANCESTOR = 4, M_LEAF = 8, M_NAME = 16 /* not followed */ };

static void reach_push(Reach *r, int pos, int32_t s, int mode) {
    unsigned char *m = &r->mark[pos][s];
    if (*m & mode) return;
    if (!*m) {
        if (r->n >= r->cap) {
            r->cap = r->cap ? r->cap * 2 : 256;
            r->list = modex_xrealloc(r->list, (size_t)r->cap * sizeof *r->list);
            r->lpos = modex_xrealloc(r->lpos, (size_t)r->cap);
        }
        r->list[r->n] = s; r->lpos[r->n] = (uint8_t)pos; r->n++;
    }
    *m |= (unsigned char)mode;
    if (r->qn >= r->qcap) {
        r->qcap = r->qcap ? r->qcap * 2 : 256;
        r->queue = modex_xrealloc(r->queue, (size_t)r->qcap * sizeof *r->queue);
        r->qpos = modex_xrealloc(r->qpos, (size_t)r->qcap);
        r->qmode = modex_xrealloc(r->qmode, (size_t)r->qcap);
    }
    r->queue[r->qn] = s; r->qpos[r->qn] = (uint8_t)pos; r->qmode[r->qn] = (uint8_t)mode; r->qn++;
}

/* Also every sense of the true partner (its synonyms would be near-true answers). */
static void reach_word(const Wordnet *wn, Reach *r, WordnetPos pos, const char *word, int32_t own,
                       const char *partner) {
    for (int i = 0; i < r->n; i++) r->mark[r->lpos[i]][r->list[i]] = 0;
    r->n = r->qn = 0;
    char key[128];
    snprintf(key, sizeof key, "%s", word);
    for (char *c = key; *c; c++) *c = (char)tolower((unsigned char)*c);
    const WordnetLemma *l = modex_wordnet_lemma(wn, pos, key);
    reach_push(r, pos, own, M_SENSE);
    if (l) for (uint32_t k = 0; k < l->nsenses; k++) reach_push(r, pos, wn->pos[pos].sense_pool[l->senses + k], M_SENSE);
    snprintf(key, sizeof key, "%s", partner);
    for (char *c = key; *c; c++) *c = (char)tolower((unsigned char)*c);
    if ((l = modex_wordnet_lemma(wn, pos, key)))
        for (uint32_t k = 0; k < l->nsenses; k++) reach_push(r, pos, wn->pos[pos].sense_pool[l->senses + k], M_NAME);
    for (int q = 0; q < r->qn; q++) { /* the queue grows while it is walked */
        int qp = r->qpos[q], mode = r->qmode[q];
        if (mode == M_NAME) continue;
        const WordnetPosData *d = &wn->pos[qp];
        const WordnetSynset *s = &d->synsets[r->queue[q]];
        for (uint32_t k = 0; k < s->nptrs; k++) {
            const WordnetPointer *ptr = &d->ptrs[s->ptrs + k];
            if (upward(ptr->symbol)) reach_push(r, ptr->pos, ptr->synset, M_ANCESTOR);
            if (mode == M_SENSE) reach_push(r, ptr->pos, ptr->synset, M_NEIGHBOUR);
            else if (mode == M_NEIGHBOUR && (!strcmp(ptr->symbol, "&") || !strcmp(ptr->symbol, "^") ||
                                             !strcmp(ptr->symbol, "$")))
                reach_push(r, ptr->pos, ptr->synset, M_LEAF);
        }
    }
}

static int reach_names(const Wordnet *wn, const Reach *r, const char *word) {
    for (int i = 0; i < r->n; i++) {
        const WordnetPosData *d = &wn->pos[r->lpos[i]];
        const WordnetSynset *s = &d->synsets[r->list[i]];
        for (int k = 0; k < s->nwords; k++) if (strcasecmp(d->words[s->words + k], word) == 0) return 1;
    }
    return 0;
}

/* "a beagle", "an owl", "France" (proper nouns take no article). */
static const char *article(const char *w) {
    if (isupper((unsigned char)w[0])) return "";
    static const char *const a_before[] = {"uni", "use", "usu", "uti", "ure", "eu", "one", "once"};
    static const char *const an_before[] = {"hour", "honest", "honor", "heir"};
    for (size_t i = 0; i < sizeof an_before / sizeof *an_before; i++)
        if (strncmp(w, an_before[i], strlen(an_before[i])) == 0) return "an ";
    for (size_t i = 0; i < sizeof a_before / sizeof *a_before; i++)
        if (strncmp(w, a_before[i], strlen(a_before[i])) == 0) return "a ";
    return strchr("aeiou", w[0]) ? "an " : "a ";
}

static char *statement(int template, const char *subj, const char *obj) {
    char *s = render(subj), *o = render(obj), *t = NULL;
    switch (template) {
    case T_KIND:     t = xfmt("%s%s is a kind of %s.", article(s), s, o); break;
    case T_INSTANCE: t = xfmt("%s is %s%s.", s, article(o), o); break;
    case T_PART:     t = xfmt("%s%s is part of %s%s.", article(s), s, article(o), o); break;
    case T_MEMBER:   t = xfmt("%s%s is a member of %s%s.", article(s), s, article(o), o); break;
    case T_OPPOSITE: t = xfmt("%s is the opposite of %s.", s, o); break;
    case T_WAY:      t = xfmt("To %s is a way to %s.", s, o); break;
    case T_ENTAILS:  t = xfmt("If you %s, you %s.", s, o); break;
    default:         t = xfmt("To %s is to cause to %s.", s, o); break;
    }
    t[0] = (char)toupper((unsigned char)t[0]);
    free(s); free(o);
    return t;
}

/* The partner must be the statement's last word and its span's first occurrence (a reader
 * finds a span by its first occurrence: "art" would match inside "part of"). */
static int statement_ok(int template, const char *subj, const char *obj) {
    char *t = statement(template, subj, obj), *o = render(obj);
    const char *at = strstr(t, o);
    int ok = at && at == t + strlen(t) - strlen(o) - 1;
    free(t); free(o);
    return ok;
}

static void knowledge_relation(const Wordnet *wn, const Relation *rel, const WordnetOptions *o,
                               Reach *reach, WordnetProbe *p, int *cap) {
    const WordnetPosData *d = &wn->pos[rel->pos];
    Pair *pairs = NULL;
    int np = 0, pcap = 0, order = 0;
    for (int si = 0; si < d->nsynsets; si++) {
        const WordnetSynset *s = &d->synsets[si];
        for (uint32_t k = 0; k < s->nptrs; k++) {
            const WordnetPointer *ptr = &d->ptrs[s->ptrs + k];
            if (strcmp(ptr->symbol, rel->symbol) != 0 || ptr->pos != rel->pos) continue;
            if (rel->lexical != (ptr->source != 0)) continue;
            const WordnetSynset *t = &d->synsets[ptr->synset];
            const char *subj = d->words[s->words + (ptr->source ? ptr->source - 1 : 0)];
            const char *obj = d->words[t->words + (ptr->target ? ptr->target - 1 : 0)];
            if (!word_ok(subj, rel->subject_case) || !word_ok(obj, rel->object_case)) continue;
            if (has_substring_ci(subj, obj) || has_substring_ci(obj, subj)) continue;
            if (!statement_ok(rel->template, subj, obj)) continue;
            if (np >= pcap) { pcap = pcap ? pcap * 2 : 1024; pairs = modex_xrealloc(pairs, (size_t)pcap * sizeof *pairs); }
            pairs[np++] = (Pair){order++, subj, obj, si, ptr->synset};
        }
    }
    /* Wrong partners come from the relation's own partners, same lexicographer file first. */
    PoolEntry *pool = modex_xmalloc((size_t)(np ? np : 1) * sizeof *pool);
    int npool = 0;
    for (int i = 0; i < np; i++)
        pool[npool++] = (PoolEntry){pairs[i].object, d->synsets[pairs[i].osyn].lexfile, pairs[i].osyn};
    if (npool) qsort(pool, (size_t)npool, sizeof *pool, cmp_pool);
    int w = 0;
    for (int i = 0; i < npool; i++)
        if (!w || pool[w - 1].lexfile != pool[i].lexfile || strcasecmp(pool[w - 1].word, pool[i].word) != 0)
            pool[w++] = pool[i];
    npool = w;
    /* One statement per subject word. */
    if (np) qsort(pairs, (size_t)np, sizeof *pairs, cmp_pair_subject);
    w = 0;
    for (int i = 0; i < np; i++)
        if (!w || strcasecmp(pairs[w - 1].subject, pairs[i].subject) != 0) pairs[w++] = pairs[i];
    np = w;
    if (np) qsort(pairs, (size_t)np, sizeof *pairs, cmp_pair_order);

    int *idx = modex_xmalloc((size_t)(np ? np : 1) * sizeof *idx);
    for (int i = 0; i < np; i++) idx[i] = i;
    uint64_t rng = o->seed * 0x9e3779b97f4a7c15ull + (uint64_t)(rel - RELATIONS) + 1;
    shuffle(idx, np, &rng);
    int32_t *wrong = modex_xmalloc((size_t)(np ? np : 1) * sizeof *wrong);
    for (int i = 0; i < np; i++) wrong[i] = -1;
    int chosen = 0;
    for (int i = 0; i < np && chosen < o->pairs; i++) {
        const Pair *pr = &pairs[idx[i]];
        uint8_t lex = d->synsets[pr->osyn].lexfile;
        int lo = 0, hi = npool;
        while (lo < npool && pool[lo].lexfile < lex) lo++;
        for (hi = lo; hi < npool && pool[hi].lexfile == lex; hi++) {}
        reach_word(wn, reach, rel->pos, pr->subject, pr->ssyn, pr->object);
        for (int attempt = 0; attempt < 60 && wrong[idx[i]] < 0; attempt++) {
            int k = attempt < 30 && hi > lo ? lo + (int)rng_below(&rng, (uint32_t)(hi - lo))
                                            : (int)rng_below(&rng, (uint32_t)npool);
            const char *cw = pool[k].word;
            if (strcasecmp(cw, pr->object) == 0 || has_substring_ci(cw, pr->subject) ||
                has_substring_ci(pr->subject, cw) || reach_names(wn, reach, cw) ||
                !statement_ok(rel->template, pr->subject, cw))
                continue;
            wrong[idx[i]] = k;
        }
        if (wrong[idx[i]] >= 0) chosen++;
    }
    if (chosen) p->subfunctions[1]++;
    for (int i = 0; i < np; i++) {
        if (wrong[i] < 0) continue;
        const Pair *pr = &pairs[i];
        const PoolEntry *pe = &pool[wrong[i]];
        char c = POS_CHAR[rel->pos];
        unsigned so = d->synsets[pr->ssyn].offset;
        add_row(p, cap, 1, statement(rel->template, pr->subject, pr->object), modex_xstrdup(rel->name), 1,
                render(pr->object), answer(pr->object),
                xfmt("wn:%s:%c%08u:%c%08u", rel->name, c, so, c, (unsigned)d->synsets[pr->osyn].offset));
        add_row(p, cap, 1, statement(rel->template, pr->subject, pe->word), modex_xstrdup(rel->name), 0,
                render(pe->word), answer(pr->object),
                xfmt("wn:%s:%c%08u:%c%08u", rel->name, c, so, c, (unsigned)d->synsets[pe->synset].offset));
    }
    free(wrong); free(idx); free(pool); free(pairs);
}

// --- the probe set ------------------------------------------------------------------------

int modex_wordnet_probe_build(const Wordnet *wn, const WordnetOptions *o, WordnetProbe *p,
                              Error *err) {
    memset(p, 0, sizeof *p);
    if (o->min_examples < 1) return modex_error(err, "--min-examples", "%d is too small (at least 1)", o->min_examples);
    if (o->max_subfunctions < 0 || o->pairs < 0 || o->per_word < 0)
        return modex_error(err, "options", "negative count (0 or more)");
    int cap = 0;
    semantic(wn, o, p, &cap);
    if (o->pairs > 0) {
        Reach r = {0};
        for (int q = 0; q < WN_NPOS; q++) r.mark[q] = modex_xcalloc((size_t)wn->pos[q].nsynsets + 1, 1);
        for (int i = 0; i < NREL; i++) knowledge_relation(wn, &RELATIONS[i], o, &r, p, &cap);
        for (int q = 0; q < WN_NPOS; q++) free(r.mark[q]);
        free(r.list); free(r.lpos); free(r.queue); free(r.qpos); free(r.qmode);
    }
    if (p->nrows == 0) {
        modex_wordnet_probe_free(p);
        return modex_error(err, wn->dir, "no probe rows (words with examples for two senses, or relation pairs)");
    }
    return 0;
}

void modex_wordnet_probe_free(WordnetProbe *p) {
    if (!p) return;
    for (int i = 0; i < p->nrows; i++) {
        WordnetRow *r = &p->rows[i];
        free(r->text); free(r->function); free(r->subfunction); free(r->span); free(r->answer); free(r->id);
    }
    free(p->rows);
    memset(p, 0, sizeof *p);
}

// --- CSV ----------------------------------------------------------------------------------

int modex_wordnet_probe_fwrite(const WordnetProbe *p, FILE *f) {
    CsvOut c;
    modex_csv_begin(&c, f);
    modex_csv_header(&c, "text,function,subfunction,label,span,answer,id");
    for (int i = 0; i < p->nrows && !c.bad; i++) {
        const WordnetRow *r = &p->rows[i];
        modex_csv_str(&c, r->text);
        modex_csv_str(&c, r->function);
        modex_csv_str(&c, r->subfunction);
        modex_csv_int(&c, r->label);
        modex_csv_str(&c, r->span);
        modex_csv_str(&c, r->answer);
        modex_csv_str(&c, r->id);
        modex_csv_end_row(&c);
    }
    return c.bad ? -1 : 0;
}

int modex_wordnet_probe_write(const WordnetProbe *p, const char *path, int force, Error *err) {
    OutFile out;
    if (modex_out_open(&out, path, force, err)) return -1;
    if (modex_wordnet_probe_fwrite(p, out.f)) {
        modex_error(err, path, "write failed (space on the device)");
        modex_out_abort(&out);
        return -1;
    }
    return modex_out_commit(&out, err);
}

void modex_wordnet_probe_summary(const WordnetProbe *p, FILE *f) {
    static const char *const fn[2] = {"semantic", "knowledge"};
    for (int k = 0; k < 2; k++)
        fprintf(f, "wordnet: %-9s %4d sub-functions, %5d rows (label 1: %d, label 0: %d)\n", fn[k],
                p->subfunctions[k], p->positives[k] + p->negatives[k], p->positives[k], p->negatives[k]);
    fprintf(f, "wordnet: total     %4d sub-functions, %5d rows\n", p->subfunctions[0] + p->subfunctions[1],
            p->nrows);
}

// --- bench --------------------------------------------------------------------------------

int modex_bench_wordnet(FILE *out) {
    Wordnet wn;
    Error err = {{0}};
    double t0 = modex_now();
    if (modex_wordnet_load(&wn, NULL, &err)) {
        fprintf(out, "| WordNet probe set (default options) | skipped: %s | | |\n", err.msg);
        return 0;
    }
    double t1 = modex_now();
    WordnetOptions o;
    modex_wordnet_options_default(&o);
    WordnetProbe p;
    int rc = modex_wordnet_probe_build(&wn, &o, &p, &err);
    double t2 = modex_now();
    if (rc) {
        fprintf(out, "| WordNet probe set (default options) | failed: %s | | |\n", err.msg);
        modex_wordnet_free(&wn);
        return -1;
    }
    /* The limit: reading the same database files, nothing parsed. */
    double tr = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        double r0 = modex_now();
        static const char *const files[] = {"data.noun", "data.verb", "data.adj", "data.adv",
                                            "index.noun", "index.verb", "index.adj", "index.adv"};
        for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
            char *path = modex_path_join(wn.dir, files[i]);
            free(modex_read_text(path, NULL, NULL));
            free(path);
        }
        double r = modex_now() - r0;
        if (r < tr) tr = r;
    }
    fprintf(out, "| WordNet probe set (default options): load + build, %d rows | %.2f s (load %.2f s, build %.2f s) "
                 "| reading the files %.3f s | %.0f× |\n",
            p.nrows, t2 - t0, t1 - t0, t2 - t1, tr, (t2 - t0) / tr);
    modex_wordnet_probe_free(&p);
    modex_wordnet_free(&wn);
    return 0;
}
MODEX_BENCH(wordnet, modex_bench_wordnet)
