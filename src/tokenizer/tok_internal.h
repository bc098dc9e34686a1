/* tok_internal.h — the Tokenizer struct and the pieces shared by the tokenizer files:
 * hash maps, the aligned normalized string, normalizers, pre-tokenizers, models, decoders. */
#ifndef MODEX_TOK_INTERNAL_H
#define MODEX_TOK_INTERNAL_H
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include "modex/error.h"
#include "modex/tokenizer.h"

// --- hash maps -------------------------------------------------------------------------
typedef struct StrEntry { char *key; uint32_t klen, hash; int32_t val; } StrEntry;
typedef struct StrMap {          /* bytes -> int32, open addressing, keys copied */
    StrEntry *e;
    size_t cap, n;
} StrMap;
void    strmap_init(StrMap *m, size_t expect);
void    strmap_free(StrMap *m);
int32_t strmap_get(const StrMap *m, const char *k, size_t len);      /* -1 if absent */
void    strmap_put(StrMap *m, const char *k, size_t len, int32_t v); /* keeps the first value */

typedef struct PairEntry { uint64_t key; int32_t rank, id; } PairEntry;
typedef struct PairMap {         /* (left id, right id) -> (rank, merged id); key UINT64_MAX = empty */
    PairEntry *e;
    size_t cap, n;
} PairMap;
void pairmap_init(PairMap *m, size_t expect);
void pairmap_free(PairMap *m);
int  pairmap_get(const PairMap *m, int32_t a, int32_t b, int32_t *rank, int32_t *id);
void pairmap_put(PairMap *m, int32_t a, int32_t b, int32_t rank, int32_t id);

/* Token ids may leave gaps, but never run further than this past a vocabulary's entry count:
 * a 20-byte vocab.json naming id 50000000 would otherwise allocate ~1.5 GB of empty slots. */
#define TOK_ID_SLACK 65536
static inline long long tok_id_limit(size_t entries) { return (long long)entries + TOK_ID_SLACK; }

// --- UTF-8 ---------------------------------------------------------------------------
int  tok_utf8_len(unsigned char c);                      /* sequence length from lead byte */
int  tok_utf8_decode(const char *s, size_t n, int32_t *cp); /* bytes used; assumes valid */
int  tok_utf8_encode(int32_t cp, char *out);             /* bytes written (1..4) */
long tok_utf8_invalid(const char *s, size_t n);          /* offset of first bad byte or -1 */
/* GPT-2 byte <-> printable unicode mapping. */
int32_t tok_byte_to_cp(int b);
int     tok_cp_to_byte(int32_t cp);                      /* -1 if not a mapped codepoint */

// --- the normalized string with alignment to the original text ---------------------------
typedef struct NormStr {
    char *s;
    int32_t *ob, *oe;           /* per byte: original range of the char it came from */
    size_t n, cap;
} NormStr;
void ns_init(NormStr *ns, size_t cap);
void ns_free(NormStr *ns);
void ns_push(NormStr *ns, const char *b, size_t len, int32_t ob, int32_t oe);
void ns_from_text(NormStr *ns, const char *text, size_t len, int32_t base);

typedef struct Range { size_t b, e; } Range;
typedef struct Ranges { Range *r; int n, cap; } Ranges;
void ranges_push(Ranges *w, size_t b, size_t e);

// --- pipeline components -------------------------------------------------------------------
enum NormKind { N_NFC, N_NFD, N_NFKC, N_NFKD, N_LOWER, N_BERT, N_REPLACE, N_PREPEND, N_STRIP,
                N_STRIP_ACCENTS };
typedef struct Normalizer {
    int kind;
    char *pat; size_t plen;     /* Replace: literal pattern, or re */
    pcre2_code *re;
    char *content; size_t clen; /* Replace / Prepend */
    int clean, chinese, strip_accents, lower; /* Bert */
    int left, right;            /* Strip */
} Normalizer;
void tok_normalize(const Normalizer *nz, NormStr *ns);

enum PreKind { P_BYTELEVEL, P_BERT, P_WHITESPACE, P_WSSPLIT, P_METASPACE, P_SPLIT, P_DIGITS,
               P_PUNCT };
enum SplitBehavior { SB_REMOVED, SB_ISOLATED, SB_PREV, SB_NEXT, SB_CONTIGUOUS };
typedef struct PreTok {
    int kind;
    pcre2_code *re;             /* Split / ByteLevel / Whitespace */
    char *pat; size_t plen;     /* Split with a literal string */
    int behavior, invert;
    int add_prefix_space, use_regex;
    char repl[8]; int repl_len; /* Metaspace */
    int prepend;                /* Metaspace: 0 never, 1 first, 2 always */
    int split;
    int individual;             /* Digits */
} PreTok;
/* words: ranges into ns; the pre-tokenizer may rewrite ns (Metaspace, ByteLevel prefix). */
void tok_pretokenize(const PreTok *p, NormStr *ns, Ranges *words);
pcre2_code *tok_regex(const char *pat, size_t len, Error *err, const char *file);
extern const char TOK_GPT2_REGEX[];

enum DecKind { D_BYTELEVEL, D_WORDPIECE, D_METASPACE, D_REPLACE, D_BYTEFALLBACK, D_FUSE,
               D_STRIP, D_BPE_SUFFIX };
typedef struct Decoder {
    int kind;
    char *a, *b;                /* Replace: pattern, content; WordPiece: prefix; BPE: suffix */
    int start, stop;            /* Strip */
    int cleanup;                /* WordPiece */
    char repl[8]; int prepend;  /* Metaspace */
} Decoder;

typedef struct AddedTok {
    char *content; size_t len;
    int32_t id;
    int special, lstrip, rstrip, single_word, normalized;
} AddedTok;

// --- the tokenizer ----------------------------------------------------------------------
enum TokModel { TM_BPE = 1, TM_WORDPIECE, TM_UNIGRAM, TM_SPM_BPE };
enum SpmType { SPM_NORMAL = 1, SPM_UNKNOWN = 2, SPM_CONTROL = 3, SPM_USER = 4, SPM_UNUSED = 5,
               SPM_BYTE = 6 };

typedef struct TokWord { int32_t *ids; uint16_t *len; int n; } TokWord;

struct Tokenizer {
    int model;
    char kind[96];
    char *path;
    int n_vocab;
    int vocab_cap;     /* allocated entries of the arrays below (grown geometrically) */
    char **piece; uint32_t *piece_len;  /* raw vocabulary strings by id (NULL = hole) */
    char **form;  uint32_t *form_len;   /* what the model matches (byte-level: raw bytes) */
    double *score;
    uint8_t *type;                      /* SentencePiece piece types (0 if unknown) */
    StrMap vocab;                       /* form -> id */
    PairMap merges;
    int byte_level;                     /* BPE over raw bytes (ByteLevel) */
    int byte_fallback, fuse_unk, ignore_merges;
    int32_t byte_id[256];               /* <0xXX> pieces, or the byte-level char piece */
    int32_t unk_id, bos_id, eos_id, pad_id, cls_id, sep_id;
    char *cont_prefix;                  /* WordPiece "##" */
    char *bpe_prefix, *bpe_suffix;      /* BPE continuing_subword_prefix / end_of_word_suffix (forms) */
    int max_chars;                      /* WordPiece max_input_chars_per_word */
    double min_score, max_score;        /* Unigram */
    int max_piece_len;
    int spm;                            /* SentencePiece normalization (tokenizer.model, GGUF) */
    int spm_dummy, spm_remove_ws, spm_escape, spm_nfkc;
    Normalizer *norm; int n_norm;
    PreTok *pre; int n_pre;
    Decoder *dec; int n_dec;
    AddedTok *added; int n_added;
    int32_t *post_pre, *post_suf; int n_post_pre, n_post_suf;
    /* word cache (BPE), guarded by the mutex so that encode stays thread-safe */
    pthread_mutex_t lock;
    StrMap cache; TokWord *cached; int n_cached, cap_cached;
};

Tokenizer *tok_new(int n_vocab);
void tok_set_piece(Tokenizer *t, int32_t id, const char *s, size_t len); /* also form + vocab */
void tok_finish(Tokenizer *t);          /* derive byte ids, specials etc. after loading */
AddedTok *tok_add_added(Tokenizer *t, const char *s, size_t len, int32_t id, int special);

/* Token output accumulator. */
typedef struct TokOut {
    int32_t *ids, *b, *e; int n, cap;
    int has_bad; int32_t bad_at;  /* text the vocabulary cannot express (no unk, no byte pieces) */
} TokOut;
void tokout_bad(TokOut *o, int32_t at);
void tokout_push(TokOut *o, int32_t id, int32_t b, int32_t e);

/* Models: encode one word (bytes s[0..n) of a NormStr at offset off). */
void bpe_encode_word(const Tokenizer *t, const NormStr *ns, size_t off, size_t n, TokOut *o);
void spm_bpe_encode(const Tokenizer *t, const NormStr *ns, size_t off, size_t n, TokOut *o);
void wordpiece_encode_word(const Tokenizer *t, const NormStr *ns, size_t off, size_t n, TokOut *o);
void unigram_encode(const Tokenizer *t, const NormStr *ns, size_t off, size_t n, TokOut *o);
/* Pushes unknown bytes/chars [a,b) of ns as byte pieces, or one unk (fused with the last). */
void tok_push_unknown(const Tokenizer *t, const NormStr *ns, size_t a, size_t b, TokOut *o,
                      int fuse);
/* SentencePiece normalizer (dummy prefix, whitespace, NFKC) of a segment. */
void spm_normalize(const Tokenizer *t, NormStr *ns);

/* Loaders (fill t; return 0 or -1 with err). */
Tokenizer *tok_load_json(const char *path, Error *err);
Tokenizer *tok_load_gpt2(const char *vocab, const char *merges, Error *err);
Tokenizer *tok_load_spm(const char *path, Error *err);
Tokenizer *tok_load_gguf(const char *path, Error *err);

/* Decoding: token strings -> text. */
char *tok_decode_pieces(const Tokenizer *t, char **tok, size_t *len, int n);

#endif
