/* cmd_info.c — `modex info PATH`: what a model is. */
#include <stdio.h>
#include <string.h>
#include "modex/cli.h"
#include "modex/model.h"
#include "modex/tokenizer.h"

static int cmd_info(int argc, char **argv) {
    if (argc != 2 || modex_is_help(argv[1])) {
        FILE *f = argc == 2 ? stdout : stderr;
        fprintf(f, "usage: modex info PATH\n\n"
                   "Prints the architecture, layers, d_model, d_ff, heads / key-value heads, vocabulary,\n"
                   "dtypes, parameter count, file size and tokenizer of a model.\n"
                   "PATH is a Hugging Face model folder (config.json + safetensors) or a .gguf file.\n");
        return argc == 2 ? 0 : 2;
    }
    Error err = {0};
    Model *m = modex_model_open(argv[1], &err);
    if (!m) { modex_error_print(&err); return 2; }
    char buf[4096];
    modex_model_describe(m, buf, sizeof buf);
    fputs(buf, stdout);
    Error terr = {0};
    Tokenizer *t = modex_tok_load(argv[1], &terr);
    if (t) {
        printf("tokenizer      %s, %d tokens\n", modex_tok_kind(t), modex_tok_vocab_size(t));
        modex_tok_free(t);
    } else {
        printf("tokenizer      none found (%s)\n", terr.msg);
    }
    modex_model_free(m);
    return 0;
}
MODEX_COMMAND(info, "describe a model (architecture, sizes, dtypes, tokenizer)", cmd_info)
