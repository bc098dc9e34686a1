/* cli.h — subcommands register themselves (one file each under src/cli/). */
#ifndef MODEX_CLI_H
#define MODEX_CLI_H

typedef int (*CommandFn)(int argc, char **argv); /* argv[0] = command name; returns exit code */

typedef struct Command {
    const char *name;
    const char *summary;   /* one line for `modex --help` */
    CommandFn fn;
} Command;

void modex_register_command(const Command *c);
const Command *modex_find_command(const char *name);
int modex_command_count(void);
const Command *modex_command_at(int i);

/* In a src/cli/cmd_NAME.c:  MODEX_COMMAND(tokenize, "text to token ids", cmd_tokenize) */
#define MODEX_COMMAND(NAME, SUMMARY, FN)                                              \
    static const Command modex_cmd_##NAME = {#NAME, SUMMARY, FN};                    \
    __attribute__((constructor)) static void modex_reg_##NAME(void) {                 \
        modex_register_command(&modex_cmd_##NAME);                                    \
    }

#define MODEX_VERSION "0.1.0"

/* Helpers shared by the commands. Returns 1 if argv[i] is --help / -h. */
int modex_is_help(const char *a);

/* Opens the probe CSV, the model and its tokenizer (tok_path, else the one beside the model).
 * 0 with all three open; else prints the one-line error, closes what was opened, returns 2. */
struct Probe;
struct Model;
struct Tokenizer;
/* Runs a queued job in the foreground (progress bar on a terminal, ^C cancels): 0 when it
 * finished, 130 when interrupted ("nothing written" printed), 2 when it failed (its error
 * printed). */
struct JobQueue;
struct Job;
int modex_cli_run_job(struct JobQueue *q, struct Job *j);
int modex_cli_open_inputs(const char *model_path, const char *probe_path, const char *tok_path, struct Probe *probe,
                          struct Model **m, struct Tokenizer **t);

#endif
