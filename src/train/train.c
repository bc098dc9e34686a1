/* train.c — `modex train`'s loop: tokenizer, data, AdamW with warm-up and cosine decay,
 * gradient clipping, checkpoints, progress, and a clean stop on Ctrl-C. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "modex/bench.h"
#include "modex/parallel.h"
#include "modex/train.h"
#include "modex/util.h"
#include "train_internal.h"

void modex_train_defaults(TrainOptions *o) {
    memset(o, 0, sizeof *o);
    o->layers = 4; o->d_model = 128; o->d_ff = 512; o->n_head = 4; o->vocab = 1024; o->ctx = 128;
    o->steps = 1000; o->batch = 16; o->warmup = -1; o->ckpt_every = -1; o->threads = 0;
    o->lr = 2e-3; o->min_lr_frac = 0.1; o->weight_decay = 0.1; o->grad_clip = 1.0; o->seed = 1;
}

static volatile sig_atomic_t stop_requested;
static void on_sigint(int sig) { (void)sig; stop_requested = 1; }

/* Learning rate at step s (1-based): linear warm-up, then cosine down to min_lr_frac * lr. */
static double lr_at(const TrainOptions *o, int warmup, int s) {
    if (s <= warmup) return o->lr * s / warmup;
    double t = (double)(s - warmup) / (double)(o->steps > warmup ? o->steps - warmup : 1);
    double lo = o->lr * o->min_lr_frac;
    return lo + 0.5 * (o->lr - lo) * (1 + cos(M_PI * (t > 1 ? 1 : t)));
}

static int check_opts(const TrainOptions *o, Error *err) {
    const char *n = "modex train";
    if (!o->corpus || !o->out_dir) return modex_error(err, n, "--corpus FILE and --out DIR are required");
    if (o->layers < 1 || o->layers > 64) return modex_error(err, n, "--layers %d (1..64)", o->layers);
    if (o->d_model < 2 || o->n_head < 1 || o->d_model % o->n_head)
        return modex_error(err, n, "--d-model %d must be a multiple of --heads %d", o->d_model, o->n_head);
    if (o->d_ff < 1) return modex_error(err, n, "--d-ff %d (a positive size)", o->d_ff);
    if (o->vocab < 257 || o->vocab > 65535) return modex_error(err, n, "--vocab %d (257..65535)", o->vocab);
    if (o->ctx < 2 || o->ctx > 8192) return modex_error(err, n, "--ctx %d (2..8192)", o->ctx);
    if (o->steps < 1 || o->batch < 1) return modex_error(err, n, "--steps and --batch must be positive");
    if (!(o->lr > 0) || o->lr > 1) return modex_error(err, n, "--lr %g (0 < lr <= 1)", o->lr);
    return 0;
}

typedef struct Data {
    int32_t *ids; long n;
    long *starts; long n_lines, n_train_lines; /* the last lines are held out */
    long train_end;                            /* ids before it belong to training lines */
} Data;

/* A random line start of the training part, with T+1 ids from it inside that part. */
static long pick_start(Rng *r, const Data *d, int T) {
    for (;;) {
        long i = (long)(rng_next(r) % (uint64_t)d->n_train_lines);
        if (d->starts[i] + T + 1 <= d->train_end) return d->starts[i];
    }
}

static int save_ckpt(const TrainOptions *o, const Gpt2Dims *d, const float *p, int step,
                     const char *tokjson, Error *err) {
    char name[64];
    snprintf(name, sizeof name, "checkpoints/step-%06d", step);
    char *dir = modex_path_join(o->out_dir, name);
    int rc = modex_gpt2_save(dir, d, p, 1, tokjson, 1, err);
    free(dir);
    return rc;
}

int modex_train_run(const TrainOptions *o, Error *err) {
    if (check_opts(o, err)) return -1;
    char *final_st = modex_path_join(o->out_dir, "model.safetensors");
    int exists = modex_file_exists(final_st);
    free(final_st);
    if (exists && !o->force)
        return modex_error(err, o->out_dir, "already holds a model (another folder, or --force)");
    modex_set_threads(o->threads);
    double t_start = modex_now();

    /* tokenizer */
    size_t len;
    char *text = modex_read_text(o->corpus, &len, err);
    if (!text) return -1;
    BpeTokenizer tok;
    Gpt2Dims init_d = {0};
    float *init_p = NULL;
    if (o->init_dir) { /* continue from a saved model: its tokenizer, shape and weights */
        char *tj = modex_path_join(o->init_dir, "tokenizer.json");
        int bad = modex_bpe_load_json(&tok, tj, err);
        free(tj);
        if (!bad && modex_gpt2_load(o->init_dir, &init_d, &init_p, err)) { modex_bpe_free(&tok); bad = 1; }
        if (!bad && init_d.V != tok.vocab_size) {
            modex_error(err, o->init_dir, "model vocabulary %d differs from its tokenizer's %d", init_d.V, tok.vocab_size);
            modex_bpe_free(&tok); free(init_p); bad = 1;
        }
        if (bad) { free(text); return -1; }
    } else if (modex_bpe_train(&tok, text, len, o->vocab, o->corpus, err)) { free(text); return -1; }
    Data data = {0};
    int rc = 0;
    data.n = modex_bpe_encode_lines(&tok, text, len, 0, &data.ids, &data.starts, &data.n_lines, err);
    if (data.n < 0) rc = -1;
    free(text);
    const int T = o->init_dir ? MODEX_MIN(o->ctx, init_d.maxT) : o->ctx, B = o->batch;
    if (!rc) {
        long held = data.n_lines / 100;
        data.n_train_lines = data.n_lines - held;
        data.train_end = held ? data.starts[data.n_train_lines] : data.n;
        if (data.n_train_lines < 1 || data.starts[0] + T + 1 > data.train_end)
            rc = modex_error(err, o->corpus, "%ld tokens: too short for --ctx %d (a longer corpus)", data.n, T);
    }
    /* the folder is made only once the input is known to be good */
    char *tokjson = modex_path_join(o->out_dir, "tokenizer.json");
    if (!rc) rc = modex_train_mkdirs(o->out_dir, err);
    if (!rc) rc = modex_bpe_save_json(&tok, tokjson, 1, err);
    int V = tok.vocab_size;
    modex_bpe_free(&tok);
    if (rc) { free(tokjson); free(data.ids); free(data.starts); free(init_p); return -1; }
    if (!o->quiet)
        fprintf(stderr, "modex train: %ld lines, %ld tokens (%.2f bytes/token), vocab %d, %.1f s\n",
                data.n_lines, data.n, (double)len / (double)data.n, V, modex_now() - t_start);

    /* model and optimiser */
    Gpt2Dims d = {.V = V, .maxT = T, .L = o->layers, .C = o->d_model, .NH = o->n_head, .F = o->d_ff};
    if (o->init_dir) d = init_d;
    size_t off[N_PARAM + 1];
    modex_gpt2_offsets(&d, off);
    size_t np = off[N_PARAM];
    float *p = modex_xmalloc(np * sizeof *p), *g = modex_xmalloc(np * sizeof *g);
    float *m = modex_xcalloc(np, sizeof *m), *v = modex_xcalloc(np, sizeof *v);
    unsigned char *decay = modex_xcalloc(np, 1); /* weight decay on matrices only */
    for (int i = 0; i < N_PARAM; i++)
        if (i == P_WTE || i == P_WPE || i == P_QKVW || i == P_ATTPW || i == P_FCW || i == P_FCPW)
            memset(decay + off[i], 1, off[i + 1] - off[i]);
    if (init_p) { memcpy(p, init_p, np * sizeof *p); free(init_p); }
    else modex_gpt2_init(&d, p, o->seed);
    Rng rng;
    rng_seed(&rng, o->seed ^ 0xda7a5eedULL);
    Gpt2Work *w = modex_gpt2_work_new(&d, B, T);
    int32_t *in = modex_xmalloc((size_t)B * T * sizeof *in), *tg = modex_xmalloc((size_t)B * T * sizeof *tg);
    int warmup = o->warmup >= 0 ? o->warmup : o->steps / 20;
    int every = o->ckpt_every >= 0 ? o->ckpt_every : (o->steps >= 10 ? o->steps / 10 : o->steps);
    if (!o->quiet)
        fprintf(stderr, "modex train: %zu parameters, %d layers, d_model %d, d_ff %d, %d heads, ctx %d, "
                        "batch %d, %d steps\n", np, d.L, d.C, d.F, d.NH, T, B, o->steps);

    /* held-out loss on fixed sequences from the last lines */
    long n_val = 0, *val = NULL;
    for (long i = data.n_train_lines; i < data.n_lines && n_val < B; i += 7)
        if (data.starts[i] + T + 1 <= data.n) {
            val = modex_xrealloc(val, (size_t)(n_val + 1) * sizeof *val);
            val[n_val++] = data.starts[i];
        }

    char *logp = modex_path_join(o->out_dir, "train_log.csv");
    OutFile log;
    if (modex_out_open(&log, logp, 1, err)) rc = -1;
    free(logp);
    if (!rc) fprintf(log.f, "step,loss,val_loss,lr,grad_norm,tokens_per_s\n");

    struct sigaction sa = {0}, old_sa;
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    stop_requested = 0;
    sigaction(SIGINT, &sa, &old_sa);
    int tty = isatty(2), stopped = 0, step = 0;
    double t0 = modex_now(), t_last = t0;
    long tok_last = 0;
    for (step = 1; step <= o->steps && !rc; step++) {
        for (int b = 0; b < B; b++) {
            long s = pick_start(&rng, &data, T);
            memcpy(in + (size_t)b * T, data.ids + s, (size_t)T * sizeof *in);
            memcpy(tg + (size_t)b * T, data.ids + s + 1, (size_t)T * sizeof *tg);
        }
        double loss = modex_gpt2_work_step(w, p, in, tg, g);
        double norm = 0;
        for (size_t k = 0; k < np; k++) norm += (double)g[k] * g[k];
        norm = sqrt(norm);
        float clip = norm > o->grad_clip && o->grad_clip > 0 ? (float)(o->grad_clip / norm) : 1.0f;
        double lr = lr_at(o, warmup, step);
        /* AdamW (decoupled weight decay), beta1 0.9, beta2 0.95 */
        float b1 = 0.9f, b2 = 0.95f, c1 = (float)(1 - pow(0.9, step)), c2 = (float)(1 - pow(0.95, step));
        for (size_t k = 0; k < np; k++) {
            float gk = g[k] * clip;
            m[k] = b1 * m[k] + (1 - b1) * gk;
            v[k] = b2 * v[k] + (1 - b2) * gk * gk;
            float upd = (m[k] / c1) / (sqrtf(v[k] / c2) + 1e-8f);
            if (decay[k]) upd += (float)o->weight_decay * p[k];
            p[k] -= (float)lr * upd;
        }
        if (!isfinite(loss)) { rc = modex_error(err, o->out_dir, "loss is not finite at step %d (a lower --lr)", step); break; }
        /* the flag is read once: a Ctrl-C between two reads would stop without a checkpoint */
        int stop = stop_requested != 0;
        int ckpt = step % every == 0 || step == o->steps || stop;
        double vloss = -1;
        if (ckpt && n_val == B) {
            for (int b = 0; b < B; b++) {
                memcpy(in + (size_t)b * T, data.ids + val[b], (size_t)T * sizeof *in);
                memcpy(tg + (size_t)b * T, data.ids + val[b] + 1, (size_t)T * sizeof *tg);
            }
            vloss = modex_gpt2_work_step(w, p, in, tg, NULL);
        }
        double now = modex_now(), tps = (double)((long)step * B * T - tok_last) / (now - t_last + 1e-9);
        fprintf(log.f, "%d,%.6f,", step, loss);
        if (vloss >= 0) fprintf(log.f, "%.6f", vloss);
        fprintf(log.f, ",%.6g,%.6g,%.0f\n", lr, norm, tps);
        if (!o->quiet && (tty || step % 50 == 0 || step == 1 || ckpt)) {
            double eta = (now - t0) / step * (o->steps - step);
            fprintf(stderr, "%sstep %6d/%d  loss %.4f%s  lr %.2e  %6.0f tok/s  eta %.0f s%s",
                    tty ? "\r" : "", step, o->steps, loss, "", lr, tps, eta, tty ? "   " : "\n");
            if (vloss >= 0) fprintf(stderr, "%s  held-out loss %.4f\n", tty ? "\n" : "", vloss);
        }
        t_last = now;
        tok_last = (long)step * B * T;
        if (ckpt && save_ckpt(o, &d, p, step, tokjson, err)) rc = -1;
        if (stop) { stopped = 1; break; }
    }
    sigaction(SIGINT, &old_sa, NULL);
    if (!rc) rc = modex_out_commit(&log, err); else modex_out_abort(&log);
    if (!rc && !stopped) rc = modex_gpt2_save(o->out_dir, &d, p, 0, NULL, 1, err);
    if (!o->quiet && tty) fprintf(stderr, "\n");
    if (!o->quiet && !rc)
        fprintf(stderr, "modex train: %s after %d steps in %.1f s; %s\n", stopped ? "stopped" : "done",
                stopped ? step : o->steps, modex_now() - t_start,
                stopped ? "checkpoint saved (interrupted)" : "model saved");
    modex_gpt2_work_free(w);
    free(p); free(g); free(m); free(v); free(decay); free(in); free(tg); free(val);
    free(tokjson); free(data.ids); free(data.starts);
    if (rc) return -1;
    return stopped ? 1 : 0;
}

// --- bench row ----------------------------------------------------------------------------------
/* `modex bench --only train`: one training step (forward + backward) of the sample model's
 * shape, next to OpenBLAS sgemm (all threads) on the forward's products of the whole batch, one
 * after another; the backward's two products per forward product have the same FLOPs. The
 * step splits the batch over the threads (one single-threaded product each), which runs
 * these skinny shapes faster than OpenBLAS's own threads: the ratio can pass 100%. */
static int bench_train(FILE *out) {
    Gpt2Dims d = {.V = 1024, .maxT = 64, .L = 4, .C = 32, .NH = 4, .F = 3072};
    const int B = 32, T = 64, BT = B * T, reps = 5;
    size_t off[N_PARAM + 1];
    modex_gpt2_offsets(&d, off);
    float *p = modex_xmalloc(off[N_PARAM] * sizeof *p), *g = modex_xmalloc(off[N_PARAM] * sizeof *g);
    modex_gpt2_init(&d, p, 1);
    int32_t *ids = modex_xmalloc((size_t)(BT + 1) * sizeof *ids);
    for (int i = 0; i <= BT; i++) ids[i] = (int32_t)((i * 7919L) % d.V);
    Gpt2Work *w = modex_gpt2_work_new(&d, B, T);
    modex_gpt2_work_step(w, p, ids, ids + 1, g); /* warm-up: pages, OpenBLAS buffers */
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = modex_now();
        modex_gpt2_work_step(w, p, ids, ids + 1, g);
        best = MODEX_MIN(best, modex_now() - t0);
    }
    modex_gpt2_work_free(w);
    free(p); free(g); free(ids);
    /* per layer: qkv, attention projection, FFN in and out; then the tied LM head */
    int mnk[4 * 8 + 1][3], n = 0;
    for (int l = 0; l < d.L; l++) {
        int sh[4][3] = {{BT, 3 * d.C, d.C}, {BT, d.C, d.C}, {BT, d.F, d.C}, {BT, d.C, d.F}};
        for (int k = 0; k < 4; k++) memcpy(mnk[n++], sh[k], sizeof sh[k]);
    }
    int head[3] = {BT, d.V, d.C};
    memcpy(mnk[n++], head, sizeof head);
    double flops = 0;
    for (int i = 0; i < n; i++) flops += 2.0 * mnk[i][0] * mnk[i][1] * mnk[i][2];
    flops *= 3; /* forward + the backward's two products */
    double lim = modex_bench_sgemm((const int(*)[3])mnk, n, 3);
    fprintf(out, "| training step, sample model shape (L4 d32 ff3072 h4, V1024), batch %dx%d, %d threads "
            "| %.0f ms, %.0f tok/s, %.1f GFLOP/s | sgemm, the same products unsplit %.1f GFLOP/s | %.0f%% |\n",
            B, T, modex_threads(), best * 1e3, BT / best, flops / best / 1e9, lim, 100 * flops / best / 1e9 / lim);
    return 0;
}
MODEX_BENCH(train, bench_train)
