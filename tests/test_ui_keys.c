/* test_ui_keys.c — the explorer's command table: names and keys unique, every command with
 * help, every key name known to the key parser and bound to its command, and the key list
 * of man/modex.1 equal to the one the table generates (plus every subcommand documented). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <curses.h>
#include <stdlib.h>
#include <string.h>
#include "modex/cli.h"
#include "modex/keys.h"
#include "modex/util.h"
#include "../src/ui/ui.h"

static void test_table(void **st) {
    (void)st;
    int seen[KEY_MAX + 1];
    for (int i = 0; i <= KEY_MAX; i++) seen[i] = -1;
    int n_keys = 0;
    for (int i = 0; i < CMD_COUNT; i++) {
        const CmdDef *d = modex_cmd_def(i);
        assert_int_equal(d->id, i);
        assert_true(d->name[0] && d->help[0]);
        assert_int_equal(modex_cmd_find(d->name), i);
        for (int j = 0; j < i; j++) assert_string_not_equal(modex_cmd_def(j)->name, d->name);
        char buf[64];
        snprintf(buf, sizeof buf, "%s", d->keys);
        for (char *save = NULL, *k = strtok_r(buf, " ", &save); k; k = strtok_r(NULL, " ", &save)) {
            int codes[4], n = ui_key_codes(k, codes, 4);
            if (n < 1) fail_msg("command %s: unknown key name '%s'", d->name, k);
            for (int c = 0; c < n; c++) {
                if (seen[codes[c]] >= 0) fail_msg("key %s of %s is also bound to %s", k, d->name, modex_cmd_def(seen[codes[c]])->name);
                seen[codes[c]] = i;
                assert_int_equal(ui_key_command(codes[c]), i);
                n_keys++;
            }
        }
    }
    assert_true(n_keys > 25);
    assert_int_equal(ui_key_command('Z'), CMD_NONE);
    assert_int_equal(modex_cmd_find("nosuch"), CMD_NONE);
    /* the keys are there */
    assert_int_equal(ui_key_command('q'), CMD_QUIT);
    assert_int_equal(ui_key_command(' '), CMD_TOGGLE);
    assert_int_equal(ui_key_command(':'), CMD_PROMPT);
    assert_int_equal(ui_key_command('/'), CMD_FIND);
    assert_int_equal(ui_key_command(KEY_F(1)), CMD_HELP);
    assert_int_equal(ui_key_command(4), CMD_HALFDN);
    assert_int_equal(ui_key_command(KEY_BTAB), CMD_PREVVIEW);
}

static char *man_page(void) {
    Error err = {0};
    char *m = modex_read_text("man/modex.1", NULL, &err);
    if (!m) fail_msg("%s", err.msg);
    return m;
}

static void test_man_keys(void **st) {
    (void)st;
    char *m = man_page();
    const char *b = strstr(m, ".\\\" BEGIN KEYS\n"), *e = strstr(m, ".\\\" END KEYS\n");
    assert_non_null(b);
    assert_non_null(e);
    b = strchr(b, '\n') + 1;
    char *gen = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&gen, &n);
    modex_keys_man(f);
    fclose(f);
    size_t have = (size_t)(e - b);
    if (have != n || memcmp(b, gen, n)) fail_msg("man/modex.1's key list differs from the command table: paste `modex tui --list-keys` between BEGIN KEYS and END KEYS");
    free(gen);
    free(m);
}

static void test_man_commands(void **st) {
    (void)st;
    char *m = man_page();
    for (int i = 0; i < modex_command_count(); i++) {
        const Command *c = modex_command_at(i);
        if (c->name[0] == '_') continue;
        char want[80];
        snprintf(want, sizeof want, ".SS \"modex %s", c->name);
        if (!strstr(m, want)) fail_msg("man/modex.1 does not document the command '%s'", c->name);
    }
    free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_table), cmocka_unit_test(test_man_keys), cmocka_unit_test(test_man_commands)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
