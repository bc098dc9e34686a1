/* cmd_train.c — `modex train`: a byte-level BPE tokenizer and a GPT-2 (ReLU FFN) model trained
 * from a text corpus, saved as Hugging Face folders with a checkpoint series. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "modex/cli.h"
#include "modex/train.h"

static void usage(FILE *f) {
    TrainOptions d;
    modex_train_defaults(&d);
    fprintf(f,
        "usage: modex train --corpus FILE --out DIR [options]\n"
        "Trains a byte-level BPE tokenizer and a GPT-2 model with a ReLU FFN on FILE (one\n"
        "document per line) and writes DIR/{config.json,model.safetensors,tokenizer.json,\n"
        "train_log.csv} and DIR/checkpoints/step-NNNNNN (BF16). Ctrl-C saves a checkpoint and stops.\n"
        "options (defaults):\n"
        "  --layers N (%d)  --d-model N (%d)  --d-ff N (%d)  --heads N (%d)  --vocab N (%d)\n"
        "  --ctx N (%d)  --steps N (%d)  --batch N (%d)  --lr X (%g)  --min-lr-frac X (%g)\n"
        "  --warmup N (steps/20)  --weight-decay X (%g)  --grad-clip X (%g)  --seed S (%llu)\n"
        "  --ckpt-every K (steps/10)  --threads T (all cores: each takes a part of every batch;\n"
        "  the same T gives the same weights on a rerun)\n"
        "  --init DIR (continue from a saved model: its tokenizer and shape, a fresh optimiser)\n"
        "  --force (overwrite DIR's model)  --quiet\n",
        d.layers, d.d_model, d.d_ff, d.n_head, d.vocab, d.ctx, d.steps, d.batch, d.lr, d.min_lr_frac,
        d.weight_decay, d.grad_clip, (unsigned long long)d.seed);
}

static int num(const char *opt, const char *v, double lo, double hi, double *out) {
    char *end;
    double x = v ? strtod(v, &end) : 0;
    if (!v || *end || end == v || !(x >= lo && x <= hi)) {
        fprintf(stderr, "modex: train: %s: '%s' is not a valid value (a number in %g..%g)\n", opt,
                v ? v : "", lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

static int cmd_train(int argc, char **argv) {
    TrainOptions o;
    modex_train_defaults(&o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        double x;
        if (modex_is_help(a)) { usage(stdout); return 0; }
        if (!strcmp(a, "--force")) { o.force = 1; continue; }
        if (!strcmp(a, "--quiet")) { o.quiet = 1; continue; }
        struct { const char *name; int *ip; double *dp; double lo, hi; } opts[] = {
            {"--layers", &o.layers, NULL, 1, 64}, {"--d-model", &o.d_model, NULL, 2, 8192},
            {"--d-ff", &o.d_ff, NULL, 1, 65536}, {"--heads", &o.n_head, NULL, 1, 256},
            {"--vocab", &o.vocab, NULL, 257, 65535}, {"--ctx", &o.ctx, NULL, 2, 8192},
            {"--steps", &o.steps, NULL, 1, 1e9}, {"--batch", &o.batch, NULL, 1, 65536},
            {"--warmup", &o.warmup, NULL, 0, 1e9}, {"--ckpt-every", &o.ckpt_every, NULL, 1, 1e9},
            {"--threads", &o.threads, NULL, 0, 64}, {"--lr", NULL, &o.lr, 1e-9, 1},
            {"--min-lr-frac", NULL, &o.min_lr_frac, 0, 1}, {"--weight-decay", NULL, &o.weight_decay, 0, 10},
            {"--grad-clip", NULL, &o.grad_clip, 0, 1e9}, {"--seed", NULL, NULL, 0, 9007199254740992.0}};
        int found = 0;
        if (!strcmp(a, "--corpus") && v) { o.corpus = v; i++; continue; }
        if (!strcmp(a, "--out") && v) { o.out_dir = v; i++; continue; }
        if (!strcmp(a, "--init") && v) { o.init_dir = v; i++; continue; }
        for (size_t k = 0; k < sizeof opts / sizeof *opts && !found; k++) {
            if (strcmp(a, opts[k].name)) continue;
            found = 1;
            if (num(a, v, opts[k].lo, opts[k].hi, &x)) return 2;
            if (opts[k].ip) {
                if (x != (int)x) { fprintf(stderr, "modex: train: %s: '%s' is not an integer\n", a, v); return 2; }
                *opts[k].ip = (int)x;
            } else if (opts[k].dp) *opts[k].dp = x;
            else o.seed = (uint64_t)x;
            i++;
        }
        if (!found) {
            fprintf(stderr, "modex: train: unknown or incomplete option '%s' (see modex train --help)\n", a);
            return 2;
        }
    }
    Error err;
    int rc = modex_train_run(&o, &err);
    if (rc < 0) { modex_error_print(&err); return 2; }
    return rc ? 130 : 0;
}
MODEX_COMMAND(train, "train a byte-level BPE tokenizer and a GPT-2 (ReLU) model on a corpus", cmd_train)
