/* gpt2_kernels.h — forward and backward of GPT-2 with a ReLU FFN, written once and compiled
 * twice by gpt2_train.c: in float (training) and in double (the finite-difference check).
 * Before including, define R (the real type), SFX(name) (adds a suffix), GEMM (cblas_sgemm or
 * cblas_dgemm), RSQRT/EXP/LOG (math in R). Weights are in Hugging Face's Conv1D layout
 * [in, out], stacked over layers; offsets come from gpt2_offsets() in gpt2_train.c.
 * Kernels follow llm.c: out first, shapes last. */

// --- run state ------------------------------------------------------------------------------
typedef struct SFX(Run) {
    int B, T;
    R *encoded;                  // (B, T, C) token + position embeddings
    R *ln1, *ln1_mean, *ln1_rstd; // (L, B, T, C), (L, B, T), (L, B, T)
    R *qkv;                      // (L, B, T, 3C)
    R *att;                      // (L, B, NH, T, T) softmax probabilities, 0 above the diagonal
    R *atty;                     // (L, B, T, C) attention output before c_proj
    R *res2;                     // (L, B, T, C) residual after attention
    R *ln2, *ln2_mean, *ln2_rstd; // (L, B, T, C), (L, B, T), (L, B, T)
    R *fch;                      // (L, B, T, F) FFN hidden after ReLU (the input of mlp.c_proj)
    R *res3;                     // (L, B, T, C) residual after the FFN
    R *lnf, *lnf_mean, *lnf_rstd; // (B, T, C), (B, T), (B, T)
    R *probs;                    // (B, T, V) logits, then softmax, then dlogits in backward
    R *losses;                   // (B, T)
    /* backward scratch, one layer at a time */
    R *dres, *dln, *dqkv, *datty, *datt, *dfch; // (B,T,C) (B,T,C) (B,T,3C) (B,T,C) (B,NH,T,T) (B,T,F)
} SFX(Run);

static void SFX(run_alloc)(SFX(Run) *r, const Gpt2Dims *d, int B, int T) {
    size_t BT = (size_t)B * T, L = (size_t)d->L, C = (size_t)d->C, F = (size_t)d->F;
    size_t att = (size_t)B * d->NH * T * T;
    memset(r, 0, sizeof *r);
    r->B = B; r->T = T;
    R **p[] = {&r->encoded, &r->ln1, &r->ln1_mean, &r->ln1_rstd, &r->qkv, &r->att, &r->atty,
               &r->res2, &r->ln2, &r->ln2_mean, &r->ln2_rstd, &r->fch, &r->res3, &r->lnf,
               &r->lnf_mean, &r->lnf_rstd, &r->probs, &r->losses, &r->dres, &r->dln, &r->dqkv,
               &r->datty, &r->datt, &r->dfch};
    size_t n[] = {BT * C, L * BT * C, L * BT, L * BT, L * BT * 3 * C, L * att, L * BT * C,
                  L * BT * C, L * BT * C, L * BT, L * BT, L * BT * F, L * BT * C, BT * C,
                  BT, BT, BT * (size_t)d->V, BT, BT * C, BT * C, BT * 3 * C, BT * C, att, BT * F};
    for (size_t i = 0; i < sizeof n / sizeof n[0]; i++) *p[i] = modex_xcalloc(n[i], sizeof(R));
}

static void SFX(run_free)(SFX(Run) *r) {
    R *p[] = {r->encoded, r->ln1, r->ln1_mean, r->ln1_rstd, r->qkv, r->att, r->atty, r->res2,
              r->ln2, r->ln2_mean, r->ln2_rstd, r->fch, r->res3, r->lnf, r->lnf_mean,
              r->lnf_rstd, r->probs, r->losses, r->dres, r->dln, r->dqkv, r->datty, r->datt,
              r->dfch};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) free(p[i]);
    memset(r, 0, sizeof *r);
}

// --- layer norm -----------------------------------------------------------------------------
static void SFX(layernorm_forward)(R *out, R *mean, R *rstd, const R *inp, const R *w,
                                   const R *b, int N, int C) {
    for (int i = 0; i < N; i++) {
        const R *x = inp + (size_t)i * C;
        R m = 0, v = 0;
        for (int c = 0; c < C; c++) m += x[c];
        m /= C;
        for (int c = 0; c < C; c++) v += (x[c] - m) * (x[c] - m);
        v /= C;
        R s = 1 / SQRT(v + (R)1e-5);
        R *o = out + (size_t)i * C;
        for (int c = 0; c < C; c++) o[c] = (x[c] - m) * s * w[c] + b[c];
        mean[i] = m;
        rstd[i] = s;
    }
}

/* dinp += ..., dw += ..., db += ... */
static void SFX(layernorm_backward)(R *dinp, R *dw, R *db, const R *dout, const R *inp,
                                    const R *w, const R *mean, const R *rstd, int N, int C) {
    for (int i = 0; i < N; i++) {
        const R *x = inp + (size_t)i * C, *g = dout + (size_t)i * C;
        R *dx = dinp + (size_t)i * C, m = mean[i], s = rstd[i];
        R a = 0, bsum = 0;
        for (int c = 0; c < C; c++) {
            R nrm = (x[c] - m) * s, dn = w[c] * g[c];
            a += dn;
            bsum += dn * nrm;
        }
        a /= C;
        bsum /= C;
        for (int c = 0; c < C; c++) {
            R nrm = (x[c] - m) * s, dn = w[c] * g[c];
            db[c] += g[c];
            dw[c] += nrm * g[c];
            dx[c] += (dn - a - nrm * bsum) * s;
        }
    }
}

// --- matmul: out (N, OC) = inp (N, IC) @ w (IC, OC) + bias --------------------------------------
static void SFX(matmul_forward)(R *out, const R *inp, const R *w, const R *bias, int N, int IC,
                                int OC) {
    GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, OC, IC, 1, inp, IC, w, OC, 0, out, OC);
    if (bias)
        for (int i = 0; i < N; i++)
            for (int o = 0; o < OC; o++) out[(size_t)i * OC + o] += bias[o];
}

/* dinp = dout @ w^T (overwritten when beta is 0, added when 1); dw += inp^T @ dout; db += sum */
static void SFX(matmul_backward)(R *dinp, R *dw, R *db, const R *dout, const R *inp, const R *w,
                                 int N, int IC, int OC, R beta) {
    GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, N, IC, OC, 1, dout, OC, w, OC, beta, dinp, IC);
    GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, IC, OC, N, 1, inp, IC, dout, OC, 1, dw, OC);
    if (db)
        for (int i = 0; i < N; i++)
            for (int o = 0; o < OC; o++) db[o] += dout[(size_t)i * OC + o];
}

// --- the FFN's ReLU -------------------------------------------------------------------------------
/* h = max(h + b, 0) in one pass, without a branch (a branch on the sign of random-signed values
 * is mispredicted half the time: it was half of a training step at d_ff 3072). */
static void SFX(bias_relu_forward)(R *restrict h, const R *restrict b, int N, int F) {
    for (int i = 0; i < N; i++) {
        R *restrict row = h + (size_t)i * F;
        for (int o = 0; o < F; o++) {
            R v = row[o] + b[o];
            row[o] = v > 0 ? v : 0;
        }
    }
}

/* dh = dh where the ReLU passed (h > 0), else 0; db += the column sums of the result. */
static void SFX(relu_backward)(R *restrict dh, R *restrict db, const R *restrict h, int N, int F) {
    for (int i = 0; i < N; i++) {
        R *restrict g = dh + (size_t)i * F;
        const R *restrict row = h + (size_t)i * F;
        for (int o = 0; o < F; o++) {
            R gv = g[o], v = row[o] > 0 ? gv : 0; /* both loaded: a select, not a branch */
            g[o] = v;
            db[o] += v;
        }
    }
}

// --- causal self-attention, per (batch, head) as matrix products ------------------------------------
/* The head's q, k, v are column blocks of qkv (row stride 3C), so every product is one GEMM
 * with a leading dimension; the masked upper triangle is computed and then zeroed, which costs
 * less than scalar loops over the lower half. */
static void SFX(attention_forward)(R *out, R *att, const R *qkv, int B, int T, int C, int NH) {
    int hs = C / NH;
    R scale = 1 / SQRT((R)hs);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            const R *q = qkv + (size_t)b * T * 3 * C + h * hs, *k = q + C, *v = q + 2 * C;
            R *a = att + ((size_t)b * NH + h) * T * T;
            GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hs, scale, q, 3 * C, k, 3 * C, 0, a, T);
            for (int t = 0; t < T; t++) {
                R *row = a + (size_t)t * T, mx = row[0], sum = 0;
                for (int t2 = 1; t2 <= t; t2++) if (row[t2] > mx) mx = row[t2];
                for (int t2 = 0; t2 <= t; t2++) { row[t2] = EXP(row[t2] - mx); sum += row[t2]; }
                for (int t2 = 0; t2 <= t; t2++) row[t2] /= sum;
                for (int t2 = t + 1; t2 < T; t2++) row[t2] = 0;
            }
            GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hs, T, 1, a, T, v, 3 * C, 0,
                 out + (size_t)b * T * C + h * hs, C);
        }
}

/* dqkv is written whole (beta 0); datt is scratch (T, T) per head. */
static void SFX(attention_backward)(R *dqkv, R *datt, const R *dout, const R *qkv, const R *att,
                                    int B, int T, int C, int NH) {
    int hs = C / NH;
    R scale = 1 / SQRT((R)hs);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            size_t o = (size_t)b * T * 3 * C + h * hs;
            const R *q = qkv + o, *k = q + C, *v = q + 2 * C;
            R *dq = dqkv + o, *dk = dq + C, *dv = dq + 2 * C;
            const R *a = att + ((size_t)b * NH + h) * T * T, *g = dout + (size_t)b * T * C + h * hs;
            R *da = datt + ((size_t)b * NH + h) * T * T;
            GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hs, 1, g, C, v, 3 * C, 0, da, T);
            GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, T, hs, T, 1, a, T, g, C, 0, dv, 3 * C);
            for (int t = 0; t < T; t++) { /* through the softmax and the scale */
                const R *pa = a + (size_t)t * T;
                R *pd = da + (size_t)t * T, dot = 0;
                for (int t2 = 0; t2 <= t; t2++) dot += pa[t2] * pd[t2];
                for (int t2 = 0; t2 <= t; t2++) pd[t2] = pa[t2] * (pd[t2] - dot) * scale;
                for (int t2 = t + 1; t2 < T; t2++) pd[t2] = 0;
            }
            GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hs, T, 1, da, T, k, 3 * C, 0, dq, 3 * C);
            GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, T, hs, T, 1, da, T, q, 3 * C, 0, dk, 3 * C);
        }
}

// --- the model ---------------------------------------------------------------------------------
#define PP(i) (params + off[i])
#define GG(i) (grads + off[i])

/* Forward over inputs (B, T); with targets, returns the mean cross-entropy and leaves the
 * softmax in r->probs; without, r->probs holds the logits. */
static double SFX(gpt2_forward)(const Gpt2Dims *d, const R *params, const size_t *off,
                                SFX(Run) *r, const int32_t *inputs, const int32_t *targets) {
    int B = r->B, T = r->T, C = d->C, F = d->F, V = d->V, NH = d->NH, BT = B * T;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            const R *we = PP(P_WTE) + (size_t)inputs[b * T + t] * C, *pe = PP(P_WPE) + (size_t)t * C;
            R *o = r->encoded + ((size_t)b * T + t) * C;
            for (int c = 0; c < C; c++) o[c] = we[c] + pe[c];
        }
    for (int l = 0; l < d->L; l++) {
        size_t lc = (size_t)l * BT * C;
        const R *res = l == 0 ? r->encoded : r->res3 + lc - (size_t)BT * C;
        R *ln1 = r->ln1 + lc, *qkv = r->qkv + lc * 3, *atty = r->atty + lc, *res2 = r->res2 + lc;
        R *ln2 = r->ln2 + lc, *fch = r->fch + (size_t)l * BT * F, *res3 = r->res3 + lc;
        R *att = r->att + (size_t)l * B * NH * T * T;
        SFX(layernorm_forward)(ln1, r->ln1_mean + (size_t)l * BT, r->ln1_rstd + (size_t)l * BT, res,
                               PP(P_LN1W) + (size_t)l * C, PP(P_LN1B) + (size_t)l * C, BT, C);
        SFX(matmul_forward)(qkv, ln1, PP(P_QKVW) + (size_t)l * C * 3 * C, PP(P_QKVB) + (size_t)l * 3 * C,
                            BT, C, 3 * C);
        SFX(attention_forward)(atty, att, qkv, B, T, C, NH);
        SFX(matmul_forward)(res2, atty, PP(P_ATTPW) + (size_t)l * C * C, PP(P_ATTPB) + (size_t)l * C,
                            BT, C, C);
        for (size_t i = 0; i < (size_t)BT * C; i++) res2[i] += res[i];
        SFX(layernorm_forward)(ln2, r->ln2_mean + (size_t)l * BT, r->ln2_rstd + (size_t)l * BT, res2,
                               PP(P_LN2W) + (size_t)l * C, PP(P_LN2B) + (size_t)l * C, BT, C);
        SFX(matmul_forward)(fch, ln2, PP(P_FCW) + (size_t)l * C * F, NULL, BT, C, F);
        SFX(bias_relu_forward)(fch, PP(P_FCB) + (size_t)l * F, BT, F);
        SFX(matmul_forward)(res3, fch, PP(P_FCPW) + (size_t)l * F * C, PP(P_FCPB) + (size_t)l * C,
                            BT, F, C);
        for (size_t i = 0; i < (size_t)BT * C; i++) res3[i] += res2[i];
    }
    const R *last = r->res3 + (size_t)(d->L - 1) * BT * C;
    SFX(layernorm_forward)(r->lnf, r->lnf_mean, r->lnf_rstd, last, PP(P_LNFW), PP(P_LNFB), BT, C);
    /* tied LM head: logits = lnf @ wte^T */
    GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, BT, V, C, 1, r->lnf, C, PP(P_WTE), C, 0,
         r->probs, V);
    if (!targets) return 0;
    double loss = 0;
    for (int i = 0; i < BT; i++) {
        R *p = r->probs + (size_t)i * V, mx = p[0], sum = 0;
        for (int v = 1; v < V; v++) if (p[v] > mx) mx = p[v];
        for (int v = 0; v < V; v++) { p[v] = EXP(p[v] - mx); sum += p[v]; }
        for (int v = 0; v < V; v++) p[v] /= sum;
        r->losses[i] = -LOG(p[targets[i]]);
        loss += r->losses[i];
    }
    return loss / BT;
}

/* Gradients of the mean loss of the last forward (with targets) into grads (overwritten). */
static void SFX(gpt2_backward)(const Gpt2Dims *d, const R *params, R *grads, const size_t *off,
                               SFX(Run) *r, const int32_t *inputs, const int32_t *targets) {
    int B = r->B, T = r->T, C = d->C, F = d->F, V = d->V, NH = d->NH, BT = B * T;
    memset(grads, 0, off[N_PARAM] * sizeof(R));
    R inv = (R)1 / BT;
    for (int i = 0; i < BT; i++) { /* dlogits = (softmax - onehot) / BT, in place */
        R *p = r->probs + (size_t)i * V;
        p[targets[i]] -= 1;
        for (int v = 0; v < V; v++) p[v] *= inv;
    }
    /* logits = lnf @ wte^T: dlnf = dlogits @ wte, dwte += dlogits^T @ lnf */
    GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, BT, C, V, 1, r->probs, V, PP(P_WTE), C, 0,
         r->dln, C);
    GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, V, C, BT, 1, r->probs, V, r->lnf, C, 1,
         GG(P_WTE), C);
    memset(r->dres, 0, (size_t)BT * C * sizeof(R));
    const R *last = r->res3 + (size_t)(d->L - 1) * BT * C;
    SFX(layernorm_backward)(r->dres, GG(P_LNFW), GG(P_LNFB), r->dln, last, PP(P_LNFW), r->lnf_mean,
                            r->lnf_rstd, BT, C);
    /* r->dres holds d(residual stream) at the current depth */
    for (int l = d->L - 1; l >= 0; l--) {
        size_t lc = (size_t)l * BT * C;
        const R *res = l == 0 ? r->encoded : r->res3 + lc - (size_t)BT * C;
        const R *ln1 = r->ln1 + lc, *qkv = r->qkv + lc * 3, *atty = r->atty + lc, *res2 = r->res2 + lc;
        const R *ln2 = r->ln2 + lc, *fch = r->fch + (size_t)l * BT * F;
        const R *att = r->att + (size_t)l * B * NH * T * T;
        /* FFN: res3 = res2 + relu(ln2 @ fcw + fcb) @ fcpw + fcpb */
        SFX(matmul_backward)(r->dfch, GG(P_FCPW) + (size_t)l * F * C, GG(P_FCPB) + (size_t)l * C,
                             r->dres, fch, PP(P_FCPW) + (size_t)l * F * C, BT, F, C, 0);
        SFX(relu_backward)(r->dfch, GG(P_FCB) + (size_t)l * F, fch, BT, F);
        SFX(matmul_backward)(r->dln, GG(P_FCW) + (size_t)l * C * F, NULL, r->dfch,
                             ln2, PP(P_FCW) + (size_t)l * C * F, BT, C, F, 0);
        SFX(layernorm_backward)(r->dres, GG(P_LN2W) + (size_t)l * C, GG(P_LN2B) + (size_t)l * C, r->dln,
                                res2, PP(P_LN2W) + (size_t)l * C, r->ln2_mean + (size_t)l * BT,
                                r->ln2_rstd + (size_t)l * BT, BT, C);
        /* attention: res2 = res + attproj(attn(ln1 @ qkvw + qkvb)) */
        SFX(matmul_backward)(r->datty, GG(P_ATTPW) + (size_t)l * C * C, GG(P_ATTPB) + (size_t)l * C,
                             r->dres, atty, PP(P_ATTPW) + (size_t)l * C * C, BT, C, C, 0);
        SFX(attention_backward)(r->dqkv, r->datt, r->datty, qkv, att, B, T, C, NH);
        SFX(matmul_backward)(r->dln, GG(P_QKVW) + (size_t)l * C * 3 * C, GG(P_QKVB) + (size_t)l * 3 * C,
                             r->dqkv, ln1, PP(P_QKVW) + (size_t)l * C * 3 * C, BT, C, 3 * C, 0);
        SFX(layernorm_backward)(r->dres, GG(P_LN1W) + (size_t)l * C, GG(P_LN1B) + (size_t)l * C, r->dln,
                                res, PP(P_LN1W) + (size_t)l * C, r->ln1_mean + (size_t)l * BT,
                                r->ln1_rstd + (size_t)l * BT, BT, C);
    }
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            const R *g = r->dres + ((size_t)b * T + t) * C;
            R *we = GG(P_WTE) + (size_t)inputs[b * T + t] * C, *pe = GG(P_WPE) + (size_t)t * C;
            for (int c = 0; c < C; c++) { we[c] += g[c]; pe[c] += g[c]; }
        }
}
#undef PP
#undef GG
