/* wordnet.h — WordNet 3.0 database files (as Debian's wordnet-base installs them) read
 * directly, and probe sets built from them: word senses (semantic) and lexical relations
 * (knowledge). File formats: wndb(5WN). */
#ifndef MODEX_WORDNET_H
#define MODEX_WORDNET_H
#include <stdint.h>
#include <stdio.h>
#include "modex/error.h"

typedef enum WordnetPos { WN_NOUN, WN_VERB, WN_ADJ, WN_ADV, WN_NPOS } WordnetPos;

typedef struct WordnetPointer {
    char symbol[3];   /* "@", "@i", "#p", "!" ... (wninput(5WN)) */
    uint8_t pos;      /* WordnetPos of the target */
    uint8_t source;   /* word number in this synset (1-based), 0 = semantic pointer */
    uint8_t target;   /* word number in the target synset, 0 = semantic pointer */
    int32_t synset;   /* index of the target in wn->pos[pos].synsets */
} WordnetPointer;

typedef struct WordnetSynset {
    uint32_t offset;    /* byte offset in data.POS */
    uint32_t line;      /* line number in data.POS */
    uint8_t lexfile;    /* lexicographer file number (lexnames(5WN)) */
    char type;          /* n v a s r */
    uint16_t nwords, nexamples;
    uint32_t nptrs;
    uint32_t words, ptrs, examples; /* first index into the pos's pools */
} WordnetSynset;

typedef struct WordnetLemma {
    const char *lemma;  /* lower case, collocations joined by '_' */
    uint32_t nsenses;
    uint32_t senses;    /* first index into sense_pool: synset indices, sense 1 first */
} WordnetLemma;

typedef struct WordnetException {
    const char *form;   /* inflected form */
    uint32_t nbases, bases; /* first index into base_pool */
} WordnetException;

typedef struct WordnetPosData {
    char *data_path, *index_path, *exc_path;
    char *data_text, *index_text, *exc_text;   /* file contents, tokenised in place */
    WordnetSynset *synsets; int nsynsets;      /* in file (= offset) order */
    const char **words;      /* synset words as written (case kept, adj. markers cut) */
    WordnetPointer *ptrs;
    const char **examples;   /* quoted usage examples of the glosses, quotes removed */
    WordnetLemma *lemmas; int nlemmas;         /* sorted by lemma */
    int32_t *sense_pool;
    WordnetException *exc; int nexc;           /* sorted by form */
    const char **base_pool;
} WordnetPosData;

typedef struct Wordnet {
    char *dir;
    WordnetPosData pos[WN_NPOS];
} Wordnet;

/* The database folder: $WNSEARCHDIR, else the first of /usr/share/wordnet,
 * /usr/local/WordNet-3.0/dict, /usr/share/wordnet/dict that holds data.noun. */
const char *modex_wordnet_default_dir(void);
/* Loads data.*, index.* and *.exc of all four parts of speech. A missing or malformed file
 * is one error "FILE:LINE: what (expected)". */
int  modex_wordnet_load(Wordnet *wn, const char *dir, Error *err);
void modex_wordnet_free(Wordnet *wn);
/* Index entry of a lemma ("bank", "pull_the_plug"), NULL if absent. */
const WordnetLemma *modex_wordnet_lemma(const Wordnet *wn, WordnetPos pos, const char *lemma);
/* Synset by byte offset, NULL if absent. */
const WordnetSynset *modex_wordnet_synset(const Wordnet *wn, WordnetPos pos, uint32_t offset);
/* 1 if the token (n bytes, any case) is LEMMA or an inflection of it in POS, found by the
 * exception list or Morphy's detachment rules (morphy(7WN)). */
int modex_wordnet_is_form(const Wordnet *wn, WordnetPos pos, const char *tok, size_t n,
                          const char *lemma, size_t lemma_len);
/* First occurrence of LEMMA (inflected forms too; '_' in collocations matches spaces) as
 * whole words in TEXT: returns its start and sets *len, or NULL. */
const char *modex_wordnet_find(const Wordnet *wn, WordnetPos pos, const char *text,
                               const char *lemma, size_t *len);

// --- probe sets ---------------------------------------------------------------------------

typedef struct WordnetOptions {
    const char *const *words; int nwords; /* semantic: only these lemmas (NULL: all) */
    unsigned pos_mask;      /* semantic: bit (1 << WordnetPos) per part of speech */
    int min_examples;       /* usage examples per sense needed (>= 1) */
    int max_subfunctions;   /* semantic sub-functions kept (0: none) */
    int per_word;           /* semantic sub-functions per word when --words is not given */
    int pairs;              /* knowledge: true pairs per relation (each gets a false twin) */
    uint64_t seed;
} WordnetOptions;
/* The defaults of `modex probes wordnet` (they build assets/probes/wordnet.csv). */
void modex_wordnet_options_default(WordnetOptions *o);

typedef struct WordnetRow {
    char *text, *function, *subfunction, *span, *answer, *id; /* answer may be "" */
    int label;
} WordnetRow;

typedef struct WordnetProbe {
    WordnetRow *rows; int nrows;
    int subfunctions[2];     /* [0] semantic, [1] knowledge */
    int positives[2], negatives[2];
} WordnetProbe;

/* Builds the probe set: semantic rows first (sub-functions in lemma order), then knowledge
 * rows (one sub-function per relation). Deterministic for a seed. */
int  modex_wordnet_probe_build(const Wordnet *wn, const WordnetOptions *o, WordnetProbe *p,
                               Error *err);
/* Writes the probe CSV (header text,function,subfunction,label,span,answer,id; libcsv) to
 * PATH atomically; refuses an existing file unless force. */
int  modex_wordnet_probe_write(const WordnetProbe *p, const char *path, int force, Error *err);
/* The same CSV to a stream. */
int  modex_wordnet_probe_fwrite(const WordnetProbe *p, FILE *f);
void modex_wordnet_probe_free(WordnetProbe *p);
/* "wordnet: ..." summary lines (sub-functions, rows, examples per class). */
void modex_wordnet_probe_summary(const WordnetProbe *p, FILE *f);

/* `modex bench` row (registered as "wordnet"): seconds to load WordNet and build the default
 * set in memory, next to the time to read the same files; a skip row without WordNet. */
int modex_bench_wordnet(FILE *out);

#endif
