/* keys.h — the explorer's ONE command table. Each entry generates the command id, its default
 * keys, its `:` command name, its line on the help screen and in man/modex.1. Pure data: no
 * curses here (key names are parsed into curses codes by src/ui/keys.c).
 *
 *   X(ID, "name", "keys", "ARGS", "help", GROUP)
 * keys: space-separated key names ("j Down", "^D", "S-Tab", "Space", "F1"); "" = no key. */
#ifndef MODEX_KEYS_H
#define MODEX_KEYS_H
#include <stdio.h>

typedef enum CmdGroup { GROUP_MOVE, GROUP_VIEW, GROUP_MASK, GROUP_ANALYSIS, GROUP_FILE, GROUP_SCRIPT } CmdGroup;

#define MODEX_COMMANDS(X)                                                                              \
    X(CMD_DOWN, "down", "j Down", "", "move the cursor down one row", GROUP_MOVE)                       \
    X(CMD_UP, "up", "k Up", "", "move the cursor up one row", GROUP_MOVE)                               \
    X(CMD_LEFT, "left", "h Left", "", "move to the previous column (scrolls left)", GROUP_MOVE)         \
    X(CMD_RIGHT, "right", "l Right", "", "move to the next column (scrolls right)", GROUP_MOVE)         \
    X(CMD_PGDN, "page-down", "PgDn", "", "move down one screen", GROUP_MOVE)                             \
    X(CMD_PGUP, "page-up", "PgUp", "", "move up one screen", GROUP_MOVE)                                \
    X(CMD_HALFDN, "half-down", "^D", "", "move down half a screen", GROUP_MOVE)                         \
    X(CMD_HALFUP, "half-up", "^U", "", "move up half a screen", GROUP_MOVE)                             \
    X(CMD_TOP, "top", "g Home", "", "go to the first row", GROUP_MOVE)                                  \
    X(CMD_BOTTOM, "bottom", "G End", "", "go to the last row", GROUP_MOVE)                              \
    X(CMD_NEXTVIEW, "next-view", "Tab", "", "next view (layers, experts, neurons, perturb)", GROUP_VIEW) \
    X(CMD_PREVVIEW, "prev-view", "S-Tab", "", "previous view", GROUP_VIEW)                              \
    X(CMD_ENTER, "enter", "Enter", "", "drill down: a layer opens its experts, an expert its neurons", GROUP_VIEW) \
    X(CMD_BACK, "back", "Esc BS", "", "go back to the previous view", GROUP_VIEW)                       \
    X(CMD_VIEW, "view", "", "NAME", "show view NAME: layers, neurons, experts, perturb or help", GROUP_VIEW) \
    X(CMD_LAYER, "layer", "", "N", "select layer N", GROUP_VIEW)                                        \
    X(CMD_SORT, "sort", "s", "[COLUMN [desc]]", "sort the rows by COLUMN (key: the column under the cursor; again: reverse)", GROUP_VIEW) \
    X(CMD_FIND, "find", "/", "[TEXT]", "keep the rows containing TEXT (no TEXT: all rows)", GROUP_VIEW) \
    X(CMD_HELP, "help", "? F1", "", "this list of keys and commands", GROUP_VIEW)                       \
    X(CMD_REDRAW, "redraw", "^L", "", "redraw the screen", GROUP_VIEW)                                  \
    X(CMD_PROMPT, "prompt", ":", "", "open the command line (Tab completes, Up/Down: history)", GROUP_VIEW) \
    X(CMD_TOGGLE, "toggle", "Space", "", "mask or unmask the expert (or neuron) under the cursor", GROUP_MASK) \
    X(CMD_MASK, "mask", "", "L:E[,E...]", "mask experts E of layer L", GROUP_MASK)                      \
    X(CMD_UNMASK, "unmask", "", "[L:E[,E...]]", "unmask those experts (no argument: all)", GROUP_MASK) \
    X(CMD_MASKS, "masks", "M", "[clear]", "show the active masks (masks clear: remove them all)", GROUP_MASK) \
    X(CMD_CLEAR, "clear", "c", "", "clear every mask", GROUP_MASK)                                      \
    X(CMD_MODE, "mode", "m", "zero|mean|shuffle", "how masked neurons are replaced (key: next mode)", GROUP_MASK) \
    X(CMD_EXPERTS, "experts", "", "E", "experts per layer (re-runs the analysis)", GROUP_ANALYSIS)      \
    X(CMD_SPLIT, "split", "", "param|coact", "how neurons are split into experts (re-runs)", GROUP_ANALYSIS) \
    X(CMD_AGG, "agg", "", "max|mean|last|span", "activation of an example over its tokens (re-runs)", GROUP_ANALYSIS) \
    X(CMD_BASELINE, "baseline", "", "random-init on|off", "also analyse a random-init copy (re-runs)", GROUP_ANALYSIS) \
    X(CMD_SET, "set", "", "OPTION VALUE", "draws N, seed N, heat z|raw, expert-size S", GROUP_ANALYSIS) \
    X(CMD_OPEN, "open", "", "MODEL [PROBE.csv]", "open another model (and probe set)", GROUP_FILE)      \
    X(CMD_PROBE, "probe", "", "FILE", "open another probe set", GROUP_FILE)                              \
    X(CMD_EXPORT, "export", "e", "[FILE.csv]", "write the view as shown to a CSV (never overwrites)", GROUP_FILE) \
    X(CMD_EXPORTF, "export!", "", "FILE.csv", "the same, overwriting FILE", GROUP_FILE)                  \
    X(CMD_QUIT, "quit", "q", "", "quit (cancels the jobs)", GROUP_FILE)                                 \
    X(CMD_DUMP, "dump", "", "FILE", "write the screen as text to FILE", GROUP_SCRIPT)                   \
    X(CMD_WAIT, "wait", "", "", "wait until the analysis and perturbation jobs finish", GROUP_SCRIPT)   \
    X(CMD_KEY, "key", "", "KEY...", "press keys by name, e.g. key j j Enter", GROUP_SCRIPT)

typedef enum CmdId {
#define MODEX_X_ENUM(ID, NAME, KEYS, ARGS, HELP, GROUP) ID,
    MODEX_COMMANDS(MODEX_X_ENUM)
#undef MODEX_X_ENUM
    CMD_COUNT,
    CMD_NONE = -1
} CmdId;

typedef struct CmdDef {
    CmdId id;
    const char *name, *keys, *args, *help;
    CmdGroup group;
} CmdDef;

const CmdDef *modex_cmd_def(int id);            /* 0 <= id < CMD_COUNT */
CmdId modex_cmd_find(const char *name);         /* CMD_NONE if unknown */
const char *modex_cmd_group_name(CmdGroup g);
/* The man page's key list (roff), as checked against man/modex.1 by tests/test_ui_keys.c. */
void modex_keys_man(FILE *out);

#endif
