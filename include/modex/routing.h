/* routing.h — routing views of a dense FFN split into experts (method.md §8), measured with the
 * perturbation engine's metrics, and the native router of MoE models:
 *   avg-k (EMoE): g_e = mean of expert e's raw keys (rows of W1, or of the gate); per token
 *     score_e = x . g_e (x = the FFN input after its norm); the top-k experts run (weights 1),
 *     the others' activations are zeroed;
 *   ground truth (MoEfication): the top-k experts by the sum of their activations;
 *   dynamic-k (D2DMoE): expert e runs iff |its output| >= (1 - tau) max_e' |output of e'|,
 *     the output of e being sum over its neurons of activation x row of W2 (bias excluded);
 *   router (native MoE): the model's own router with top-k experts (every MoE layer).
 * Ties in top-k: lower expert index first. k >= E (or tau >= 1) is the dense forward. */
#ifndef MODEX_ROUTING_H
#define MODEX_ROUTING_H
#include <stdio.h>
#include "modex/perturb.h"

typedef enum RouteMethod { ROUTE_AVGK, ROUTE_GT, ROUTE_DYNK, ROUTE_NATIVE } RouteMethod;
const char *modex_route_method_name(RouteMethod m); /* avg_k, ground_truth, dynamic_k, router */
int modex_route_method_parse(const char *s, RouteMethod *m);

typedef struct Router Router;
/* Dense models: assign[l] ([d_ff], experts 0..E-1) for the routed layers, NULL elsewhere. */
Router *modex_router_new(const Model *m, const int *const *assign, int E, Error *err);
void modex_router_free(Router *r);
/* One point of a curve. k_or_tau: k for avg-k / ground truth / router, tau for dynamic-k.
 * mean_experts: experts run per (token, routed layer). */
int modex_route_eval(Perturber *pt, Router *r, RouteMethod meth, double k_or_tau, double *mean_experts,
                     PerturbResult *out, int (*cancelled)(void *), void *ctx, Error *err);
/* Native MoE: the router with top-k (1..n_experts) on every layer; r may be NULL. */
int modex_route_native(Perturber *pt, const Model *m, int k, PerturbResult *out, int (*cancelled)(void *), void *ctx,
                       Error *err);
/* Native MoE: out[(l * n_subs + s) * E + e] = share of the router's (token, slot) choices in
 * layer l on sub-function s's positive texts (all its texts if none) that chose expert e. */
int modex_route_frequency(const Model *m, const Tokenizer *t, const Probe *p, double *out, Error *err);

/* Bench rows (`modex bench`): on a GPT-2-small-shaped synthetic model over 256 probe texts,
 * a one-expert perturbation with and without reuse of the cached states below it, and a
 * ground-truth routing curve. The probe is generated; the tokenizer is the GPT-2 BPE of the
 * fixtures (../shared/fixtures/tokenizers/gpt2-bpe from the repository root, or
 * $MODEX_FIXTURES/tokenizers/gpt2-bpe); without it the rows say so and -1 is returned. */
int modex_bench_interv(FILE *out);
/* The same rows for another shape (n_texts generated texts; tests use small ones). */
int modex_bench_interv_config(FILE *out, const ModelConfig *c, int n_texts, const char *label);
#endif
