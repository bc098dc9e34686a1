/* cmd_tokenize.c — `modex tokenize PATH TEXT | --jsonl | --decode IDS`. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "modex/cli.h"
#include "modex/tokenizer.h"
#include "modex/util.h"

static void usage(FILE *f) {
    fprintf(f,
        "usage: modex tokenize PATH \"TEXT\" [--pieces] [--no-special]\n"
        "       modex tokenize PATH --jsonl [--no-special]   < lines {\"text\": ...}\n"
        "       modex tokenize PATH --decode ID,ID,... [--no-special]\n\n"
        "PATH: a model folder (tokenizer.json, else vocab.json + merges.txt, else tokenizer.model),\n"
        "      one of those files, or a .gguf file (tokenizer.ggml.*).\n"
        "Prints the token ids separated by spaces (--pieces: the vocabulary pieces instead).\n"
        "--jsonl   reads JSON lines with a \"text\" field on stdin, writes {\"text\": ..., \"ids\": [...]}\n"
        "          per line (the format of the fixtures' encodings.jsonl).\n"
        "--decode  prints the text of comma- or space-separated ids.\n"
        "Special tokens are added as the tokenizer itself says: tokenizer.json's post-processor\n"
        "(e.g. BERT [CLS] ... [SEP]), none for vocab.json + merges.txt and tokenizer.model\n"
        "(sentencepiece adds no BOS), GGUF's tokenizer.ggml.add_bos_token / add_eos_token.\n"
        "--no-special  adds none (and --decode then drops special tokens).\n"
        "Errors (unreadable tokenizer, invalid UTF-8, bad JSON line) print one line; exit 2.\n");
}

static int print_encoding(const Tokenizer *t, const char *text, size_t len, int special, int pieces) {
    TokEncoding e;
    Error err;
    if (modex_tok_encode(t, text, len, special, &e, &err)) { modex_error_print(&err); return 2; }
    for (int i = 0; i < e.n; i++) {
        if (i) putchar(' ');
        if (pieces) { const char *p = modex_tok_piece(t, e.ids[i]); fputs(p ? p : "?", stdout); }
        else printf("%d", e.ids[i]);
    }
    putchar('\n');
    modex_tok_encoding_free(&e);
    return 0;
}

static int run_jsonl(const Tokenizer *t, int special) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0;
    int rc = 0;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        if (n == 0 || (n == 1 && line[0] == '\n')) continue;
        json_error_t je;
        json_t *o = json_loadb(line, (size_t)n, 0, &je);
        const json_t *tx = json_object_get(o, "text");
        if (!o || !json_is_string(tx)) {
            Error err;
            if (!o) modex_error_line(&err, "(stdin)", lineno, je.column, "%s (expected a JSON object with a \"text\" string)", je.text);
            else modex_error_line(&err, "(stdin)", lineno, 0, "no \"text\" string (expected {\"text\": ...})");
            modex_error_print(&err);
            json_decref(o);
            rc = 2;
            break;
        }
        TokEncoding e;
        Error err;
        if (modex_tok_encode(t, json_string_value(tx), json_string_length(tx), special, &e, &err)) {
            Error e2;
            modex_error_line(&e2, "(stdin)", lineno, 0, "%s", err.msg);
            modex_error_print(&e2);
            json_decref(o);
            rc = 2;
            break;
        }
        json_t *ids = json_array(), *out = json_object();
        for (int i = 0; i < e.n; i++) json_array_append_new(ids, json_integer(e.ids[i]));
        json_object_set(out, "text", (json_t *)tx);
        json_object_set_new(out, "ids", ids);
        char *s = json_dumps(out, JSON_PRESERVE_ORDER);
        puts(s);
        free(s);
        json_decref(out);
        json_decref(o);
        modex_tok_encoding_free(&e);
    }
    free(line);
    return rc;
}

static int cmd_tokenize(int argc, char **argv) {
    const char *path = NULL, *text = NULL, *decode = NULL;
    int pieces = 0, jsonl = 0, special = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (modex_is_help(a)) { usage(stdout); return 0; }
        if (!strcmp(a, "--pieces")) pieces = 1;
        else if (!strcmp(a, "--jsonl")) jsonl = 1;
        else if (!strcmp(a, "--no-special")) special = 0;
        else if (!strcmp(a, "--decode")) {
            if (i + 1 >= argc) { fprintf(stderr, "modex: tokenize: --decode needs ids (expected e.g. 15496,995)\n"); return 2; }
            decode = argv[++i];
        } else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "modex: tokenize: unknown option '%s' (see modex tokenize --help)\n", a);
            return 2;
        } else if (!path) path = a;
        else if (!text) text = a;
        else { fprintf(stderr, "modex: tokenize: unexpected argument '%s' (see modex tokenize --help)\n", a); return 2; }
    }
    if (!path || (!text && !jsonl && !decode)) { usage(stderr); return 2; }
    Error err;
    Tokenizer *t = modex_tok_load(path, &err);
    if (!t) { modex_error_print(&err); return 2; }
    int rc = 0;
    if (decode) {
        int64_t *v = NULL;
        int n = modex_parse_ints(decode, &v);
        if (n < 0) {
            fprintf(stderr, "modex: --decode: '%s' is not a list of ids (expected e.g. 15496,995)\n", decode);
            rc = 2;
        } else {
            int32_t *ids = modex_xmalloc(((size_t)n + 1) * sizeof *ids);
            for (int i = 0; i < n && !rc; i++) {
                if (v[i] < 0 || v[i] >= modex_tok_vocab_size(t)) {
                    fprintf(stderr, "modex: --decode: id %lld out of range (expected 0..%d)\n", (long long)v[i],
                            modex_tok_vocab_size(t) - 1);
                    rc = 2;
                }
                ids[i] = (int32_t)v[i];
            }
            if (!rc) {
                char *s = modex_tok_decode(t, ids, n, !special);
                puts(s);
                free(s);
            }
            free(ids);
        }
        free(v);
    } else if (jsonl) {
        rc = run_jsonl(t, special);
    } else {
        rc = print_encoding(t, text, strlen(text), special, pieces);
    }
    modex_tok_free(t);
    return rc;
}

MODEX_COMMAND(tokenize, "text to token ids (and back) with a model's own tokenizer", cmd_tokenize)
