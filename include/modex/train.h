/* train.h — the sample-model trainer: a synthetic multi-task corpus with probe sets, a
 * byte-level BPE trainer that writes Hugging Face tokenizer.json, and a GPT-2 (ReLU FFN)
 * trainer in C on OpenBLAS that saves Hugging Face folders. */
#ifndef MODEX_TRAIN_H
#define MODEX_TRAIN_H
#include <stddef.h>
#include <stdint.h>
#include "modex/error.h"

// --- corpus ---------------------------------------------------------------------------
/* Writes n_lines of English text, one document per line, whose sub-functions are known by
 * construction (see corpus.c); probe_path (may be NULL) gets a held-out probe CSV
 * (text,function,subfunction,label,span,answer) of per_sub rows per sub-function.
 * Same seed -> same bytes. */
int modex_corpus_write(const char *path, const char *probe_path, uint64_t seed, long n_lines,
                       int per_sub, int force, Error *err);

// --- byte-level BPE -------------------------------------------------------------------
typedef struct BpeTokenizer {
    int vocab_size;      /* tokens: 0 = <|endoftext|>, 1..256 = bytes, then merges */
    char **tokens;       /* [vocab_size] token strings in GPT-2's byte-to-unicode alphabet */
    int n_merges;
    int32_t (*merges)[3]; /* [n_merges] (left id, right id, merged id), in rank order */
} BpeTokenizer;

/* Learns merges on text (GPT-2 pre-tokenizer regex, byte-level) until vocab_size tokens. */
int  modex_bpe_train(BpeTokenizer *tok, const char *text, size_t len, int vocab_size,
                     const char *name_for_errors, Error *err);
void modex_bpe_free(BpeTokenizer *tok);
/* Writes a Hugging Face tokenizer.json (BPE, ByteLevel pre-tokenizer and decoder). */
int  modex_bpe_save_json(const BpeTokenizer *tok, const char *path, int force, Error *err);
/* Reads a byte-level BPE tokenizer.json back (merges as "a b" strings or [a, b] pairs). */
int  modex_bpe_load_json(BpeTokenizer *tok, const char *path, Error *err);
/* Encodes text (no special tokens added); returns the number of ids, or -1. *ids malloc'd. */
long modex_bpe_encode(const BpeTokenizer *tok, const char *text, size_t len, int32_t **ids,
                      Error *err);

// --- GPT-2 trainer --------------------------------------------------------------------
typedef struct TrainOptions {
    const char *corpus, *out_dir;
    int layers, d_model, d_ff, n_head, vocab, ctx;
    int steps, batch, warmup, ckpt_every, threads;
    double lr, min_lr_frac, weight_decay, grad_clip;
    uint64_t seed;
    int force, quiet;
} TrainOptions;

void modex_train_defaults(TrainOptions *o);
/* Trains tokenizer + model and writes DIR (config.json, model.safetensors, tokenizer.json,
 * train_log.csv) and DIR/checkpoints/step-NNNNNN. Returns 0, -1 on error, 1 if stopped by
 * SIGINT (a checkpoint of the last step is saved). */
int modex_train_run(const TrainOptions *o, Error *err);

/* Logits [n, vocab] of the trainer's own forward on a saved folder (for cross-checks). */
int modex_train_logits(const char *model_dir, const int32_t *ids, int n, float *out,
                       Error *err);

#endif
