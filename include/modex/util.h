/* util.h — small shared helpers: mapped files, atomic output files, half floats, timing. */
#ifndef MODEX_UTIL_H
#define MODEX_UTIL_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "modex/error.h"

/* --- read-only file map ------------------------------------------------------------ */
typedef struct MappedFile {
    char *path;
    const uint8_t *data; /* NULL for an empty file */
    size_t size;
} MappedFile;
int  modex_map_file(MappedFile *m, const char *path, Error *err);
void modex_unmap_file(MappedFile *m);
/* Whole text file into a NUL-terminated malloc'd buffer (len optional). */
char *modex_read_text(const char *path, size_t *len, Error *err);

/* --- atomic output: write to a temp file beside the target, then rename --------------- */
typedef struct OutFile {
    FILE *f;
    char *path;     /* final name */
    char *tmp;      /* temp name, removed on abort */
} OutFile;
/* Refuses an existing target unless force. */
int  modex_out_open(OutFile *o, const char *path, int force, Error *err);
int  modex_out_commit(OutFile *o, Error *err); /* fflush+fsync+rename; closes */
void modex_out_abort(OutFile *o);              /* closes and removes the temp file */
/* Writes a whole buffer atomically. */
int  modex_write_file(const char *path, const void *buf, size_t n, int force, Error *err);

/* --- numbers ------------------------------------------------------------------------- */
float    modex_f16_to_f32(uint16_t h);
float    modex_bf16_to_f32(uint16_t h);
uint16_t modex_f32_to_bf16(float f); /* round to nearest even */
uint16_t modex_f32_to_f16(float f);
double   modex_now(void);             /* monotonic seconds */
int      modex_path_is_dir(const char *path);
char    *modex_path_join(const char *dir, const char *name); /* malloc'd */
int      modex_file_exists(const char *path);

/* Parses "0-5,8" style lists into a 0/1 mask of n entries; returns -1 on bad text. */
int modex_parse_ranges(const char *s, int n, unsigned char *mask);
/* Parses comma/space separated integers; returns count or -1. */
int modex_parse_ints(const char *s, int64_t **out);

/* --- reliability (reliability.c) ------------------------------------------------------ */
/* SIGINT/SIGTERM/SIGHUP remove the temp files of unfinished OutFiles, then call the handler
 * that was there before (e.g. ncurses' terminal restore) or end the process by the signal
 * (status 128+n); SIGBUS inside a mapped file prints one line naming the file and exits 2.
 * main() calls it for the commands, not for the explorer (its loop catches them to restore
 * the terminal; a caller after initscr() would chain to ncurses' handlers). Handlers set
 * later (a job's ^C, the explorer loop) take precedence. Ignored signals (nohup) stay ignored. */
void   modex_signals_install(void);
/* Between hold and release, SIGINT / SIGTERM / SIGHUP (whichever thread receives them) wait:
 * a multi-file output is renamed into place all or none, then the signal takes effect. */
void   modex_signals_hold(void);
void   modex_signals_release(void);
/* Files up to this size are read into memory at open instead of mapped (a copy cannot be
 * truncated under us); env MODEX_MAP_COPY_MAX (bytes) overrides the default of 64 MiB. */
size_t modex_map_copy_max(void);
/* Bytes the process may still allocate: MemAvailable capped by RLIMIT_AS less current size. */
size_t modex_mem_available(void);
/* 0 if need fits, else -1 and "FILE: WHAT needs X MiB but only Y MiB ... (HINT)". */
int    modex_mem_check(size_t need, const char *file, const char *what, const char *hint, Error *err);
/* Names the handlers remove: temp files (util.c) and folders made for an output (removed
 * only if empty). The string must stay valid until unregistered. */
void   modex_tmp_register(char *path);
void   modex_tmp_unregister(const char *path);
/* fn (async-signal-safe: write, tcsetattr) puts the terminal back before a SIGBUS from a
 * mapped file ends the process (the explorer registers it while curses owns the screen);
 * NULL removes it. */
void   modex_fatal_restore_set(void (*fn)(void));
void   modex_map_register(const uint8_t *data, size_t size, const char *path);
void   modex_map_unregister(const uint8_t *data);

#define MODEX_MIN(a, b) ((a) < (b) ? (a) : (b))
#define MODEX_MAX(a, b) ((a) > (b) ? (a) : (b))
void *modex_xmalloc(size_t n);          /* aborts with a message on failure */
void *modex_xcalloc(size_t n, size_t s);
void *modex_xrealloc(void *p, size_t n);
char *modex_xstrdup(const char *s);

#endif
