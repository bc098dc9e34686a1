/* test_wordnet.c — the WordNet reader and probe builder on a small database excerpt that the
 * test writes itself in the wndb(5WN) format (license header, byte offsets that are right,
 * index lines, exception lists), so every expected sense, span and relation is known. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <csv.h>
#include "modex/probe.h"
#include "modex/util.h"
#include "modex/wordnet.h"

// --- the excerpt --------------------------------------------------------------------------

/* A synset: id, part of speech file, lexfile, ss_type, words (with lex ids), pointers written
 * "SYMBOL TARGET-ID SOURCE/TARGET", and the gloss. */
typedef struct TSyn {
    const char *id;
    int pos;                 /* WordnetPos */
    const char *lexfile;
    char type;
    const char *words[4];
    const char *ptrs[6];
    const char *gloss;
} TSyn;

static const TSyn SYN[] = {
    {"entity", WN_NOUN, "03", 'n', {"entity"}, {0}, "that which exists"},
    {"animal", WN_NOUN, "03", 'n', {"animal", "beast"}, {"@ entity 0000"}, "a living organism"},
    {"carnivore", WN_NOUN, "05", 'n', {"carnivore"}, {"@ animal 0000"}, "a flesh-eating mammal"},
    {"canine", WN_NOUN, "05", 'n', {"canine", "canid"}, {"@ carnivore 0000"}, "a dog-like mammal"},
    {"dog", WN_NOUN, "05", 'n', {"dog", "domestic_dog"}, {"@ canine 0000", "#m canis 0000"},
     "a domesticated carnivore; \"the dog barked all night\""},
    {"beagle", WN_NOUN, "05", 'n', {"beagle"}, {"@ dog 0000"}, "a small hound"},
    {"feline", WN_NOUN, "05", 'n', {"feline", "felid"}, {"@ carnivore 0000"}, "a cat-like mammal"},
    {"cat", WN_NOUN, "05", 'n', {"cat", "true_cat"}, {"@ feline 0000", "#m felis 0000"}, "a small feline"},
    {"canis", WN_NOUN, "05", 'n', {"Canis", "genus_Canis"}, {"%m dog 0000"}, "type genus of the Canidae"},
    {"felis", WN_NOUN, "05", 'n', {"Felis", "genus_Felis"}, {"%m cat 0000"}, "type genus of the Felidae"},
    {"mouse1", WN_NOUN, "05", 'n', {"mouse"}, {"@ animal 0000"},
     "any of numerous small rodents; \"the mice ran across the floor\"; \"a mouse lives in the barn\""},
    {"device", WN_NOUN, "06", 'n', {"device"}, {0}, "an instrumentality"},
    {"mouse2", WN_NOUN, "06", 'n', {"mouse", "computer_mouse"}, {"@ device 0000"},
     "a hand-operated pointing device; \"he clicked the mouse twice\"; \"wireless mice need batteries\""},
    {"bank1", WN_NOUN, "17", 'n', {"bank"}, {0},
     "sloping land; \"they pulled the canoe up on the bank\"; \"he sat on the bank of the river\""},
    {"bank2", WN_NOUN, "14", 'n', {"depository_financial_institution", "bank", "banking_company"}, {0},
     "a financial institution; \"he cashed a check at the bank\"; \"banks lend money\""},
    {"bank3", WN_NOUN, "17", 'n', {"bank"}, {0}, "a long ridge or pile; \"a huge bank of earth\""},
    {"vehicle", WN_NOUN, "06", 'n', {"vehicle"}, {0}, "a conveyance"},
    {"car", WN_NOUN, "06", 'n', {"car", "auto"}, {"@ vehicle 0000", "%p wheel 0000"}, "a motor vehicle"},
    {"bicycle", WN_NOUN, "06", 'n', {"bicycle", "bike"}, {"@ vehicle 0000", "%p pedal 0000"}, "a two-wheeled vehicle"},
    {"wheel", WN_NOUN, "06", 'n', {"wheel"}, {"@ device 0000", "#p car 0000"}, "a simple machine"},
    {"pedal", WN_NOUN, "06", 'n', {"pedal"}, {"@ device 0000", "#p bicycle 0000"}, "a lever worked by the foot"},
    {"city", WN_NOUN, "15", 'n', {"city", "metropolis"}, {0}, "a large town"},
    {"paris", WN_NOUN, "15", 'n', {"Paris", "City_of_Light"}, {"@i city 0000"}, "the capital of France"},
    {"physicist", WN_NOUN, "18", 'n', {"physicist"}, {0}, "a scientist of physics"},
    {"composer", WN_NOUN, "18", 'n', {"composer"}, {0}, "someone who writes music"},
    {"einstein", WN_NOUN, "18", 'n', {"Einstein", "Albert_Einstein"}, {"@i physicist 0000"}, "a physicist"},
    {"newton", WN_NOUN, "18", 'n', {"Newton", "Isaac_Newton"}, {"@i physicist 0000"}, "a physicist"},
    {"mozart", WN_NOUN, "18", 'n', {"Mozart"}, {"@i composer 0000"}, "a composer"},
    {"sleep", WN_VERB, "29", 'v', {"sleep", "slumber"}, {0}, "be asleep"},
    {"snore", WN_VERB, "29", 'v', {"snore", "saw_wood"}, {"* sleep 0000"}, "breathe noisily during one's sleep"},
    {"pay", WN_VERB, "40", 'v', {"pay"}, {0}, "give money"},
    {"buy", WN_VERB, "40", 'v', {"buy", "purchase"}, {"* pay 0000"}, "obtain by purchase"},
    {"move", WN_VERB, "38", 'v', {"move"}, {0}, "change location"},
    {"walk", WN_VERB, "38", 'v', {"walk"}, {"@ move 0000"}, "use one's feet to advance"},
    {"stroll", WN_VERB, "38", 'v', {"stroll", "saunter"}, {"@ walk 0000"}, "walk leisurely"},
    {"run1", WN_VERB, "38", 'v', {"run"}, {"@ move 0000"},
     "move fast by using one's feet; \"The children ran to the store\"; \"she runs every morning\""},
    {"run2", WN_VERB, "41", 'v', {"run", "operate"}, {0},
     "direct or control; \"She is running a relief operation\"; \"he runs the company\""},
    {"hot", WN_ADJ, "00", 'a', {"hot"}, {"! cold 0101"},
     "used of physical heat; \"a hot stove\"; \"the stove is hotter than the oven\""},
    {"cold", WN_ADJ, "00", 'a', {"cold"}, {"! hot 0101"}, "used of physical coldness; \"a cold drink\""},
    {"frigid", WN_ADJ, "00", 's', {"frigid(p)"}, {"& cold 0000"}, "extremely cold"},
    {"wet", WN_ADJ, "00", 'a', {"wet"}, {"! dry 0101"}, "covered with water"},
    {"dry", WN_ADJ, "00", 'a', {"dry"}, {"! wet 0101"}, "free from liquid"},
    {"quickly", WN_ADV, "02", 'r', {"quickly", "fast"}, {0}, "with speed"},
};
#define NSYN ((int)(sizeof SYN / sizeof *SYN))

static const char *const POS_NAME[] = {"noun", "verb", "adj", "adv"};
static const char POS_CHAR[] = {"nvar"};
static const char HEADER[] =
    "  1 This software and database is being provided to you, the LICENSEE, by  \n"
    "  2 Princeton University under the following license.  \n";
#define HEADER_LINES 2

static char dir[64];
static uint32_t offset_of[NSYN];
static long line_of[NSYN];

static int syn_index(const char *id) {
    for (int i = 0; i < NSYN; i++) if (!strcmp(SYN[i].id, id)) return i;
    fail_msg("no test synset %s", id);
    return -1;
}

/* One data line; with offsets all zero on the first pass (the widths do not change). */
static void data_line(char *buf, size_t cap, int i) {
    const TSyn *s = &SYN[i];
    int nw = 0, np = 0;
    while (nw < 4 && s->words[nw]) nw++;
    while (np < 6 && s->ptrs[np]) np++;
    size_t n = (size_t)snprintf(buf, cap, "%08u %s %c %02x", offset_of[i], s->lexfile, s->type, nw);
    for (int w = 0; w < nw; w++) n += (size_t)snprintf(buf + n, cap - n, " %s 0", s->words[w]);
    n += (size_t)snprintf(buf + n, cap - n, " %03d", np);
    for (int k = 0; k < np; k++) {
        char sym[4], target[32], st[8];
        sscanf(s->ptrs[k], "%3s %31s %7s", sym, target, st);
        int t = syn_index(target);
        char tp = SYN[t].pos == WN_ADJ ? SYN[t].type : POS_CHAR[SYN[t].pos];
        n += (size_t)snprintf(buf + n, cap - n, " %s %08u %c %s", sym, offset_of[t], tp, st);
    }
    if (s->pos == WN_VERB) n += (size_t)snprintf(buf + n, cap - n, " 01 + 02 00");
    snprintf(buf + n, cap - n, " | %s  \n", s->gloss);
}

static void write_file(const char *name, const char *text) {
    char *p = modex_path_join(dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    free(p);
}

static int cmp_strp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* data.POS and index.POS for every part of speech, and the exception lists. */
static void write_wordnet(void) {
    char line[1024];
    for (int pass = 0; pass < 2; pass++)
        for (int p = 0; p < WN_NPOS; p++) {
            uint32_t off = (uint32_t)strlen(HEADER);
            long ln = HEADER_LINES;
            char *text = modex_xstrdup(HEADER);
            for (int i = 0; i < NSYN; i++) {
                if (SYN[i].pos != p) continue;
                if (pass == 0) offset_of[i] = 0;
                data_line(line, sizeof line, i);
                if (pass == 0) { offset_of[i] = off; line_of[i] = ++ln; }
                off += (uint32_t)strlen(line);
                text = modex_xrealloc(text, strlen(text) + strlen(line) + 1);
                strcat(text, line);
            }
            char name[32];
            snprintf(name, sizeof name, "data.%s", POS_NAME[p]);
            if (pass == 1) write_file(name, text);
            free(text);
        }
    /* index: lemma → synsets in the order of SYN (sense 1 first). */
    for (int p = 0; p < WN_NPOS; p++) {
        char *lemmas[128];
        int nl = 0;
        for (int i = 0; i < NSYN; i++) {
            if (SYN[i].pos != p) continue;
            for (int w = 0; w < 4 && SYN[i].words[w]; w++) {
                char *l = modex_xstrdup(SYN[i].words[w]), *paren = strchr(l, '(');
                if (paren) *paren = 0;
                for (char *c = l; *c; c++) *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
                int dup = 0;
                for (int k = 0; k < nl; k++) dup |= !strcmp(lemmas[k], l);
                if (dup) free(l); else lemmas[nl++] = l;
            }
        }
        qsort(lemmas, (size_t)nl, sizeof *lemmas, cmp_strp);
        char *text = modex_xstrdup(HEADER);
        for (int k = 0; k < nl; k++) {
            int senses[8], ns = 0;
            char syms[64] = "";
            int nsym = 0;
            for (int i = 0; i < NSYN; i++) {
                if (SYN[i].pos != p) continue;
                int has = 0;
                for (int w = 0; w < 4 && SYN[i].words[w]; w++)
                    has |= strncasecmp(SYN[i].words[w], lemmas[k], strlen(lemmas[k])) == 0 &&
                           (SYN[i].words[w][strlen(lemmas[k])] == 0 || SYN[i].words[w][strlen(lemmas[k])] == '(');
                if (!has) continue;
                senses[ns++] = i;
                for (int q = 0; q < 6 && SYN[i].ptrs[q]; q++) {
                    char sym[4];
                    sscanf(SYN[i].ptrs[q], "%3s", sym);
                    char pad[6];
                    snprintf(pad, sizeof pad, " %s ", sym);
                    char have[70];
                    snprintf(have, sizeof have, " %s ", syms);
                    if (!strstr(have, pad)) {
                        if (nsym++) strcat(syms, " ");
                        strcat(syms, sym);
                    }
                }
            }
            snprintf(line, sizeof line, "%s %c %d %d%s%s %d 0", lemmas[k], POS_CHAR[p], ns, nsym,
                     nsym ? " " : "", syms, ns);
            for (int s = 0; s < ns; s++) snprintf(line + strlen(line), sizeof line - strlen(line), " %08u", offset_of[senses[s]]);
            strcat(line, "  \n");
            text = modex_xrealloc(text, strlen(text) + strlen(line) + 1);
            strcat(text, line);
            free(lemmas[k]);
        }
        char name[32];
        snprintf(name, sizeof name, "index.%s", POS_NAME[p]);
        write_file(name, text);
        free(text);
    }
    write_file("noun.exc", "aardwolves aardwolf\nmice mouse\n");
    write_file("verb.exc", "abetted abet\nran run\nrunning run\n");
    write_file("adj.exc", "hotter hot\n");
    write_file("adv.exc", "best well\n");
}

static void remove_wordnet(void) {
    static const char *const files[] = {"data.noun", "data.verb", "data.adj", "data.adv", "index.noun",
                                        "index.verb", "index.adj", "index.adv", "noun.exc", "verb.exc",
                                        "adj.exc", "adv.exc", "a.csv", "b.csv", "c.csv"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char *p = modex_path_join(dir, files[i]);
        unlink(p);
        free(p);
    }
}

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/modex-wordnet-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    write_wordnet();
    return 0;
}
static int teardown(void **state) {
    (void)state;
    remove_wordnet();
    rmdir(dir);
    return 0;
}

static void load(Wordnet *wn) {
    Error err = {{0}};
    int rc = modex_wordnet_load(wn, dir, &err);
    if (rc) fail_msg("%s", err.msg);
}

// --- the reader ---------------------------------------------------------------------------

static void test_load(void **state) {
    (void)state;
    Wordnet wn;
    load(&wn);
    int counts[WN_NPOS] = {0};
    for (int i = 0; i < NSYN; i++) counts[SYN[i].pos]++;
    for (int p = 0; p < WN_NPOS; p++) assert_int_equal(wn.pos[p].nsynsets, counts[p]);
    /* bank: three noun senses in index order, and their synsets' words and examples. */
    const WordnetLemma *l = modex_wordnet_lemma(&wn, WN_NOUN, "bank");
    assert_non_null(l);
    assert_int_equal(l->nsenses, 3);
    const char *ids[] = {"bank1", "bank2", "bank3"};
    for (int k = 0; k < 3; k++) {
        const WordnetSynset *s = &wn.pos[WN_NOUN].synsets[wn.pos[WN_NOUN].sense_pool[l->senses + k]];
        assert_int_equal(s->offset, offset_of[syn_index(ids[k])]);
        assert_int_equal(s->line, line_of[syn_index(ids[k])]);
    }
    const WordnetSynset *b2 = modex_wordnet_synset(&wn, WN_NOUN, offset_of[syn_index("bank2")]);
    assert_non_null(b2);
    assert_int_equal(b2->nwords, 3);
    assert_int_equal(b2->lexfile, 14);
    assert_string_equal(wn.pos[WN_NOUN].words[b2->words + 1], "bank");
    assert_int_equal(b2->nexamples, 2);
    assert_string_equal(wn.pos[WN_NOUN].examples[b2->examples], "he cashed a check at the bank");
    assert_string_equal(wn.pos[WN_NOUN].examples[b2->examples + 1], "banks lend money");
    /* A pointer resolves to its target synset; the adjective marker "(p)" is cut. */
    const WordnetSynset *dog = modex_wordnet_synset(&wn, WN_NOUN, offset_of[syn_index("dog")]);
    assert_int_equal(dog->nptrs, 2);
    const WordnetPointer *hyp = &wn.pos[WN_NOUN].ptrs[dog->ptrs];
    assert_string_equal(hyp->symbol, "@");
    assert_int_equal(wn.pos[WN_NOUN].synsets[hyp->synset].offset, offset_of[syn_index("canine")]);
    const WordnetSynset *fr = modex_wordnet_synset(&wn, WN_ADJ, offset_of[syn_index("frigid")]);
    assert_int_equal(fr->type, 's');
    assert_string_equal(wn.pos[WN_ADJ].words[fr->words], "frigid");
    const WordnetPointer *ant = &wn.pos[WN_ADJ].ptrs[modex_wordnet_synset(&wn, WN_ADJ, offset_of[syn_index("hot")])->ptrs];
    assert_int_equal(ant->source, 1);
    assert_int_equal(ant->target, 1);
    assert_null(modex_wordnet_lemma(&wn, WN_NOUN, "banks"));
    assert_null(modex_wordnet_synset(&wn, WN_NOUN, offset_of[syn_index("dog")] + 1));
    modex_wordnet_free(&wn);
}

static void test_morphology(void **state) {
    (void)state;
    Wordnet wn;
    load(&wn);
    assert_true(modex_wordnet_is_form(&wn, WN_NOUN, "mice", 4, "mouse", 5));   /* exception list */
    assert_true(modex_wordnet_is_form(&wn, WN_NOUN, "Banks", 5, "bank", 4));   /* -s, any case */
    assert_true(modex_wordnet_is_form(&wn, WN_VERB, "ran", 3, "run", 3));
    assert_true(modex_wordnet_is_form(&wn, WN_VERB, "runs", 4, "run", 3));
    assert_true(modex_wordnet_is_form(&wn, WN_ADJ, "hotter", 6, "hot", 3));
    assert_false(modex_wordnet_is_form(&wn, WN_NOUN, "ran", 3, "run", 3));    /* verb list only */
    assert_false(modex_wordnet_is_form(&wn, WN_NOUN, "banker", 6, "bank", 4));
    size_t len = 0;
    const char *t = "the mice ran across the floor";
    const char *s = modex_wordnet_find(&wn, WN_NOUN, t, "mouse", &len);
    assert_ptr_equal(s, t + 4);
    assert_int_equal(len, 4);
    t = "he sat on the riverbank's edge, by the bank's steps";
    s = modex_wordnet_find(&wn, WN_NOUN, t, "bank", &len);
    assert_ptr_equal(s, strstr(t, "bank's steps"));
    assert_int_equal(len, 4);
    t = "they call it a domestic dogs show";
    s = modex_wordnet_find(&wn, WN_NOUN, t, "domestic_dog", &len);
    assert_ptr_equal(s, strstr(t, "domestic dogs"));
    assert_int_equal(len, strlen("domestic dogs"));
    assert_null(modex_wordnet_find(&wn, WN_NOUN, "a domestic  dog", "domestic_dog", &len));
    modex_wordnet_free(&wn);
}

// --- semantic sub-functions ---------------------------------------------------------------

static void options(WordnetOptions *o) {
    modex_wordnet_options_default(o);
    o->min_examples = 2;
}

typedef struct Expect { const char *sub; int label; const char *text, *span, *syn; int exno; } Expect;

static void test_semantic(void **state) {
    (void)state;
    Wordnet wn;
    load(&wn);
    WordnetOptions o;
    options(&o);
    o.pairs = 0;
    WordnetProbe p;
    Error err = {{0}};
    assert_int_equal(modex_wordnet_probe_build(&wn, &o, &p, &err), 0);
    static const Expect want[] = {
        {"bank.n.1_vs_2", 1, "they pulled the canoe up on the bank", "bank", "bank1", 1},
        {"bank.n.1_vs_2", 1, "he sat on the bank of the river", "bank", "bank1", 2},
        {"bank.n.1_vs_2", 0, "he cashed a check at the bank", "bank", "bank2", 1},
        {"bank.n.1_vs_2", 0, "banks lend money", "banks", "bank2", 2},
        {"mouse.n.1_vs_2", 1, "the mice ran across the floor", "mice", "mouse1", 1},
        {"mouse.n.1_vs_2", 1, "a mouse lives in the barn", "mouse", "mouse1", 2},
        {"mouse.n.1_vs_2", 0, "he clicked the mouse twice", "mouse", "mouse2", 1},
        {"mouse.n.1_vs_2", 0, "wireless mice need batteries", "mice", "mouse2", 2},
        {"run.v.1_vs_2", 1, "The children ran to the store", "ran", "run1", 1},
        {"run.v.1_vs_2", 1, "she runs every morning", "runs", "run1", 2},
        {"run.v.1_vs_2", 0, "She is running a relief operation", "running", "run2", 1},
        {"run.v.1_vs_2", 0, "he runs the company", "runs", "run2", 2},
    };
    int n = (int)(sizeof want / sizeof *want);
    assert_int_equal(p.nrows, n);
    assert_int_equal(p.subfunctions[0], 3);
    assert_int_equal(p.subfunctions[1], 0);
    assert_int_equal(p.positives[0], 6);
    assert_int_equal(p.negatives[0], 6);
    for (int i = 0; i < n; i++) {
        const WordnetRow *r = &p.rows[i];
        char id[64];
        const TSyn *s = &SYN[syn_index(want[i].syn)];
        snprintf(id, sizeof id, "wn:%c%08u:e%d", POS_CHAR[s->pos], offset_of[syn_index(want[i].syn)], want[i].exno);
        assert_string_equal(r->function, "semantic");
        assert_string_equal(r->subfunction, want[i].sub);
        assert_int_equal(r->label, want[i].label);
        assert_string_equal(r->text, want[i].text);
        assert_string_equal(r->span, want[i].span);
        assert_non_null(strstr(r->text, r->span));
        assert_string_equal(r->answer, "");
        assert_string_equal(r->id, id);
    }
    modex_wordnet_probe_free(&p);

    /* --min-examples 3: no sense has three examples. --words mouse: only mouse. */
    o.min_examples = 3;
    assert_int_equal(modex_wordnet_probe_build(&wn, &o, &p, &err), -1);
    assert_non_null(strstr(err.msg, "no probe rows"));
    o.min_examples = 1;
    const char *words[] = {"Bank"};
    o.words = words;
    o.nwords = 1;
    assert_int_equal(modex_wordnet_probe_build(&wn, &o, &p, &err), 0);
    assert_int_equal(p.subfunctions[0], 3); /* 1-2, 1-3, 2-3: "a huge bank of earth" counts now */
    assert_string_equal(p.rows[0].subfunction, "bank.n.1_vs_2");
    assert_string_equal(p.rows[p.nrows - 1].subfunction, "bank.n.2_vs_3");
    assert_string_equal(p.rows[p.nrows - 1].text, "a huge bank of earth");
    modex_wordnet_probe_free(&p);
    /* --pos verb, and a cap of one sub-function. */
    o.words = NULL; o.nwords = 0; o.min_examples = 2;
    o.pos_mask = 1u << WN_VERB;
    assert_int_equal(modex_wordnet_probe_build(&wn, &o, &p, &err), 0);
    assert_int_equal(p.subfunctions[0], 1);
    assert_string_equal(p.rows[0].subfunction, "run.v.1_vs_2");
    modex_wordnet_probe_free(&p);
    o.pos_mask = 7;
    o.max_subfunctions = 1;
    assert_int_equal(modex_wordnet_probe_build(&wn, &o, &p, &err), 0);
    assert_int_equal(p.subfunctions[0], 1);
    modex_wordnet_probe_free(&p);
    modex_wordnet_free(&wn);
}

// --- knowledge sub-functions --------------------------------------------------------------

/* Hypernym/instance ancestors of a synset in the test table (an independent closure). */
static int is_ancestor(int from, int anc) {
    for (int k = 0; k < 6 && SYN[from].ptrs[k]; k++) {
        char sym[4], target[32];
        sscanf(SYN[from].ptrs[k], "%3s %31s", sym, target);
        if (strcmp(sym, "@") && strcmp(sym, "@i")) continue;
        int t = syn_index(target);
        if (t == anc || is_ancestor(t, anc)) return 1;
    }
    return 0;
}
/* Any synset holding word w (any case; '_' as ' '). */
static int synsets_of(const char *w, int pos, int *out) {
    int n = 0;
    for (int i = 0; i < NSYN; i++) {
        if (SYN[i].pos != pos) continue;
        for (int k = 0; k < 4 && SYN[i].words[k]; k++) {
            char buf[64];
            snprintf(buf, sizeof buf, "%s", SYN[i].words[k]);
            for (char *c = buf; *c; c++) if (*c == '_') *c = ' ';
            char *paren = strchr(buf, '(');
            if (paren) *paren = 0;
            if (!strcasecmp(buf, w)) { out[n++] = i; break; }
        }
    }
    return n;
}

static const WordnetRow *row_with(const WordnetProbe *p, const char *text) {
    for (int i = 0; i < p->nrows; i++) if (!strcmp(p->rows[i].text, text)) return &p->rows[i];
    return NULL;
}

static void test_knowledge(void **state) {
    (void)state;
    Wordnet wn;
    load(&wn);
    WordnetOptions o;
    options(&o);
    o.max_subfunctions = 0;
    WordnetProbe p;
    Error err = {{0}};
    assert_int_equal(modex_wordnet_probe_build(&wn, &o, &p, &err), 0);
    assert_int_equal(p.subfunctions[0], 0);
    /* True statements, each followed by its corrupted twin with the same answer. */
    static const struct { const char *rel, *text, *answer, *wrong; } want[] = {
        /* dog, canine, carnivore are beagle's ancestors: feline is the only wrong noun.animal */
        {"kind_of", "A beagle is a kind of dog.", "dog", "A beagle is a kind of feline."},
        {"kind_of", "A cat is a kind of feline.", "feline", NULL}, /* canine or dog */
        {"instance_of", "Einstein is a physicist.", "physicist", "Einstein is a composer."},
        {"instance_of", "Mozart is a composer.", "composer", "Mozart is a physicist."},
        {"part_of", "A wheel is part of a car.", "car", "A wheel is part of a bicycle."},
        {"part_of", "A pedal is part of a bicycle.", "bicycle", "A pedal is part of a car."},
        {"member_of", "A dog is a member of Canis.", "Canis", "A dog is a member of Felis."},
        {"opposite_of", "Hot is the opposite of cold.", "cold", NULL},
        {"entails", "If you snore, you sleep.", "sleep", "If you snore, you pay."},
        {"entails", "If you buy, you pay.", "pay", "If you buy, you sleep."},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        const WordnetRow *r = row_with(&p, want[i].text);
        if (!r) fail_msg("missing: %s", want[i].text);
        assert_string_equal(r->function, "knowledge");
        assert_string_equal(r->subfunction, want[i].rel);
        assert_int_equal(r->label, 1);
        assert_string_equal(r->answer + 1, want[i].answer);
        assert_int_equal(r->answer[0], ' '); /* the continuation of the text before the span */
        assert_string_equal(r->span, want[i].answer);
        const WordnetRow *f = r + 1;
        assert_int_equal(f->label, 0);
        assert_string_equal(f->subfunction, want[i].rel);
        assert_string_equal(f->answer, r->answer);
        if (want[i].wrong) assert_string_equal(f->text, want[i].wrong);
    }
    /* Hot's wrong partner: never cold, nor frigid (similar to cold), nor hot itself. */
    const WordnetRow *hot = row_with(&p, "Hot is the opposite of cold.") + 1;
    assert_true(!strcmp(hot->span, "dry") || !strcmp(hot->span, "wet"));
    const WordnetRow *cat = row_with(&p, "A cat is a kind of feline.") + 1;
    assert_true(!strcmp(cat->span, "canine") || !strcmp(cat->span, "dog"));
    /* way_to: stroll → walk and walk → move have no wrong partner (both verbs of motion are
     * true for stroll, and move is walk's only other candidate): only run → move stays. */
    assert_non_null(row_with(&p, "To run is a way to move."));
    assert_non_null(row_with(&p, "To run is a way to walk."));
    assert_null(row_with(&p, "To stroll is a way to walk."));
    /* Every corrupted kind_of / instance_of partner is no ancestor of any sense of the subject,
     * and no false statement is also a true one. */
    int nfalse = 0;
    for (int i = 0; i < p.nrows; i++) {
        const WordnetRow *r = &p.rows[i];
        if (r->label) continue;
        nfalse++;
        assert_null(row_with(&p, r->text) != r ? row_with(&p, r->text) : NULL);
        if (strcmp(r->subfunction, "kind_of") && strcmp(r->subfunction, "instance_of")) continue;
        char subj[64];
        const char *t = r->text;
        if (!strncmp(t, "A ", 2)) t += 2; else if (!strncmp(t, "An ", 3)) t += 3;
        snprintf(subj, sizeof subj, "%.*s", (int)(strstr(t, " is ") - t), t);
        int ss[8], os[8];
        int ns = synsets_of(subj, WN_NOUN, ss), no = synsets_of(r->span, WN_NOUN, os);
        assert_true(ns > 0 && no > 0);
        for (int a = 0; a < ns; a++)
            for (int b = 0; b < no; b++) assert_false(ss[a] == os[b] || is_ancestor(ss[a], os[b]));
    }
    assert_int_equal(nfalse, p.positives[1]);
    assert_int_equal(p.negatives[1], p.positives[1]);
    /* Relations are in a fixed order, each a block. */
    static const char *const order[] = {"kind_of", "instance_of", "part_of", "member_of", "opposite_of",
                                        "way_to", "entails", "causes"};
    int at = 0;
    for (int i = 0; i < p.nrows; i++) {
        while (at < 8 && strcmp(p.rows[i].subfunction, order[at])) at++;
        assert_true(at < 8);
    }
    /* --pairs 1: one statement and its twin per relation. */
    modex_wordnet_probe_free(&p);
    o.pairs = 1;
    assert_int_equal(modex_wordnet_probe_build(&wn, &o, &p, &err), 0);
    assert_int_equal(p.nrows, 2 * p.subfunctions[1]);
    modex_wordnet_probe_free(&p);
    modex_wordnet_free(&wn);
}

// --- the file -----------------------------------------------------------------------------

typedef struct Parsed { char cells[64][8][128]; int nrows, ncol; } Parsed;
static void cb_field(void *s, size_t n, void *data) {
    Parsed *p = data;
    if (p->nrows < 64 && p->ncol < 8) snprintf(p->cells[p->nrows][p->ncol], 128, "%.*s", (int)n, (const char *)s);
    p->ncol++;
}
static void cb_row(int c, void *data) {
    (void)c;
    Parsed *p = data;
    assert_int_equal(p->ncol, 7);
    p->nrows++;
    p->ncol = 0;
}

static void test_file(void **state) {
    (void)state;
    Wordnet wn;
    load(&wn);
    WordnetOptions o;
    options(&o);
    o.pairs = 2;
    WordnetProbe p;
    Error err = {{0}};
    assert_int_equal(modex_wordnet_probe_build(&wn, &o, &p, &err), 0);
    char *a = modex_path_join(dir, "a.csv"), *b = modex_path_join(dir, "b.csv");
    assert_int_equal(modex_wordnet_probe_write(&p, a, 0, &err), 0);
    /* Refuses to overwrite without force; the old file stays. */
    assert_int_equal(modex_wordnet_probe_write(&p, a, 0, &err), -1);
    assert_non_null(strstr(err.msg, "already exists"));
    assert_int_equal(modex_wordnet_probe_write(&p, a, 1, &err), 0);
    size_t na, nb;
    char *ta = modex_read_text(a, &na, &err);
    assert_non_null(ta);
    const char *head = "text,function,subfunction,label,span,answer,id\r\n";
    assert_int_equal(strncmp(ta, head, strlen(head)), 0);
    /* libcsv reads back every row and field. */
    static Parsed parsed;
    memset(&parsed, 0, sizeof parsed);
    struct csv_parser cp;
    csv_init(&cp, CSV_STRICT | CSV_STRICT_FINI);
    assert_int_equal(csv_parse(&cp, ta, na, cb_field, cb_row, &parsed), na);
    assert_int_equal(csv_fini(&cp, cb_field, cb_row, &parsed), 0);
    csv_free(&cp);
    assert_int_equal(parsed.nrows, p.nrows + 1);
    for (int i = 0; i < p.nrows && i < 63; i++) {
        assert_string_equal(parsed.cells[i + 1][0], p.rows[i].text);
        assert_string_equal(parsed.cells[i + 1][3], p.rows[i].label ? "1" : "0");
        assert_string_equal(parsed.cells[i + 1][4], p.rows[i].span);
        assert_string_equal(parsed.cells[i + 1][6], p.rows[i].id);
    }
    /* The probe reader takes it: same rows, sub-functions, classes, and each span found at
     * the place the builder meant (the word in the example; the statement's last word). */
    Probe pr;
    if (modex_probe_load(&pr, a, &err)) fail_msg("%s", err.msg);
    assert_int_equal(pr.n_rows, p.nrows);
    assert_int_equal(pr.n_subs, p.subfunctions[0] + p.subfunctions[1]);
    assert_int_equal(pr.n_funcs, 2);
    assert_string_equal(pr.funcs[0], "semantic");
    assert_string_equal(pr.funcs[1], "knowledge");
    int pos = 0, neg = 0;
    for (int i = 0; i < pr.n_subs; i++) { pos += pr.subs[i].n_pos; neg += pr.subs[i].n_neg; }
    assert_int_equal(pos, p.positives[0] + p.positives[1]);
    assert_int_equal(neg, p.negatives[0] + p.negatives[1]);
    for (int i = 0; i < p.nrows; i++) {
        const WordnetRow *r = &p.rows[i];
        const ProbeUnit *u = &pr.units[pr.rows[i].unit];
        assert_string_equal(pr.texts[u->text], r->text);
        assert_string_equal(pr.subs[pr.rows[i].sub].name, r->subfunction);
        assert_int_equal(pr.rows[i].label, r->label);
        long at;
        if (!strcmp(r->function, "semantic")) {
            size_t len;
            char lemma[64];
            snprintf(lemma, sizeof lemma, "%.*s", (int)(strchr(r->subfunction, '.') - r->subfunction), r->subfunction);
            WordnetPos wp = strstr(r->subfunction, ".v.") ? WN_VERB : WN_NOUN;
            at = modex_wordnet_find(&wn, wp, r->text, lemma, &len) - r->text;
            assert_int_equal(u->span_end - u->span_begin, len);
        } else {
            at = (long)(strlen(r->text) - strlen(r->span) - 1);
            assert_string_equal(pr.rows[i].answer, r->answer);
        }
        assert_int_equal(u->span_begin, at);
    }
    modex_probe_free(&pr);
    /* Deterministic: the same seed, from a fresh load, gives the same bytes. */
    modex_wordnet_probe_free(&p);
    modex_wordnet_free(&wn);
    load(&wn);
    assert_int_equal(modex_wordnet_probe_build(&wn, &o, &p, &err), 0);
    assert_int_equal(modex_wordnet_probe_write(&p, b, 0, &err), 0);
    char *tb = modex_read_text(b, &nb, &err);
    assert_int_equal(na, nb);
    assert_memory_equal(ta, tb, na);
    free(ta); free(tb);
    modex_wordnet_probe_free(&p);
    modex_wordnet_free(&wn);
    free(a); free(b);
}

/* The committed probe set loads through the probe reader (tests run in the repo root). */
static void test_asset(void **state) {
    (void)state;
    Probe pr;
    Error err = {{0}};
    if (modex_probe_load(&pr, "assets/probes/wordnet.csv", &err)) fail_msg("%s", err.msg);
    assert_int_equal(pr.n_funcs, 2);
    assert_true(pr.n_rows > 2000 && pr.has_span && pr.has_answer);
    int know = 0;
    for (int i = 0; i < pr.n_subs; i++) {
        const SubFunction *s = &pr.subs[i];
        assert_true(s->n_pos > 0 && s->n_neg > 0);
        if (!strcmp(pr.funcs[s->function], "knowledge")) { know++; assert_int_equal(s->n_pos, s->n_neg); }
    }
    assert_int_equal(know, 8);
    modex_probe_free(&pr);
}

// --- errors -------------------------------------------------------------------------------

/* Rewrites one file with line LINE (1-based) replaced, loads, restores; returns the error. */
static void load_with(const char *name, int line, const char *replacement, const char *want) {
    char *path = modex_path_join(dir, name);
    size_t n;
    Error err = {{0}};
    char *orig = modex_read_text(path, &n, &err);
    assert_non_null(orig);
    char *mod = modex_xmalloc(n + strlen(replacement) + 2);
    const char *p = orig;
    for (int l = 1; l < line; l++) p = strchr(p, '\n') + 1;
    const char *e = strchr(p, '\n') + 1;
    size_t pre = (size_t)(p - orig);
    memcpy(mod, orig, pre);
    strcpy(mod + pre, replacement);
    strcat(mod, e);
    write_file(name, mod);
    Wordnet wn;
    assert_int_equal(modex_wordnet_load(&wn, dir, &err), -1);
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%s:%d: ", path, line);
    if (strncmp(err.msg, prefix, strlen(prefix)) != 0 || !strstr(err.msg, want))
        fail_msg("got '%s', want '%s...%s'", err.msg, prefix, want);
    write_file(name, orig);
    free(orig); free(mod); free(path);
}

static void test_errors(void **state) {
    (void)state;
    Error err = {{0}};
    Wordnet wn;
    /* A missing file: one error naming it. */
    char *verb = modex_path_join(dir, "data.verb"), *moved = modex_path_join(dir, "c.csv");
    assert_int_equal(rename(verb, moved), 0);
    assert_int_equal(modex_wordnet_load(&wn, dir, &err), -1);
    char want[256];
    snprintf(want, sizeof want, "%s: cannot open", verb);
    assert_int_equal(strncmp(err.msg, want, strlen(want)), 0);
    assert_int_equal(rename(moved, verb), 0);
    free(verb); free(moved);
    assert_int_equal(modex_wordnet_load(&wn, "/nonexistent/wordnet", &err), -1);
    assert_non_null(strstr(err.msg, "no such folder"));

    /* Malformed lines, each reported with its line number. */
    char line[1024];
    int dog = syn_index("dog");
    data_line(line, sizeof line, dog);
    line[7] = line[7] == '9' ? '8' : '9'; /* an offset that is not the line's */
    load_with("data.noun", (int)line_of[dog], line, "is not the line's byte offset");
    data_line(line, sizeof line, dog);
    char *bar = strstr(line, " | ");
    memmove(bar, bar + 2, strlen(bar + 2) + 1); /* no gloss separator */
    load_with("data.noun", (int)line_of[dog], line, "gloss separator");
    data_line(line, sizeof line, dog);
    memcpy(strstr(line, " 002 "), " 0x2 ", 5);
    load_with("data.noun", (int)line_of[dog], line, "bad p_cnt '0x2' (3 decimal digits)");
    data_line(line, sizeof line, dog);
    char *hyp = strstr(line, "@ ") + 2; /* a pointer to no synset */
    memcpy(hyp, "00000001", 8);
    load_with("data.noun", (int)line_of[dog], line, "no such synset");
    load_with("data.verb", HEADER_LINES + 1, "garbage\n", "bad synset offset 'garbage'");
    load_with("index.noun", HEADER_LINES + 1, "animal n x 0 1 0 00000000\n", "bad synset_cnt 'x'");
    load_with("index.noun", HEADER_LINES + 2, "bank n 1 0 1 0 00000007  \n", "is not in data.noun");
    load_with("index.noun", HEADER_LINES + 1, "animal n 1 0 1 0\n", "line ends before the synset_offset");
    load_with("verb.exc", 2, "ran\n", "exception");
    /* An index with no lemma lines (only its license header). */
    char *adv = modex_path_join(dir, "index.adv");
    size_t n;
    char *orig = modex_read_text(adv, &n, &err);
    write_file("index.adv", HEADER);
    assert_int_equal(modex_wordnet_load(&wn, dir, &err), -1);
    snprintf(want, sizeof want, "%s: no lemmas", adv);
    assert_int_equal(strncmp(err.msg, want, strlen(want)), 0);
    write_file("index.adv", orig);
    free(orig); free(adv);
    /* Restored: it loads again. */
    assert_int_equal(modex_wordnet_load(&wn, dir, &err), 0);
    modex_wordnet_free(&wn);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load),      cmocka_unit_test(test_morphology),
        cmocka_unit_test(test_semantic),  cmocka_unit_test(test_knowledge),
        cmocka_unit_test(test_file),      cmocka_unit_test(test_asset),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
