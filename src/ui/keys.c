/* keys.c — key names of the command table to curses key codes, and the binding map. */
#include <curses.h>
#include <stdlib.h>
#include <string.h>
#include "ui.h"

int ui_key_codes(const char *name, int *codes, int max) {
    static const struct { const char *name; int code[3]; } named[] = {
        {"Down", {KEY_DOWN}}, {"Up", {KEY_UP}}, {"Left", {KEY_LEFT}}, {"Right", {KEY_RIGHT}},
        {"PgDn", {KEY_NPAGE}}, {"PgUp", {KEY_PPAGE}}, {"Home", {KEY_HOME}}, {"End", {KEY_END}},
        {"Tab", {'\t'}}, {"S-Tab", {KEY_BTAB}}, {"Enter", {'\n', '\r', KEY_ENTER}}, {"Esc", {27}},
        {"BS", {KEY_BACKSPACE, 127, 8}}, {"Space", {' '}},
    };
    int n = 0;
    for (size_t i = 0; i < sizeof named / sizeof *named; i++)
        if (!strcmp(name, named[i].name)) {
            for (int k = 0; k < 3 && named[i].code[k] && n < max; k++) codes[n++] = named[i].code[k];
            return n;
        }
    if (name[0] == 'F' && name[1] >= '1' && name[1] <= '9' && (!name[2] || (name[2] >= '0' && name[2] <= '2' && !name[3]))) {
        if (max > 0) codes[n++] = KEY_F(atoi(name + 1));
        return n;
    }
    if (name[0] == '^' && name[1] && !name[2]) { if (max > 0) codes[n++] = name[1] & 0x1f; return n; }
    if (name[0] && !name[1] && (unsigned char)name[0] > 32 && (unsigned char)name[0] < 127) { if (max > 0) codes[n++] = name[0]; return n; }
    return 0;
}

#define MAP_SIZE (KEY_MAX + 1)
static short keymap[MAP_SIZE];
static int keymap_ready;

void ui_keys_init(void) {
    for (int i = 0; i < MAP_SIZE; i++) keymap[i] = CMD_NONE;
    for (int i = 0; i < CMD_COUNT; i++) {
        const CmdDef *d = modex_cmd_def(i);
        char buf[64];
        snprintf(buf, sizeof buf, "%s", d->keys);
        for (char *save = NULL, *k = strtok_r(buf, " ", &save); k; k = strtok_r(NULL, " ", &save)) {
            int codes[4], n = ui_key_codes(k, codes, 4);
            for (int j = 0; j < n; j++)
                if (codes[j] >= 0 && codes[j] < MAP_SIZE) keymap[codes[j]] = (short)i;
        }
    }
    keymap_ready = 1;
}

CmdId ui_key_command(int code) {
    if (!keymap_ready) ui_keys_init();
    return code >= 0 && code < MAP_SIZE ? (CmdId)keymap[code] : CMD_NONE;
}
