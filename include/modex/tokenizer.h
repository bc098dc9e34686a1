/* tokenizer.h — exact tokenizers from the files models ship with: byte-level BPE
 * (tokenizer.json, vocab.json+merges.txt, GGUF "gpt2"), SentencePiece (tokenizer.model,
 * GGUF "llama", SentencePiece-style BPE in tokenizer.json), WordPiece and Unigram. */
#ifndef MODEX_TOKENIZER_H
#define MODEX_TOKENIZER_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "modex/error.h"

typedef struct Tokenizer Tokenizer;

/* path: a model folder (tokenizer.json, else vocab.json+merges.txt, else tokenizer.model),
   a tokenizer.json / vocab.json / tokenizer.model file, or a .gguf file (tokenizer.ggml.*). */
Tokenizer *modex_tok_load(const char *path, Error *err);
void modex_tok_free(Tokenizer *t);

typedef struct TokEncoding {
    int32_t *ids;
    int32_t *begin, *end;  /* byte range [begin,end) of each token in the ORIGINAL text; -1,-1 for added special tokens.
                              A token holding part of a character (byte pieces) gets the whole
                              character's range; text a normalizer inserted (U+2581 prefix) gets
                              the range of the character it was inserted before. */
    int n;
} TokEncoding;

/* add_special: 1 = as the tokenizer's post-processor / SentencePiece add_bos says, 0 = none.
   Thread-safe (const). Invalid UTF-8 is an error (position in err). */
int  modex_tok_encode(const Tokenizer *t, const char *text, size_t len, int add_special, TokEncoding *out, Error *err);
void modex_tok_encoding_free(TokEncoding *e);
char *modex_tok_decode(const Tokenizer *t, const int32_t *ids, int n, int skip_special); /* malloc'd */
int  modex_tok_vocab_size(const Tokenizer *t);
const char *modex_tok_piece(const Tokenizer *t, int32_t id);  /* raw vocabulary string */
int32_t modex_tok_special(const Tokenizer *t, const char *which); /* "bos","eos","unk","pad","cls","sep": id or -1 */
const char *modex_tok_kind(const Tokenizer *t); /* e.g. "byte-level BPE (tokenizer.json)" for `modex info` */

/* Ids that add_special=1 puts before / after the text (counts; the arrays may be NULL). */
int modex_tok_special_added(const Tokenizer *t, const int32_t **prefix, int *n_prefix,
                            const int32_t **suffix, int *n_suffix);

/* Bench row: MB/s of byte-level BPE encoding (GPT-2 vocabulary from the fixtures) on one
   thread over a few MB of generated English text. Returns 0, or -1 if the fixture is missing. */
int modex_bench_tokenizer(FILE *out);

#endif
