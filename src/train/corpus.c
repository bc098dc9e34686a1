/* corpus.c — a synthetic English corpus whose sub-functions are known by construction, and
 * held-out probe sets over the same sub-functions.
 *
 * Three functions, as in the emergent-modularity papers:
 *  semantic  — word category (animal vs tool, food vs vehicle: the word is the span) and word
 *              sense of ambiguous words (bank, bat, crane, bass, mouse: natural sense = 1);
 *  knowledge — statements over fixed fact tables (capitals, animal sounds, element symbols,
 *              colours), stated plainly and judged: "Fact check: ... Verdict: true|false",
 *              a false one followed by the true statement; and yes/no questions on a class of
 *              the subject (in Europe? a mammal? a metal?);
 *  task      — sentiment of short reviews, topic of news-like lines, one-digit sums (the probe:
 *              is the sum two digits?), each ending in the word or number to continue with.
 * Judging a statement needs the subject's fact and a comparison with the stated object: with
 * the judged statements at 60 per mille each and no corrections, the 4-layer sample model's
 * verdicts stayed at chance after 3000 steps; at 90 per mille, three in four of them judged,
 * and a false one followed by the true statement, they are learnt (sample_models/README.md).
 * The parity of a sum is not learnt; the sums themselves are, so the probe asks for the sum.
 * Every fact and category is repeated many times in varied templates so that a small model
 * learns the function rather than the template. Probe rows come from another RNG stream and
 * skip texts that occur in the corpus (where the space of texts allows it); the probe's judged
 * statements come in fours whose true and false rows hold the same words (gen_fact_quad). */
#include <csv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "modex/train.h"
#include "modex/util.h"
#include "train_internal.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
typedef struct List { const char *const *v; int n; } List;
#define L(a) ((List){a, N(a)})

// --- vocabulary -----------------------------------------------------------------------
static const char *const names[] = {"Anna", "Ben", "Carla", "David", "Emma", "Felix", "Grace",
    "Hugo", "Iris", "Jack", "Lena", "Max", "Nora", "Oscar", "Paula", "Sam", "Tom", "Vera"};
static const char *const places[] = {"kitchen", "garden", "garage", "barn", "shed", "school",
    "station", "market", "library", "park", "house", "office", "road", "bridge"};
static const char *const times[] = {"in the morning", "at noon", "in the evening", "at night",
    "on Monday", "on Friday", "last week", "yesterday", "today", "after lunch"};

static const char *const animals[] = {"dog", "cat", "horse", "rabbit", "fox", "wolf", "sheep",
    "goat", "mouse", "lion", "tiger", "bear", "deer", "eagle", "owl", "frog", "duck", "cow"};
static const char *const tools[] = {"hammer", "saw", "drill", "wrench", "shovel", "ladder",
    "chisel", "rake", "axe", "screwdriver", "spanner", "pliers", "knife", "broom"};
static const char *const foods[] = {"apple", "bread", "cheese", "soup", "pizza", "rice",
    "carrot", "banana", "cake", "pasta", "salad", "orange", "egg", "sandwich"};
static const char *const vehicles[] = {"car", "bus", "truck", "bicycle", "train", "boat",
    "tram", "van", "tractor", "scooter", "plane", "motorbike", "ship", "taxi"};

/* animal-only and tool-only contexts (learning signal); %w = the word */
static const char *const animal_ctx[] = {"The %w was sleeping in the sun.",
    "The %w ate its food and ran away.", "%n fed the hungry %w.",
    "A young %w was born on the farm %t.", "The %w chased a bird across the field.",
    "%n heard the %w breathing in the dark."};
static const char *const tool_ctx[] = {"%n fixed the shelf with the %w.",
    "The %w was hanging on the wall of the workshop.", "%n used the %w to repair the fence.",
    "You need a sharp %w for this job.", "The %w was made of steel and wood.",
    "%n put the %w back in the toolbox."};
static const char *const food_ctx[] = {"%n ate the %w for dinner.", "The %w tasted fresh and sweet.",
    "%n cooked the %w %t.", "We shared a %w at the table.", "The %w was served warm on a plate."};
static const char *const vehicle_ctx[] = {"%n drove the %w to town.", "The %w stopped at the station.",
    "The %w needs fuel before the trip.", "%n parked the %w %t.", "The %w carried ten people."};
/* neutral contexts: the probe's texts; the category must come from the word itself */
static const char *const neutral_ctx[] = {"I saw %a %w near the %p.", "There was %a %w in the %p.",
    "%n found %a %w behind the %p.", "%n talked about the %w %t.", "Look at that %w over there.",
    "%n noticed %a %w next to the %p %t.", "We saw %a %w by the %p."};

// --- word senses (ambiguous words) ---------------------------------------------------------
typedef struct Sense {
    const char *word;
    const char *const *nat; int n_nat;   /* natural / living sense (label 1) */
    const char *const *art; int n_art;   /* artefact / human sense (label 0) */
} Sense;
static const char *const bank_nat[] = {"We sat on the grassy bank of the river %t.",
    "The ducks rested on the muddy bank of the stream.", "%n fished from the bank of the lake.",
    "Reeds grew along the bank where the water was shallow.",
    "The river flooded its bank after the rain.", "%n walked along the bank of the river with a dog."};
static const char *const bank_art[] = {"%n went to the bank to deposit some money.",
    "The bank gave %n a loan for a new house.", "%n opened a savings account at the bank.",
    "The bank charges a fee for every transfer.", "%n asked the bank for cash %t.",
    "The bank closed its office in the city centre."};
static const char *const bat_nat[] = {"A bat flew out of the cave at night.",
    "The bat hung upside down from the roof of the barn.", "The bat hunted insects in the dark.",
    "%n saw a small bat with brown wings.", "The bat slept in the old tree all day.",
    "A bat uses echoes to find moths at night."};
static const char *const bat_art[] = {"%n swung the bat and hit the ball.",
    "The cricket bat was made of willow.", "%n bought a new baseball bat %t.",
    "The player dropped the bat and ran to first base.", "%n held the bat tightly before the pitch.",
    "The bat cracked when it hit the fast ball."};
static const char *const crane_nat[] = {"A crane stood in the marsh on one leg.",
    "The crane spread its wings and flew over the lake.", "%n watched a crane catch a fish.",
    "The crane built a nest among the reeds.", "A flock of crane birds flew south %t.",
    "The grey crane called loudly at dawn."};
static const char *const crane_art[] = {"The crane lifted the steel beams onto the roof.",
    "%n operated the crane at the building site.", "The crane moved the heavy containers at the port.",
    "A tall crane towered over the new tower block.", "The crane lowered the concrete slab %t.",
    "Workers checked the cables of the crane before lifting."};
static const char *const bass_nat[] = {"%n caught a large bass in the lake.",
    "The bass swam slowly under the lily pads.", "We grilled the bass we caught in the river.",
    "A bass is a fish with sharp fins.", "The bass jumped out of the water to catch a fly.",
    "%n released the bass back into the pond."};
static const char *const bass_art[] = {"%n played the bass in a jazz band.",
    "The bass sounded deep and loud in the concert hall.", "%n tuned the strings of the bass.",
    "The band needs a new bass player %t.", "The bass line made everyone dance.",
    "%n turned up the bass on the speakers."};
static const char *const mouse_nat[] = {"A mouse ran across the kitchen floor.",
    "The cat caught a mouse in the barn.", "The mouse nibbled the cheese in the cellar.",
    "%n saw a tiny grey mouse in the field.", "The mouse hid in a hole in the wall.",
    "A mouse has a long tail and small ears."};
static const char *const mouse_art[] = {"%n clicked the mouse to open the file.",
    "The computer mouse needs a new battery.", "%n moved the mouse to the corner of the screen.",
    "The wireless mouse stopped working %t.", "Plug the mouse into the laptop.",
    "%n bought a mouse and a keyboard."};
static const Sense senses[] = {
    {"bank", bank_nat, N(bank_nat), bank_art, N(bank_art)},
    {"bat", bat_nat, N(bat_nat), bat_art, N(bat_art)},
    {"crane", crane_nat, N(crane_nat), crane_art, N(crane_art)},
    {"bass", bass_nat, N(bass_nat), bass_art, N(bass_art)},
    {"mouse", mouse_nat, N(mouse_nat), mouse_art, N(mouse_art)},
};

// --- facts ------------------------------------------------------------------------------
typedef struct Fact { const char *s, *o, *cls; } Fact; /* subject, object, class of subject */
static const Fact capitals[] = {{"France", "Paris", "Europe"}, {"Spain", "Madrid", "Europe"},
    {"Italy", "Rome", "Europe"}, {"Germany", "Berlin", "Europe"}, {"Japan", "Tokyo", "Asia"},
    {"Egypt", "Cairo", "Africa"}, {"Russia", "Moscow", NULL}, {"Greece", "Athens", "Europe"},
    {"Portugal", "Lisbon", "Europe"}, {"Austria", "Vienna", "Europe"}, {"Norway", "Oslo", "Europe"},
    {"Sweden", "Stockholm", "Europe"}, {"Poland", "Warsaw", "Europe"}, {"Ireland", "Dublin", "Europe"},
    {"Kenya", "Nairobi", "Africa"}, {"Peru", "Lima", "South America"}, {"Chile", "Santiago", "South America"},
    {"China", "Beijing", "Asia"}, {"India", "Delhi", "Asia"}, {"Canada", "Ottawa", "North America"},
    {"Mexico", "Mexico City", "North America"}, {"Cuba", "Havana", "North America"},
    {"Turkey", "Ankara", NULL}, {"Iran", "Tehran", "Asia"}, {"Brazil", "Brasilia", "South America"},
    {"Nigeria", "Abuja", "Africa"}, {"Thailand", "Bangkok", "Asia"}, {"Ghana", "Accra", "Africa"}};
static const Fact sounds[] = {{"dog", "woof", "mammal"}, {"cat", "meow", "mammal"},
    {"cow", "moo", "mammal"}, {"sheep", "baa", "mammal"}, {"duck", "quack", "bird"},
    {"owl", "hoot", "bird"}, {"lion", "roar", "mammal"}, {"snake", "hiss", "reptile"},
    {"horse", "neigh", "mammal"}, {"pig", "oink", "mammal"}, {"frog", "croak", "amphibian"},
    {"bee", "buzz", "insect"}, {"mouse", "squeak", "mammal"}, {"wolf", "howl", "mammal"},
    {"crow", "caw", "bird"}, {"goose", "honk", "bird"}, {"cricket", "chirp", "insect"},
    {"chicken", "cluck", "bird"}};
static const Fact elements[] = {{"gold", "Au", "metal"}, {"silver", "Ag", "metal"},
    {"iron", "Fe", "metal"}, {"copper", "Cu", "metal"}, {"oxygen", "O", "gas"},
    {"hydrogen", "H", "gas"}, {"carbon", "C", "nonmetal"}, {"sodium", "Na", "metal"},
    {"lead", "Pb", "metal"}, {"tin", "Sn", "metal"}, {"helium", "He", "gas"}, {"neon", "Ne", "gas"},
    {"zinc", "Zn", "metal"}, {"calcium", "Ca", "metal"}, {"nitrogen", "N", "gas"},
    {"argon", "Ar", "gas"}, {"chlorine", "Cl", "gas"}, {"sulfur", "S", "nonmetal"}};
static const Fact colours[] = {{"banana", "yellow", NULL}, {"grass", "green", NULL},
    {"sky", "blue", NULL}, {"snow", "white", NULL}, {"coal", "black", NULL}, {"blood", "red", NULL},
    {"carrot", "orange", NULL}, {"lemon", "yellow", NULL}, {"leaf", "green", NULL},
    {"tomato", "red", NULL}, {"milk", "white", NULL}, {"night sky", "black", NULL},
    {"ocean", "blue", NULL}, {"plum", "purple", NULL}};
/* Yes/no questions about a class of the subject: knowledge recalled in one step. */
typedef struct Attribute {
    const char *name;
    const Fact *f; int n;
    const char *cls;              /* the class asked about (label 1) */
    const char *question[3], *plain; /* %s subject, %S capitalised, %c its class, %a/%A a/an
                                        before the subject, %k a/an before the class */
} Attribute;
static const Attribute attributes[] = {
    {"in_europe", capitals, N(capitals), "Europe", {"Question: is %s in Europe? Answer:",
        "Question: does %s lie in Europe? Answer:", "Question: is %s a European country? Answer:"},
        "%s is a country in %c."},
    {"is_mammal", sounds, N(sounds), "mammal", {"Question: is %a %s a mammal? Answer:",
        "Question: is the %s a mammal? Answer:", "Question: does %a %s count as a mammal? Answer:"},
        "%A %s is %k %c."},
    {"is_metal", elements, N(elements), "metal", {"Question: is %s a metal? Answer:",
        "Question: is %s one of the metals? Answer:", "Question: would you call %s a metal? Answer:"},
        "%S is %k %c."},
};
typedef struct Relation {
    const char *name;
    const Fact *f; int n;
    const char *const tpl[4]; /* %s subject, %o object */
} Relation;
static const Relation relations[] = {
    {"capital_of", capitals, N(capitals), {"The capital of %s is %o.", "%o is the capital of %s.",
        "The capital city of %s is %o.", "In %s, the capital is %o."}},
    {"animal_sound", sounds, N(sounds), {"The sound a %s makes is %o.", "A %s says %o.",
        "The %s goes %o.", "When a %s calls, it says %o."}},
    {"element_symbol", elements, N(elements), {"The symbol for %s is %o.",
        "The chemical symbol of %s is %o.", "%o is the symbol for %s.", "In chemistry, %s is written %o."}},
    {"colour_of", colours, N(colours), {"The colour of the %s is %o.", "The %s is %o.",
        "Everyone knows the %s is %o.", "The usual colour of the %s is %o."}},
};
static const char *const verdict_pre[] = {"Fact check:", "Claim:", "Statement:", "Is this right?"};

// --- tasks ------------------------------------------------------------------------------
static const char *const items[] = {"movie", "hotel", "book", "soup", "phone", "concert", "pizza",
    "game", "service", "camera", "restaurant", "show", "trip", "jacket", "album", "room"};
static const char *const pos_adj[] = {"wonderful", "excellent", "great", "delightful", "amazing",
    "lovely", "fantastic", "superb", "charming", "brilliant", "perfect", "enjoyable"};
static const char *const neg_adj[] = {"terrible", "awful", "dreadful", "boring", "horrible",
    "disappointing", "bad", "poor", "dull", "miserable", "useless", "unpleasant"};
static const char *const review_tpl[] = {"The %i was %j.", "I found the %i %j and %k.",
    "What %a %j %i!", "Honestly, the %i felt %j.", "The %i was really %j, %k even.",
    "My friend said the %i was %j, and I agree.", "Overall the %i was %j."};
static const char *const topics[] = {"sports", "business", "science", "weather"};
static const char *const topic_subj[4][6] = {
    {"The home team", "The striker", "The coach", "The goalkeeper", "The champion", "The runner"},
    {"The company", "Investors", "The chief executive", "The retailer", "The factory", "Shareholders"},
    {"Researchers", "The telescope", "Biologists", "The laboratory", "Astronomers", "Chemists"},
    {"Heavy rain", "A cold front", "The storm", "Strong wind", "Thick fog", "Snow"}};
static const char *const topic_pred[4][6] = {
    {"scored twice in the final", "won the league title", "lost the match on penalties",
     "broke the world record in the race", "signed a new contract with the club", "reached the semi final"},
    {"reported higher profits", "cut prices to boost sales", "bought a rival firm",
     "saw its shares fall sharply", "hired two hundred workers", "opened a new store"},
    {"discovered a new planet", "measured the cells under a microscope", "tested a new vaccine",
     "published results of the experiment", "found water on the moon", "mapped a distant galaxy"},
    {"is expected to reach the coast", "closed roads in the north", "brought floods to the valley",
     "will continue until the weekend", "lowered temperatures across the country", "delayed flights at the airport"}};
static const char *const topic_tpl[] = {"%s %p %t.", "Report: %s %p.", "%s %p, officials said.",
    "Breaking: %s %p %t."};
static const char *const nums[] = {"zero", "one", "two", "three", "four", "five", "six", "seven",
    "eight", "nine"};

// --- sub-functions ------------------------------------------------------------------------
enum { SUB_ANIMAL_TOOL, SUB_FOOD_VEHICLE, SUB_SENSE0, SUB_KNOW0 = SUB_SENSE0 + N(senses),
       SUB_ATTR0 = SUB_KNOW0 + N(relations), SUB_SENTIMENT = SUB_ATTR0 + N(attributes),
       SUB_TOPIC_SPORTS, SUB_TOPIC_SCIENCE, SUB_ARITH, N_SUB };
/* corpus mix, per mille, in enum order */
static int sub_weight(int s) {
    if (s < SUB_SENSE0) return 80;
    if (s < SUB_KNOW0) return 50;
    if (s < SUB_ATTR0) return 90;     /* judged statements: the verdict is learnt late */
    if (s < SUB_SENTIMENT) return 50;
    if (s == SUB_ARITH) return 100;
    return 70;                        /* sentiment and topics are learnt quickly */
}

typedef struct Ex {
    const char *function, *sub;
    int label;
    char text[520], span[64], answer[32];
} Ex;

typedef struct Sb { char *p; size_t n, cap; } Sb;
static void sb_put(Sb *b, const char *s) {
    size_t k = strlen(s);
    if (b->n + k + 1 > b->cap) k = b->cap - b->n - 1;
    memcpy(b->p + b->n, s, k);
    b->n += k;
    b->p[b->n] = 0;
}
static const char *pick(Rng *r, List l) { return l.v[rng_int(r, l.n)]; }
static const char *article(const char *w) { return strchr("aeiouAEIOU", w[0]) ? "an" : "a"; }

/* Expands %w (word), %a (a/an for the word), %n (name), %p (place), %t (time). */
static void expand(Rng *r, char *out, size_t cap, const char *tpl, const char *w) {
    Sb b = {out, 0, cap};
    out[0] = 0;
    for (const char *c = tpl; *c; c++) {
        if (*c != '%') { char s[2] = {*c, 0}; sb_put(&b, s); continue; }
        c++;
        switch (*c) {
        case 'w': sb_put(&b, w); break;
        case 'a': sb_put(&b, article(w)); break;
        case 'n': sb_put(&b, pick(r, L(names))); break;
        case 'p': sb_put(&b, pick(r, L(places))); break;
        case 't': sb_put(&b, pick(r, L(times))); break;
        default: { char s[3] = {'%', *c, 0}; sb_put(&b, s); if (!*c) c--; }
        }
    }
}

static void with_opener(Rng *r, Ex *e, const char *tpl, const char *w);

static void gen_category(Rng *r, Ex *e, int probe, List pos, List neg, List pos_ctx, List neg_ctx) {
    const char *w = pick(r, e->label ? pos : neg);
    snprintf(e->span, sizeof e->span, "%s", w);
    int mode = probe ? 0 : rng_int(r, 4); /* 0,1 neutral, 2 specific context, 3 definition */
    if (mode <= 1) with_opener(r, e, pick(r, L(neutral_ctx)), w);
    else if (mode == 2) with_opener(r, e, pick(r, e->label ? pos_ctx : neg_ctx), w);
    else {
        const char *kind = e->sub[0] == 'a' ? (e->label ? "animal" : "tool") : (e->label ? "food" : "vehicle");
        char tpl[96];
        if (rng_int(r, 2)) snprintf(tpl, sizeof tpl, "%%a %%w is a kind of %s.", kind);
        else snprintf(tpl, sizeof tpl, "The word %%w names %s %s.", article(kind), kind);
        expand(r, e->text, sizeof e->text, tpl, w);
        if (e->text[0] == 'a') e->text[0] = 'A';
    }
}

/* Opening words put before a sentence, for variety that carries no label. */
static const char *const openers[] = {"", "", "", "Yesterday, ", "Later that day, ", "I think ",
    "%n said that ", "In the story, ", "As usual, ", "Suddenly, ", "My friend told me that ",
    "Once again, "};

/* text = an opener + the sentence (its first article lowercased after an opener). */
static void with_opener(Rng *r, Ex *e, const char *tpl, const char *w) {
    char op[96], body[400];
    expand(r, op, sizeof op, pick(r, L(openers)), w);
    expand(r, body, sizeof body, tpl, w);
    if (op[0] && (!strncmp(body, "The ", 4) || !strncmp(body, "A ", 2) || !strncmp(body, "An ", 3) ||
                  !strncmp(body, "There ", 6) || !strncmp(body, "We ", 3) || !strncmp(body, "My ", 3)))
        body[0] = (char)(body[0] - 'A' + 'a');
    snprintf(e->text, sizeof e->text, "%s%s", op, body);
}

static void gen_sense(Rng *r, Ex *e, const Sense *s) {
    const char *tpl = e->label ? s->nat[rng_int(r, s->n_nat)] : s->art[rng_int(r, s->n_art)];
    with_opener(r, e, tpl, s->word);
    snprintf(e->span, sizeof e->span, "%s", s->word);
}

static void fill_fact(char *out, size_t cap, const char *tpl, const char *s, const char *o) {
    Sb b = {out, 0, cap};
    out[0] = 0;
    for (const char *c = tpl; *c; c++) {
        if (c[0] == '%' && c[1] == 's') { sb_put(&b, s); c++; }
        else if (c[0] == '%' && c[1] == 'o') { sb_put(&b, o); c++; }
        else { char t[2] = {*c, 0}; sb_put(&b, t); }
    }
    if (out[0] >= 'a' && out[0] <= 'z') out[0] = (char)(out[0] - 'a' + 'A');
    if (out[0] == 'A' && out[1] == ' ' && strchr("aeiou", out[2]) && b.n + 1 < cap) {
        memmove(out + 2, out + 1, b.n); /* "A owl" -> "An owl" */
        out[1] = 'n';
    }
}

static void gen_fact(Rng *r, Ex *e, int probe, const Relation *rel) {
    int i = rng_int(r, rel->n);
    const char *o = rel->f[i].o;
    if (!e->label) { /* a wrong object: another fact's, different text */
        do o = rel->f[rng_int(r, rel->n)].o; while (strcmp(o, rel->f[i].o) == 0);
    }
    char st[256];
    fill_fact(st, sizeof st, rel->tpl[rng_int(r, 4)], rel->f[i].s, o);
    snprintf(e->span, sizeof e->span, "%s", o);
    if (!probe && rng_int(r, 4) == 0) { /* plain statements are always true */
        fill_fact(st, sizeof st, rel->tpl[rng_int(r, 4)], rel->f[i].s, rel->f[i].o);
        snprintf(e->text, sizeof e->text, "%s", st);
        e->answer[0] = 0;
        return;
    }
    snprintf(e->text, sizeof e->text, "%s %s Verdict:", pick(r, L(verdict_pre)), st);
    snprintf(e->answer, sizeof e->answer, "%s", e->label ? "true" : "false");
    if (!probe && !e->label) { /* the corpus corrects a false statement after its verdict */
        char fix[256], t[1024];
        fill_fact(fix, sizeof fix, rel->tpl[rng_int(r, 4)], rel->f[i].s, rel->f[i].o);
        snprintf(t, sizeof t, "%s false. %s", e->text, fix);
        snprintf(e->text, sizeof e->text, "%.*s", (int)sizeof e->text - 1, t);
        e->answer[0] = 0;
    }
}

/* Four probe rows of a relation that contain the same words as true and as false statements:
 * for two facts (s_i, o_i), (s_j, o_j) with different objects, "s_i o_i" and "s_j o_j" are
 * true, "s_j o_i" and "s_i o_j" false, all in one template after one prefix. Every subject and
 * every object is then as often in a true row as in a false one, so a neuron that only
 * responds to which words are present scores AP 0.5 at best on average over such rows; with
 * independently drawn rows (60 per sub-function) a random network's best neuron reached AP
 * 0.70-0.80 on word identity alone, higher than the trained model's truth-sensitive
 * neurons. Rows alternate true, false, as for the other sub-functions; a row count that is
 * not a multiple of 4 ends in the first two rows of a four (the same object in both). */
static void gen_fact_quad(Rng *r, const Relation *rel, const char *sub, Ex q[4]) {
    int i = rng_int(r, rel->n), j;
    do j = rng_int(r, rel->n); while (strcmp(rel->f[i].o, rel->f[j].o) == 0);
    const char *tpl = rel->tpl[rng_int(r, 4)], *pre = pick(r, L(verdict_pre));
    const int subj[4] = {i, j, j, i}, obj[4] = {i, i, j, j};
    for (int k = 0; k < 4; k++) {
        Ex *e = &q[k];
        memset(e, 0, sizeof *e);
        e->function = "knowledge";
        e->sub = sub;
        e->label = subj[k] == obj[k];
        char st[256];
        fill_fact(st, sizeof st, tpl, rel->f[subj[k]].s, rel->f[obj[k]].o);
        snprintf(e->text, sizeof e->text, "%s %s Verdict:", pre, st);
        snprintf(e->span, sizeof e->span, "%s", rel->f[obj[k]].o);
        snprintf(e->answer, sizeof e->answer, "%s", e->label ? "true" : "false");
    }
}

static void gen_attr(Rng *r, Ex *e, int probe, const Attribute *at) {
    const Fact *f;
    do f = &at->f[rng_int(r, at->n)];
    while (!f->cls || (strcmp(f->cls, at->cls) == 0) != e->label);
    int plain = !probe && rng_int(r, 3) == 0; /* true statements of the class */
    const char *tpl = plain ? at->plain : at->question[rng_int(r, 3)];
    char *o = e->text;
    size_t cap = sizeof e->text, n = 0;
    o[0] = 0;
    for (const char *c = tpl; *c && n + 64 < cap; c++) {
        if (*c != '%') { o[n++] = *c; o[n] = 0; continue; }
        c++;
        const char *put = *c == 's' ? f->s : *c == 'c' ? f->cls : *c == 'a' ? article(f->s)
                        : *c == 'k' ? article(f->cls) : *c == 'A' ? (article(f->s)[1] ? "An" : "A") : "";
        if (*c == 'S') { n += (size_t)snprintf(o + n, cap - n, "%c%s", f->s[0] - 'a' + 'A', f->s + 1); continue; }
        n += (size_t)snprintf(o + n, cap - n, "%s", put);
    }
    snprintf(e->span, sizeof e->span, "%s", f->s);
    if (plain) e->answer[0] = 0;
    else snprintf(e->answer, sizeof e->answer, "%s", e->label ? "yes" : "no");
}

static void gen_review(Rng *r, Ex *e) {
    List adj = e->label ? L(pos_adj) : L(neg_adj);
    const char *item = pick(r, L(items)), *j = pick(r, adj), *k = pick(r, adj);
    while (k == j) k = pick(r, adj);
    const char *tpl = pick(r, L(review_tpl));
    char body[256];
    Sb b = {body, 0, sizeof body};
    body[0] = 0;
    for (const char *c = tpl; *c; c++) {
        if (*c != '%') { char s[2] = {*c, 0}; sb_put(&b, s); continue; }
        c++;
        sb_put(&b, *c == 'i' ? item : *c == 'j' ? j : *c == 'k' ? k : article(j));
    }
    snprintf(e->text, sizeof e->text, "Review: %s Sentiment:", body);
    snprintf(e->span, sizeof e->span, "%s", j);
    snprintf(e->answer, sizeof e->answer, "%s", e->label ? "positive" : "negative");
}

static void gen_topic(Rng *r, Ex *e, int topic) {
    const char *tpl = pick(r, L(topic_tpl));
    char body[256];
    Sb b = {body, 0, sizeof body};
    body[0] = 0;
    for (const char *c = tpl; *c; c++) {
        if (*c != '%') { char s[2] = {*c, 0}; sb_put(&b, s); continue; }
        c++;
        if (*c == 's') sb_put(&b, topic_subj[topic][rng_int(r, 6)]);
        else if (*c == 'p') sb_put(&b, topic_pred[topic][rng_int(r, 6)]);
        else sb_put(&b, pick(r, L(times)));
    }
    static const char *const where[] = {"", "", "", "In the north, ", "Overnight, ", "This morning, ",
        "According to reports, ", "Once again, ", "In the capital, ", "Late on Sunday, "};
    const char *pre = pick(r, L(where));
    if (pre[0] && !strncmp(body, "The ", 4)) body[0] = 't';
    if (!strncmp(body, "Report: ", 8) || !strncmp(body, "Breaking: ", 10)) pre = "";
    snprintf(e->text, sizeof e->text, "News: %s%s Topic:", pre, body);
    snprintf(e->answer, sizeof e->answer, "%s", topics[topic]);
}

static void gen_arith(Rng *r, Ex *e, int probe) {
    int a = rng_int(r, 10), b = rng_int(r, 10), minus = rng_int(r, 2);
    if (minus && b > a) { int t = a; a = b; b = t; }
    int c = minus ? a - b : a + b, shown = c;
    const char *op = minus ? "minus" : "plus";
    int mode = probe ? 0 : rng_int(r, 4); /* 0, 3: parity questions */
    if (probe) { /* the probe: a sum to continue; label 1 when it has two digits (a carry) */
        do { a = rng_int(r, 10); b = rng_int(r, 10); } while ((a + b >= 10) != e->label);
        snprintf(e->text, sizeof e->text, "Question: what is %d plus %d? Answer:", a, b);
        snprintf(e->answer, sizeof e->answer, "%d", a + b);
        return;
    }
    if (mode == 1) { /* plain worked sums, digits or words */
        if (rng_int(r, 2)) snprintf(e->text, sizeof e->text, "%d %s %d is %d.", a, op, b, c);
        else snprintf(e->text, sizeof e->text, "%s %s %s is %d.", nums[a], op, nums[b], c);
        e->text[0] = (char)(e->text[0] >= 'a' ? e->text[0] - 'a' + 'A' : e->text[0]);
        e->answer[0] = 0;
        return;
    }
    if (mode == 2) {
        snprintf(e->text, sizeof e->text, "Question: what is %d %s %d? Answer:", a, op, b);
        snprintf(e->answer, sizeof e->answer, "%d", c);
        return;
    }
    /* the probe's binary question: is the result even (label 1)? */
    while ((c % 2 == 0) != e->label) {
        a = rng_int(r, 10); b = rng_int(r, 10);
        if (minus && b > a) { int t = a; a = b; b = t; }
        c = minus ? a - b : a + b;
    }
    (void)shown;
    snprintf(e->text, sizeof e->text, "Question: is %d %s %d even or odd? Answer:", a, op, b);
    snprintf(e->answer, sizeof e->answer, "%s", e->label ? "even" : "odd");
}

/* One example of sub-function s with the given label (-1: random). */
static void gen(Rng *r, int s, int label, int probe, Ex *e) {
    memset(e, 0, sizeof *e);
    e->label = label >= 0 ? label : rng_int(r, 2);
    if (s == SUB_ANIMAL_TOOL) {
        e->function = "semantic"; e->sub = "animal_vs_tool";
        gen_category(r, e, probe, L(animals), L(tools), L(animal_ctx), L(tool_ctx));
    } else if (s == SUB_FOOD_VEHICLE) {
        e->function = "semantic"; e->sub = "food_vs_vehicle";
        gen_category(r, e, probe, L(foods), L(vehicles), L(food_ctx), L(vehicle_ctx));
    } else if (s < SUB_KNOW0) {
        static char subname[N(senses)][32];
        const Sense *sn = &senses[s - SUB_SENSE0];
        snprintf(subname[s - SUB_SENSE0], 32, "sense_%s", sn->word);
        e->function = "semantic"; e->sub = subname[s - SUB_SENSE0];
        gen_sense(r, e, sn);
    } else if (s >= SUB_ATTR0 && s < SUB_SENTIMENT) {
        const Attribute *at = &attributes[s - SUB_ATTR0];
        e->function = "knowledge"; e->sub = at->name;
        gen_attr(r, e, probe, at);
    } else if (s < SUB_SENTIMENT) {
        const Relation *rel = &relations[s - SUB_KNOW0];
        e->function = "knowledge"; e->sub = rel->name;
        gen_fact(r, e, probe, rel);
    } else if (s == SUB_SENTIMENT) {
        e->function = "task"; e->sub = "sentiment";
        gen_review(r, e);
    } else if (s == SUB_TOPIC_SPORTS || s == SUB_TOPIC_SCIENCE) {
        int want = s == SUB_TOPIC_SPORTS ? 0 : 2, t = want;
        if (!e->label) do t = rng_int(r, 4); while (t == want);
        e->function = "task"; e->sub = s == SUB_TOPIC_SPORTS ? "topic_sports" : "topic_science";
        gen_topic(r, e, t);
    } else {
        e->function = "task"; e->sub = "sum_carry";
        gen_arith(r, e, probe);
    }
}

static void line_of(const Ex *e, char *out, size_t cap) {
    if (e->answer[0]) snprintf(out, cap, "%s %s", e->text, e->answer);
    else snprintf(out, cap, "%s", e->text);
}

// --- a set of 64-bit hashes (held-out check) --------------------------------------------------
typedef struct HSet { uint64_t *v; size_t cap, n; } HSet;
static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h | 1; /* 0 marks an empty slot */
}
static int hset_add(HSet *h, uint64_t k) { /* 1 if newly added */
    if (2 * (h->n + 1) > h->cap) {
        HSet g = {modex_xcalloc(h->cap ? h->cap * 2 : 1024, 8), h->cap ? h->cap * 2 : 1024, 0};
        for (size_t i = 0; i < h->cap; i++) if (h->v[i]) hset_add(&g, h->v[i]);
        free(h->v);
        *h = g;
    }
    size_t i = k & (h->cap - 1);
    while (h->v[i]) { if (h->v[i] == k) return 0; i = (i + 1) & (h->cap - 1); }
    h->v[i] = k;
    h->n++;
    return 1;
}
static int hset_has(const HSet *h, uint64_t k) {
    if (!h->cap) return 0;
    size_t i = k & (h->cap - 1);
    while (h->v[i]) { if (h->v[i] == k) return 1; i = (i + 1) & (h->cap - 1); }
    return 0;
}

// --- writers ------------------------------------------------------------------------------
static int put_field(FILE *f, const char *s, int last) {
    if (csv_fwrite(f, s, strlen(s)) != 0) return -1;
    return fputc(last ? '\n' : ',', f) == EOF ? -1 : 0;
}

int modex_corpus_write(const char *path, const char *probe_path, uint64_t seed, long n_lines,
                       int per_sub, int force, Error *err) {
    if (n_lines < 1) return modex_error(err, path, "--lines must be at least 1");
    int cum[N_SUB], tot = 0;
    for (int s = 0; s < N_SUB; s++) cum[s] = (tot += sub_weight(s));
    HSet seen = {0};
    Rng r;
    rng_seed(&r, seed);
    Ex e;
    char line[640];
    if (path) {
        OutFile o;
        if (modex_out_open(&o, path, force, err)) return -1;
        for (long i = 0; i < n_lines; i++) {
            int x = rng_int(&r, tot), s = 0;
            while (cum[s] <= x) s++;
            gen(&r, s, -1, 0, &e);
            line_of(&e, line, sizeof line);
            if (probe_path) hset_add(&seen, hash_str(line));
            fputs(line, o.f);
            fputc('\n', o.f);
        }
        if (modex_out_commit(&o, err)) { free(seen.v); return -1; }
    }
    if (probe_path) {
        OutFile o;
        if (modex_out_open(&o, probe_path, force, err)) { free(seen.v); return -1; }
        fputs("text,function,subfunction,label,span,answer\n", o.f);
        rng_seed(&r, seed ^ 0x5eed0fc0ffee1234ULL); /* another stream: held-out draws */
        HSet mine = {0};
        int bad = 0;
        Ex group[4];
        for (int s = 0; s < N_SUB && !bad; s++)
            for (int k = 0; k < per_sub && !bad; k++) {
                /* rows are drawn in groups: judged statements four at a time (gen_fact_quad),
                 * the others one at a time. Prefer texts unseen in the corpus and in the probe;
                 * small spaces (facts) cannot avoid repeats, so give up after some tries. */
                int judged = s >= SUB_KNOW0 && s < SUB_ATTR0, n_group = judged ? 4 : 1;
                if (k % n_group == 0)
                    for (int tries = 0;; tries++) {
                        if (judged) gen_fact_quad(&r, &relations[s - SUB_KNOW0], relations[s - SUB_KNOW0].name, group);
                        else gen(&r, s, k & 1 ? 0 : 1, 1, &group[0]);
                        int in_corpus = 0, in_probe = 0;
                        for (int q = 0; q < n_group; q++) {
                            line_of(&group[q], line, sizeof line);
                            in_corpus |= hset_has(&seen, hash_str(line));
                            in_probe |= hset_has(&mine, hash_str(group[q].text));
                        }
                        if (tries < 200 && (in_corpus || in_probe)) continue;
                        if (tries < 400 && in_probe) continue;
                        for (int q = 0; q < n_group; q++) hset_add(&mine, hash_str(group[q].text));
                        break;
                    }
                e = group[k % n_group];
                char lab[2] = {(char)('0' + e.label), 0}, ans[40] = "";
                /* the answer is appended to the text byte-exact (probe format): the corpus
                 * puts one space between them, so the field carries it */
                if (e.answer[0]) snprintf(ans, sizeof ans, " %s", e.answer);
                bad = put_field(o.f, e.text, 0) || put_field(o.f, e.function, 0) ||
                      put_field(o.f, e.sub, 0) || put_field(o.f, lab, 0) ||
                      put_field(o.f, e.span, 0) || put_field(o.f, ans, 1);
            }
        free(mine.v);
        if (bad) {
            modex_error(err, probe_path, "write failed (space on the device)");
            modex_out_abort(&o);
            free(seen.v);
            return -1;
        }
        if (modex_out_commit(&o, err)) { free(seen.v); return -1; }
    }
    free(seen.v);
    return 0;
}
