/* registry.c — the table of subcommands, filled by MODEX_COMMAND constructors, and the
 * helpers the commands share. */
#include "modex/cli.h"
#include <stdio.h>
#include <string.h>
#include "modex/job.h"
#include "modex/model.h"
#include "modex/probe.h"
#include "modex/tokenizer.h"

#define MAX_COMMANDS 64
static const Command *commands[MAX_COMMANDS];
static int n_commands;

void modex_register_command(const Command *c) {
    if (n_commands >= MAX_COMMANDS) return;
    int i = n_commands++;
    while (i > 0 && strcmp(commands[i - 1]->name, c->name) > 0) { commands[i] = commands[i - 1]; i--; }
    commands[i] = c;
}

const Command *modex_find_command(const char *name) {
    for (int i = 0; i < n_commands; i++)
        if (strcmp(commands[i]->name, name) == 0) return commands[i];
    return NULL;
}

int modex_command_count(void) { return n_commands; }
const Command *modex_command_at(int i) { return i >= 0 && i < n_commands ? commands[i] : NULL; }

int modex_is_help(const char *a) { return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0; }

int modex_cli_open_inputs(const char *model_path, const char *probe_path, const char *tok_path, Probe *probe, Model **m,
                          Tokenizer **t) {
    Error err = {0};
    *m = NULL;
    *t = NULL;
    if (modex_probe_load(probe, probe_path, &err)) { modex_error_print(&err); return 2; }
    if (!(*m = modex_model_open(model_path, &err))) { modex_error_print(&err); modex_probe_free(probe); return 2; }
    if (!(*t = modex_tok_load(tok_path ? tok_path : model_path, &err))) {
        modex_error_print(&err);
        modex_model_free(*m);
        *m = NULL;
        modex_probe_free(probe);
        return 2;
    }
    return 0;
}

int modex_cli_run_job(JobQueue *q, Job *j) {
    JobState st = modex_job_run_cli(q, j);
    if (st == JOB_CANCELLED) {
        fprintf(stderr, "modex: interrupted; nothing written\n");
        return 130;
    }
    if (st == JOB_FAILED) {
        JobStatus js;
        modex_job_status(j, &js);
        fprintf(stderr, "modex: %s\n", js.error);
        return 2;
    }
    return 0;
}
