/* session.h — the explorer's state and view models, without curses: the model, tokenizer and
 * probe set, the job queue with the current analysis and perturbation jobs, the masks and
 * options, and per view a table of rows (sorted, filtered) that the screen draws and `export`
 * writes. Commands of the table in keys.h act on a session; the UI only draws. */
#ifndef MODEX_SESSION_H
#define MODEX_SESSION_H
#include <stdio.h>
#include "modex/analysis.h"
#include "modex/error.h"
#include "modex/job.h"
#include "modex/keys.h"
#include "modex/perturb.h"

typedef enum ViewId { VIEW_LAYERS, VIEW_EXPERTS, VIEW_NEURONS, VIEW_PERTURB, VIEW_HELP, VIEW_COUNT } ViewId;
const char *modex_view_name(ViewId v);
int modex_view_parse(const char *s, ViewId *v);

// --- view tables ------------------------------------------------------------------------------
typedef enum ColKind {
    COL_TEXT,   /* text, left aligned */
    COL_NUM,    /* number, right aligned */
    COL_FRAC,   /* number in [0,1], drawn with a small bar */
    COL_HEAT,   /* heatmap cell: glyph density (and colour) of num */
    COL_SPARK,  /* a string of ramp glyphs */
} ColKind;

typedef struct ViewTable {
    int n_cols, n_rows;
    char **cols;        /* [n_cols] header names (also the CSV header) */
    ColKind *kind;      /* [n_cols] */
    char **cell;        /* [n_rows * n_cols] the text shown and exported */
    double *num;        /* [n_rows * n_cols] the value behind it (NaN for text) */
    unsigned char *mark;/* [n_rows * n_cols] 1 = functional expert (heat cells), masked (others) */
    int *id;            /* [n_rows] layer / expert / neuron / sub-function / command */
    double heat_lo, heat_hi; /* range of the heat cells, for shading */
    int borrowed;       /* names and cell texts belong to another table (a sorted view of it) */
} ViewTable;

void modex_table_free(ViewTable *t);
const char *modex_table_cell(const ViewTable *t, int row, int col);
int modex_table_col(const ViewTable *t, const char *name); /* -1 if none */
/* Stable sort by column (numbers by value, NaN last either way; text by strcmp). */
void modex_table_sort(ViewTable *t, int col, int desc);
/* A copy that shares base's texts (free it before base). */
void modex_table_view(ViewTable *dst, const ViewTable *base);
/* Keeps the rows where some cell contains text (case-insensitive); "" keeps all. */
void modex_table_filter(ViewTable *t, const char *text);
/* The table as CSV (libcsv writer): header, then the rows as shown. 0 or -1 with err. */
int modex_table_write_csv(const ViewTable *t, FILE *f);

/* Glyph ramp " .:-=+*#%@": level 0..9 of v in [lo, hi]; -1 for NaN. */
#define MODEX_RAMP " .:-=+*#%@"
int  modex_heat_level(double v, double lo, double hi);
char modex_heat_glyph(double v, double lo, double hi); /* '?' for NaN */

// --- the session ------------------------------------------------------------------------------
typedef struct ViewState {
    int cur, top;       /* cursor row, first row shown */
    int col, left;      /* cursor column, first scrolled column shown */
    int sort_col, sort_desc; /* sort_col -1 = natural order */
    char filter[128];
} ViewState;

typedef struct SessionOpts {
    const char *model_path, *probe_path, *tok_path;
    AnalysisOpts analysis;
    int draws;                  /* random draws of the perturbation baseline (default 8) */
    unsigned long long seed;    /* perturbation seed */
    PerturbMode mode;
} SessionOpts;
void modex_session_opts_defaults(SessionOpts *o);

typedef struct Session {
    SessionOpts o;
    char *model_path, *probe_path, *tok_path;
    Model *model;
    Tokenizer *tok;
    Probe probe;
    JobQueue *q;
    Job *ajob;                  /* analysis */
    Snapshot *asnap;            /* latest published, retained */
    const AnalysisSnap *as;     /* its data, or NULL */
    Perturber *pt;
    Job *pjob;                  /* perturbation */
    Snapshot *psnap;
    const PerturbSnap *ps;
    PerturbMask mask;
    int mask_gen;               /* bumped on every mask change */
    int psnap_mask_gen;         /* mask_gen the perturbation job was started for */
    int perturb_wanted;         /* a perturbation job should run for the current mask */
    int layer;                  /* selected layer */
    int only_expert;            /* neurons view: -1 = all experts */
    int heat_raw;               /* heat cells: raw mean activation instead of z-scores */
    ViewId view, prev_view;
    ViewState vs[VIEW_COUNT];
    ViewTable base[VIEW_COUNT]; /* cached content, natural order */
    long long base_key[VIEW_COUNT];
    int base_mask_gen[VIEW_COUNT];
    ViewTable tab[VIEW_COUNT];  /* the base filtered and sorted (borrowing its texts) */
    int tab_vgen[VIEW_COUNT];
    int vgen[VIEW_COUNT];       /* bumped when a view's sort or filter changes */
    int gen;                    /* bumped when any table's content may change */
    int pgen;                   /* bumped by perturbation results (only its table changes) */
    int agen;                   /* bumped by analysis snapshots (a layer finished) */
    int page_rows;              /* rows the UI shows per page (set by the UI) */
    char msg[1024];             /* status message */
    int msg_err;
    int quit;
    double t_toggle;            /* when the mask last changed (for timing) */
    double t_updated;           /* first masked result after it */
} Session;

/* The model and probe opened without arguments: the bundled sample model (the first
 * sample_models/NAME/ with a config.json, beside the cwd or the binary; its probe.csv, else
 * sample_models/probe.csv, else assets/probes/english.csv) → 0; else the e2e fixture model with english.csv → 1; none → -1. */
int  modex_session_default_paths(char *model, char *probe, size_t n);
/* Opens model, tokenizer and probe set and starts the analysis. -1 with err (nothing kept). */
int  modex_session_open(Session *s, const SessionOpts *o, Error *err);
void modex_session_close(Session *s);
/* Takes the jobs' latest snapshots and (re)starts the perturbation job when the mask
 * changed. Returns 1 when anything visible changed. */
int  modex_session_poll(Session *s);
/* 1 while the analysis or a wanted perturbation job has not finished. */
int  modex_session_busy(const Session *s);
/* Last status: "analysis: extract 1/4 [###...]" or "" — for the status bar. */
void modex_session_job_line(const Session *s, char *buf, int n, int width);
const LayerResult *modex_session_layer(const Session *s, int layer); /* NULL until done */
const ViewTable *modex_session_table(Session *s, ViewId v);
int modex_session_wait(Session *s, double timeout_s); /* 0 finished, -1 timeout/failure */

// --- commands ---------------------------------------------------------------------------------
enum {
    SESS_REDRAW = 1,      /* something changed: redraw */
    SESS_QUIT = 2,
    SESS_PROMPT = 4,      /* open the command line with s->msg as its text */
    SESS_UI = 8,          /* a command for the UI (dump, key, wait, prompt, redraw) */
    SESS_ERROR = 16,      /* s->msg holds the error */
};
/* Runs command id; args NULL = from a key (keys may do more: '/' opens a prompt). */
int modex_session_run(Session *s, CmdId id, const char *args);
/* Parses "name args" and runs it; unknown commands set an error. */
int modex_session_exec(Session *s, const char *line);
/* Sets the status message. */
void modex_session_msg(Session *s, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "L1: e2,e5; L2: 7 neurons" (experts where the mask covers whole experts), "" if none. */
void modex_session_masks_text(Session *s, char *buf, int size);
/* Current cell's description for the status line ("" if none). */
void modex_session_cell_info(Session *s, char *buf, int n);
/* Neuron detail: up to max lines (top activating examples, histogram), each at most w bytes. */
int  modex_session_neuron_detail(Session *s, int neuron, char (*lines)[160], int max);
/* Candidates for Tab completion of the word at position `word` of line (NULL-terminated,
 * malloc'd array of malloc'd strings). Paths are left to the caller (returns NULL). */
char **modex_session_complete(const Session *s, const char *line, int word, const char *prefix);
/* `open`/`probe`: loads anew (a failure keeps what was open). */
int  modex_session_reopen(Session *s, const char *model_path, const char *probe_path, Error *err);
void modex_session_restart_analysis(Session *s); /* after an option change; clears masks */
void modex_session_mask_changed(Session *s);     /* after editing s->mask: restarts perturbation */
/* Export of the current view (exactly its table). */
int modex_session_export(Session *s, const char *path, int force, Error *err);

#endif
