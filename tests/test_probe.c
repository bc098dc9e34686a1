/* test_probe.c — probe CSV reader: the e2e fixture checked against a naive independent parse,
 * quoting, spans, answers, defaults, and every error with its line number. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "modex/probe.h"
#include "modex/util.h"

#define FIXTURE "../shared/fixtures/probe-e2e/probe.csv"

static int parse(Probe *p, const char *csv, Error *e) {
    return modex_probe_parse(p, "t.csv", csv, strlen(csv), e);
}

static const char *text_of(const Probe *p, int row) {
    return p->texts[p->units[p->rows[row].unit].text];
}

// --- the e2e fixture against a naive split (it has no quotes) -----------------------------

typedef struct NaiveRow { char text[256], func[64], sub[64]; int label; } NaiveRow;

static int naive_read(NaiveRow *rows, int max) {
    FILE *f = fopen(FIXTURE, "r");
    assert_non_null(f);
    char line[512];
    int n = -1;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (n < 0) { assert_string_equal(line, "text,function,subfunction,label"); n = 0; continue; }
        assert_true(n < max);
        assert_null(strchr(line, '"'));
        char *c[4], *s = line;
        for (int i = 0; i < 4; i++) { c[i] = s; s = strchr(s, ','); if (i < 3) { assert_non_null(s); *s++ = 0; } }
        assert_null(s);
        snprintf(rows[n].text, sizeof rows[n].text, "%s", c[0]);
        snprintf(rows[n].func, sizeof rows[n].func, "%s", c[1]);
        snprintf(rows[n].sub, sizeof rows[n].sub, "%s", c[2]);
        rows[n].label = atoi(c[3]);
        n++;
    }
    fclose(f);
    return n;
}

static void test_fixture(void **state) {
    (void)state;
    static NaiveRow nr[400];
    int n = naive_read(nr, 400);
    assert_int_equal(n, 120);

    /* Sub-functions in order of first appearance, with their class counts. */
    char names[16][64]; int npos[16] = {0}, nneg[16] = {0}, ns = 0;
    int nunique = 0;
    for (int i = 0; i < n; i++) {
        int s = 0;
        while (s < ns && strcmp(names[s], nr[i].sub) != 0) s++;
        if (s == ns) snprintf(names[ns++], 64, "%s", nr[i].sub);
        if (nr[i].label) npos[s]++; else nneg[s]++;
        int seen = 0;
        for (int j = 0; j < i && !seen; j++) seen = strcmp(nr[j].text, nr[i].text) == 0;
        nunique += !seen;
    }
    assert_int_equal(ns, 3);

    Probe p;
    Error e = {{0}};
    int rc = modex_probe_load(&p, FIXTURE, &e);
    if (rc) fail_msg("%s", e.msg);
    assert_string_equal(p.path, FIXTURE);
    assert_int_equal(p.n_rows, 120);
    assert_int_equal(p.n_subs, 3);
    assert_int_equal(p.n_funcs, 3);
    assert_int_equal(p.n_texts, nunique);
    assert_true(nunique < 120); /* the fixture repeats texts: they must be shared */
    assert_int_equal(p.n_units, nunique);
    assert_int_equal(p.has_span, 0);
    assert_int_equal(p.has_answer, 0);
    for (int s = 0; s < 3; s++) {
        assert_string_equal(p.subs[s].name, names[s]);
        assert_int_equal(p.subs[s].n_pos, npos[s]);
        assert_int_equal(p.subs[s].n_neg, nneg[s]);
        assert_int_equal(p.subs[s].n_rows, npos[s] + nneg[s]);
        assert_int_equal(modex_probe_find_sub(&p, names[s]), s);
        for (int k = 0; k < p.subs[s].n_rows; k++) {
            int r = p.subs[s].rows[k];
            assert_int_equal(p.rows[r].sub, s);
            if (k) assert_true(r > p.subs[s].rows[k - 1]);
        }
    }
    for (int i = 0; i < n; i++) {
        const ProbeRow *r = &p.rows[i];
        assert_string_equal(text_of(&p, i), nr[i].text);
        assert_int_equal(p.text_len[p.units[r->unit].text], strlen(nr[i].text));
        assert_int_equal(r->label, nr[i].label);
        assert_string_equal(p.subs[r->sub].name, nr[i].sub);
        assert_string_equal(p.funcs[p.subs[r->sub].function], nr[i].func);
        assert_int_equal(r->line, i + 2);
        assert_int_equal(p.units[r->unit].span_begin, -1);
        assert_null(r->answer);
        assert_null(r->id);
        for (int j = 0; j < i; j++) /* equal texts <=> equal text index */
            assert_int_equal(strcmp(nr[j].text, nr[i].text) == 0,
                             p.units[p.rows[j].unit].text == p.units[r->unit].text);
    }
    assert_int_equal(modex_probe_find_sub(&p, "task/sentiment"), modex_probe_find_sub(&p, "sentiment"));
    assert_true(modex_probe_find_sub(&p, "sentiment") >= 0);
    assert_int_equal(modex_probe_find_sub(&p, "knowledge/sentiment"), -1);
    assert_int_equal(modex_probe_find_sub(&p, "nope"), -1);
    modex_probe_free(&p);
    assert_null(p.rows);
}

// --- quoting, spans, answers, defaults --------------------------------------------------------

static void test_quoting(void **state) {
    (void)state;
    const char *csv =
        "\xEF\xBB\xBF" "id, Text ,label,subfunction,answer\r\n"
        "a,\"Hello, world\",1,s,\r\n"
        "b,\"She said \"\"no\"\".\",0,s,\r\n"
        "\r\n"
        "c,\"two\nlines, here\",1 ,s,\" x\"\r\n"
        "  \n"
        "d, leading space kept ,\t0,s,\r\n"
        "e,caf\xC3\xA9,1,t,\n"
        "f,na\xC3\xAFve,0,t, Paris"; /* no final newline */
    Probe p;
    Error e = {{0}};
    if (parse(&p, csv, &e)) fail_msg("%s", e.msg);
    assert_int_equal(p.n_rows, 6);
    assert_string_equal(text_of(&p, 0), "Hello, world");
    assert_string_equal(text_of(&p, 1), "She said \"no\".");
    assert_string_equal(text_of(&p, 2), "two\nlines, here");
    assert_string_equal(text_of(&p, 3), " leading space kept ");
    assert_string_equal(text_of(&p, 4), "caf\xC3\xA9");
    assert_int_equal(p.text_len[p.units[p.rows[4].unit].text], 5);
    int lines[6] = {2, 3, 5, 8, 9, 10};
    int labels[6] = {1, 0, 1, 0, 1, 0};
    const char *ids[6] = {"a", "b", "c", "d", "e", "f"};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(p.rows[i].line, lines[i]);
        assert_int_equal(p.rows[i].label, labels[i]);
        assert_string_equal(p.rows[i].id, ids[i]);
    }
    assert_null(p.rows[0].answer);
    assert_string_equal(p.rows[2].answer, " x");
    assert_string_equal(p.rows[5].answer, " Paris"); /* answers are byte-exact */
    assert_int_equal(p.has_answer, 1);
    assert_int_equal(p.has_span, 0);
    /* No function column: every sub-function belongs to "default". */
    assert_int_equal(p.n_funcs, 1);
    assert_string_equal(p.funcs[0], "default");
    assert_int_equal(p.n_subs, 2);
    assert_int_equal(p.subs[1].n_rows, 2);
    modex_probe_free(&p);
}

static void test_spans_and_units(void **state) {
    (void)state;
    const char *csv =
        "text,function,subfunction,label,span,answer\n"
        "I sat by the bank of the river.,semantic,bank_sense,1,bank,\n"
        "I sat by the bank of the river.,semantic,bank_sense2,0,river,\n"
        "The bank raised its rates.,semantic,bank_sense,0,bank,\n"
        "The bank raised its rates.,semantic,bank_sense2,1,bank,\n"
        "I sat by the bank of the river.,semantic,whole,1,,\n"
        "The bank raised its rates.,semantic,whole,0,,\n"
        "The capital of France is,knowledge,capital,1,,\" Paris\"\n"
        "The capital of France is,knowledge,capital,1,,\" Paris\"\n"
        "The capital of Peru is,knowledge,capital,0,,\n";
    Probe p;
    Error e = {{0}};
    if (parse(&p, csv, &e)) fail_msg("%s", e.msg);
    assert_int_equal(p.n_rows, 9);
    assert_int_equal(p.n_texts, 4);
    assert_int_equal(p.has_span, 1);
    assert_int_equal(p.has_answer, 1);
    /* units: (t0,bank) (t0,river) (t1,bank) (t0,whole) (t1,whole) (t2) (t3) */
    assert_int_equal(p.n_units, 7);
    const ProbeUnit *u = p.units;
    assert_int_equal(u[0].text, 0); assert_int_equal(u[0].span_begin, 13); assert_int_equal(u[0].span_end, 17);
    assert_int_equal(u[1].text, 0); assert_int_equal(u[1].span_begin, 25); assert_int_equal(u[1].span_end, 30);
    assert_int_equal(u[2].text, 1); assert_int_equal(u[2].span_begin, 4); assert_int_equal(u[2].span_end, 8);
    assert_int_equal(p.rows[3].unit, 2);           /* same (text, span): same unit */
    assert_int_equal(u[3].text, 0); assert_int_equal(u[3].span_begin, -1); assert_int_equal(u[3].span_end, -1);
    assert_int_equal(p.rows[6].unit, p.rows[7].unit); /* a repeated example is allowed */
    assert_string_equal(p.rows[6].answer, " Paris");
    assert_null(p.rows[8].answer);
    assert_memory_equal(p.texts[0] + u[1].span_begin, "river", 5);
    assert_int_equal(p.n_funcs, 2);
    int s = modex_probe_find_sub(&p, "knowledge/capital");
    assert_int_equal(s, 3);
    assert_int_equal(p.subs[s].n_pos, 2);
    assert_int_equal(p.subs[s].n_neg, 1);
    modex_probe_free(&p);
}

static void test_function_only(void **state) {
    (void)state;
    Probe p;
    Error e = {{0}};
    if (parse(&p, "label,function,text\n1,task,a\n0,task,b\n1,other,c\n0,other,d\n", &e)) fail_msg("%s", e.msg);
    assert_int_equal(p.n_subs, 2);
    assert_string_equal(p.subs[0].name, "task"); /* sub-function defaults to the function */
    assert_string_equal(p.funcs[p.subs[1].function], "other");
    assert_string_equal(text_of(&p, 3), "d");
    modex_probe_free(&p);
}

// --- errors ------------------------------------------------------------------------------------

typedef struct BadCase { const char *csv; const char *msg; } BadCase;

static void test_errors(void **state) {
    (void)state;
    static const BadCase cases[] = {
        {"", "t.csv:1: empty file (expected a header row"},
        {"\n\n  \n", "t.csv:1: empty file"},
        {"text,label\n", "t.csv:2: no examples after the header"},
        {"\n\ntext,label\n\n", "t.csv:4: no examples after the header"},
        {"label,subfunction\n1,a\n", "t.csv:1: missing column 'text'"},
        {"text,subfunction\nx,a\n", "t.csv:1: missing column 'label'"},
        {"text,lable\nx,1\n", "t.csv:1:6: unknown column 'lable' (expected text, label"},
        {"text,label,Text\nx,1,y\n", "t.csv:1:12: column 'Text' appears twice"},
        {"text,label\na,1\n,0\n", "t.csv:3:1: empty text (expected the example's text)"},
        {"text,label\na,1\n\"\r\n\",0\n", "t.csv:3:1: empty text"},
        {"text,label,\na,1,\n", "t.csv:1:12: empty column name"},
        {"text,label,subfunction\n\"multi\nline\",1,s\nb,1,s\n", "t.csv:2: sub-function 's' has only label 1 (2 rows)"},
        {"label,text\n1,a\n0,  \n", "t.csv:3:3: empty text"},
        {"text,label\na,1\nb,2\n", "t.csv:3:3: label '2' (expected 1 or 0)"},
        {"text,label\r\na,1\r\nb,2\r\n", "t.csv:3:3: label '2'"},
        {"text,label\ra,1\rb,2\r", "t.csv:3:3: label '2'"},
        {"text,label\na,1\nb,yes\n", "t.csv:3:3: label 'yes' (expected 1 or 0)"},
        {"text,label\na,1\nb,\n", "t.csv:3:3: label '' (expected 1 or 0)"},
        {"text,label,subfunction\na,1,s\nb,0,s\nc,1,t\nd,1,t\n",
         "t.csv:4: sub-function 't' has only label 1 (2 rows) (expected examples with label 1 and with label 0)"},
        {"text,label\na,0\nb,0\n", "t.csv:2: sub-function 'default' has only label 0 (2 rows)"},
        {"text,label,span\nthe cat,1,cat\nthe dog,0,cow\n",
         "t.csv:3:11: span 'cow' is not in the text 'the dog' (expected a substring"},
        {"text,label\na,1\n\"b,0\nc,1\n", "t.csv:3:1: unterminated quoted field (expected a closing '\"')"},
        {"text,label\na,1\nb,\"0\n", "t.csv:3:3: unterminated quoted field"},
        {"text,label\na,1\nb\"c,0\n", "t.csv:3:2: misplaced quote"},
        {"text,label\n\"a\"b,1\n", "t.csv:2:4: misplaced quote"},
        {"text,label\nok,1\ncaf\xE9,0\n", "t.csv:3:4: invalid UTF-8 byte 0xE9"},
        {"text,label,answer\nok,1,\n\xC3\xA9t\xC3\xA9,0,x\xC3\n", "t.csv:3:8: invalid UTF-8 byte 0xC3"},
        {"text,label\xFF\nok,1\n", "t.csv:1:11: invalid UTF-8 byte 0xFF"},
        {"text,label\nok,1\nbad\xC0\xAF,0\n", "t.csv:3:4: invalid UTF-8 byte 0xC0"},     /* overlong */
        {"text,label\nok,1\nbad\xED\xA0\x80,0\n", "t.csv:3:4: invalid UTF-8 byte 0xED"}, /* surrogate */
        {"text,label\nok,1\nbad\xF4\x90\x80\x80,0\n", "t.csv:3:4: invalid UTF-8 byte 0xF4"}, /* > U+10FFFF */
        {"text,label\na,1\nb,0,extra\n", "t.csv:3: row has 3 fields (expected 2, as in the header on line 1)"},
        {"text,label,function,subfunction\na,1,f,s\nb,0,g,s\n",
         "t.csv:3:7: sub-function 's' given function 'g', but line 2 gave it 'f'"},
        {"text,label,subfunction\na,1,s\nb,0,s\na,0,s\n",
         "t.csv:4:3: label 0 contradicts label 1 for the same text in sub-function 's' on line 2"},
        {"text,label,subfunction\na,1,s\nb,0, \n", "t.csv:3:5: empty subfunction"},
        {"text,label,function\na,1,s\nb,0,\n", "t.csv:3:5: empty function"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Probe p;
        Error e = {{0}};
        memset(&p, 0x5A, sizeof p);
        int rc = parse(&p, cases[i].csv, &e);
        if (rc != -1) fail_msg("case %zu: accepted, expected %s", i, cases[i].msg);
        if (strncmp(e.msg, cases[i].msg, strlen(cases[i].msg)) != 0)
            fail_msg("case %zu:\n  got      %s\n  expected %s...", i, e.msg, cases[i].msg);
        assert_null(strchr(e.msg, '\n')); /* one line */
        assert_non_null(strstr(e.msg, "(expected"));
        Probe zero;
        memset(&zero, 0, sizeof zero);
        assert_memory_equal(&p, &zero, sizeof p); /* nothing kept */
    }
    /* The NUL byte needs an explicit length. */
    Probe p;
    Error e = {{0}};
    const char nul[] = "text,label\na\0b,1\n";
    assert_int_equal(modex_probe_parse(&p, "t.csv", nul, sizeof nul - 1, &e), -1);
    assert_string_equal(e.msg, "t.csv:2:2: NUL byte (expected UTF-8 text)");
    assert_int_equal(modex_probe_load(&p, "/nonexistent/probe.csv", &e), -1);
    assert_non_null(strstr(e.msg, "/nonexistent/probe.csv: cannot open"));
}

/* Random corruption of a valid file: always a clean result or a one-line error. */
static void test_mutations(void **state) {
    (void)state;
    const char *base =
        "text,function,subfunction,label,span,answer,id\n"
        "\"A river, a bank\",semantic,bank,1,bank,\" water\",r1\n"
        "The bank lends.,semantic,bank,0,bank,,r2\n"
        "caf\xC3\xA9 au lait,task,s,1,,,\n"
        "\"said \"\"hi\"\"\",task,s,0,hi,,\n";
    size_t n = strlen(base);
    char buf[512];
    const char alphabet[] = ",\"\n\r 01x\xC3\xA9\xFF";
    unsigned seed = 12345;
    int ok = 0, bad = 0;
    for (int it = 0; it < 4000; it++) {
        memcpy(buf, base, n);
        size_t m = n;
        int edits = 1 + it % 3;
        for (int k = 0; k < edits; k++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = (seed >> 8) % m;
            char c = alphabet[(seed >> 20) % (sizeof alphabet - 1)];
            switch ((seed >> 28) % 3) {
            case 0: buf[at] = c; break;
            case 1: memmove(buf + at, buf + at + 1, m - at - 1); m--; break;
            default: if (m + 1 < sizeof buf) { memmove(buf + at + 1, buf + at, m - at); buf[at] = c; m++; }
            }
        }
        Probe p;
        Error e = {{0}};
        if (modex_probe_parse(&p, "m.csv", buf, m, &e) == 0) {
            ok++;
            assert_true(p.n_rows > 0);
            for (int r = 0; r < p.n_rows; r++) {
                const ProbeUnit *u = &p.units[p.rows[r].unit];
                assert_true(u->span_begin == -1 || (u->span_begin < u->span_end &&
                            (size_t)u->span_end <= p.text_len[u->text]));
            }
            modex_probe_free(&p);
        } else {
            bad++;
            assert_true(strncmp(e.msg, "m.csv:", 6) == 0);
            assert_null(strchr(e.msg, '\n'));
        }
    }
    assert_true(ok > 100 && bad > 100);
}

/* A large generated file: the hash indexes grow many times; counts known by construction. */
static void test_large(void **state) {
    (void)state;
    enum { N = 30000, DISTINCT = 9000, SUBS = 10 };
    size_t cap = (size_t)N * 64, n = 0;
    char *d = malloc(cap);
    n += (size_t)snprintf(d, cap, "subfunction,label,text,span\n");
    int pos[SUBS] = {0}, cnt[SUBS] = {0};
    for (int i = 0; i < N; i++) {
        int t = (i * 7919) % DISTINCT, sub = t % SUBS, y = (t / SUBS) & 1; /* label follows the text */
        n += (size_t)snprintf(d + n, cap - n, "s%d,%d,\"row %d, x\",%s\n", sub, y, t, (i / DISTINCT) % 2 ? "x" : "");
        pos[sub] += y, cnt[sub]++;
    }
    Probe p;
    Error e = {{0}};
    int rc = modex_probe_parse(&p, "big.csv", d, n, &e);
    free(d);
    if (rc) fail_msg("%s", e.msg);
    assert_int_equal(p.n_rows, N);
    assert_int_equal(p.n_texts, DISTINCT);
    assert_int_equal(p.n_units, 2 * DISTINCT); /* each text with and without the span "x" */
    assert_int_equal(p.n_subs, SUBS);
    for (int s = 0; s < SUBS; s++) {
        int k = modex_probe_find_sub(&p, (char[8]){'s', (char)('0' + s), 0});
        assert_true(k >= 0);
        assert_int_equal(p.subs[k].n_rows, cnt[s]);
        assert_int_equal(p.subs[k].n_pos, pos[s]);
    }
    for (int r = 0; r < N; r += 997) {
        char want[32];
        snprintf(want, sizeof want, "row %d, x", (r * 7919) % DISTINCT);
        assert_string_equal(text_of(&p, r), want);
        assert_int_equal(p.rows[r].line, r + 2);
        const ProbeUnit *u = &p.units[p.rows[r].unit];
        assert_int_equal(u->span_begin, (r / DISTINCT) % 2 ? (int)strlen(want) - 1 : -1);
    }
    modex_probe_free(&p);
}

// --- the shipped example probe set ------------------------------------------------------------

static void test_english_asset(void **state) {
    (void)state;
    Probe p;
    Error e = {{0}};
    if (modex_probe_load(&p, "assets/probes/english.csv", &e)) fail_msg("%s", e.msg);
    assert_true(p.n_rows >= 200);
    assert_true(p.n_subs >= 10);
    assert_int_equal(p.n_funcs, 3);
    assert_int_equal(p.has_span, 1);
    assert_int_equal(p.has_answer, 1);
    for (int s = 0; s < p.n_subs; s++) {
        const SubFunction *sf = &p.subs[s];
        if (sf->n_pos != sf->n_neg) fail_msg("sub-function %s: %d positive, %d negative", sf->name, sf->n_pos, sf->n_neg);
        assert_true(sf->n_rows >= 16);
    }
    assert_int_equal(p.n_texts, p.n_rows - 4); /* four sentences are used twice (README) */
    for (int r = 0; r < p.n_rows; r++) { /* an answer continues the text before the span */
        const ProbeUnit *u = &p.units[p.rows[r].unit];
        if (!p.rows[r].answer) continue;
        assert_true(p.rows[r].answer[0] == ' ');
        assert_true(u->span_begin > 0 && (size_t)u->span_end + 1 >= p.text_len[u->text]);
    }
    modex_probe_free(&p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture),
        cmocka_unit_test(test_quoting),
        cmocka_unit_test(test_spans_and_units),
        cmocka_unit_test(test_function_only),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_large),
        cmocka_unit_test(test_english_asset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
