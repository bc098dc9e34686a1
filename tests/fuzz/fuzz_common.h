/* fuzz_common.h — helpers shared by the libFuzzer harnesses: a private folder in /dev/shm
 * (removed at exit) where each input is written as a file, since the readers take paths. */
#ifndef MODEX_FUZZ_COMMON_H
#define MODEX_FUZZ_COMMON_H
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

static char fuzz_dir[128];

__attribute__((unused)) static void fuzz_rmdir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) fuzz_rmdir(p);
        else unlink(p);
    }
    closedir(d);
    rmdir(dir);
}
__attribute__((unused)) static void fuzz_cleanup(void) { fuzz_rmdir(fuzz_dir); }

/* The folder of this process (created on the first call). */
__attribute__((unused)) static const char *fuzz_folder(void) {
    if (!fuzz_dir[0]) {
        snprintf(fuzz_dir, sizeof fuzz_dir, "%s/modex-fuzz-%d",
                 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (int)getpid());
        fuzz_rmdir(fuzz_dir);
        if (mkdir(fuzz_dir, 0700)) { perror(fuzz_dir); abort(); }
        atexit(fuzz_cleanup);
    }
    return fuzz_dir;
}

/* Writes n bytes to FOLDER/name; returns the path (static buffer per slot 0..3). */
__attribute__((unused)) static const char *fuzz_write(const char *name, const uint8_t *d, size_t n, int slot) {
    static char paths[4][256];
    snprintf(paths[slot], sizeof paths[slot], "%s/%s", fuzz_folder(), name);
    FILE *f = fopen(paths[slot], "wb");
    if (!f || (n && fwrite(d, 1, n, f) != n)) abort();
    fclose(f);
    return paths[slot];
}

/* The fixtures folder: $FIXTURES, else ../shared/fixtures (make runs from the repo root). */
__attribute__((unused)) static const char *fuzz_fixtures(void) {
    const char *f = getenv("FIXTURES");
    return f && *f ? f : "../shared/fixtures";
}
#endif
