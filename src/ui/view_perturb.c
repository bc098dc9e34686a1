/* view_perturb.c — per sub-function the metric before / after masking, and the same for as
 * many random experts (mean ± sd over draws): do the masked experts matter more than chance? */
#include <math.h>
#include "ui.h"

static void open_view(App *a) {
    if (!a->s->pjob) a->s->perturb_wanted = 1;
}

static void draw(App *a, Canvas *cv, int y0, int y1) {
    Session *s = a->s;
    const PerturbSnap *ps = s->psnap_mask_gen == s->mask_gen ? s->ps : NULL;
    int n = modex_mask_count(&s->mask);
    ui_canvas_printf(cv, y0, 0, -1, EL_NORMAL, "masked: %d neurons, mode %s; random baseline: %d draws of as many random experts", n,
                     modex_perturb_mode_name(s->o.mode), s->o.draws);
    char masks[600];
    modex_session_masks_text(s, masks, sizeof masks);
    ui_canvas_printf(cv, y0 + 2, 0, -1, masks[0] ? EL_MASKED : EL_DIM, "masks: %s", masks[0] ? masks : "none (Space on an expert or neuron masks it)");
    const char *state = !ps ? "computing ..." : ps->finished ? "done" : isnan(ps->masked[0]) ? "clean run done, masked run ..." : "random draws ...";
    if (ps) ui_canvas_printf(cv, y0 + 1, 0, -1, ps->finished ? EL_DIM : EL_PENDING, "%s (%d/%d draws)  excess = after - random_after",
                             state, ps->draws_done, ps->draws);
    else ui_canvas_put(cv, y0 + 1, 0, -1, EL_PENDING, state);
    ui_draw_table(a, cv, modex_session_table(s, VIEW_PERTURB), &s->vs[VIEW_PERTURB], y0 + 4, y1, &a->geom);
}

const ViewOps ui_view_perturb = {VIEW_PERTURB, open_view, draw, NULL, ui_view_select, ui_view_export};
