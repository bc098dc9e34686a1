/* taskneurons.h — task-specific neurons after Pochinkov et al. (method.md §9): the importance
 * of neuron j for sub-function s is the mean |example activation| over s's positive examples
 * divided by that over every other example of the probe (NaN when the latter is 0); the top
 * fraction per sub-function; Jaccard overlap between sub-functions; how they fall into the
 * analysis's experts. Example activations are the analysis's (its aggregation over tokens). */
#ifndef MODEX_TASKNEURONS_H
#define MODEX_TASKNEURONS_H
#include "modex/analysis.h"

typedef struct TaskNeurons {
    int n_layer, n_subs, width, k;  /* k: neurons kept per sub-function and layer */
    unsigned char *layer_on;        /* [n_layer] analysed layers */
    float *importance;              /* [n_layer x n_subs x width] (NaN on layers not analysed) */
    int *top;                       /* [n_layer x n_subs x k] most important first (NaN last, ties: lower index) */
    double *jaccard;                /* [n_layer x n_subs x n_subs] */
    double *expert_jaccard;         /* [n_layer x n_subs] best Jaccard of the top set with one expert */
    int *best_expert;               /* [n_layer x n_subs] that expert */
} TaskNeurons;

/* fraction of each layer's neurons (k = round(fraction * width), at least 1). 0 or -1 with err. */
int  modex_taskneurons_compute(const Analysis *a, double fraction, TaskNeurons *out, Error *err);
void modex_taskneurons_free(TaskNeurons *t);
#endif
