/* util.c — mapped files, atomic output, half floats, small parsers. */
#include "modex/util.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void *modex_xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) { fprintf(stderr, "modex: out of memory (%zu bytes)\n", n); abort(); }
    return p;
}
void *modex_xcalloc(size_t n, size_t s) {
    void *p = calloc(n ? n : 1, s ? s : 1);
    if (!p) { fprintf(stderr, "modex: out of memory (%zu x %zu bytes)\n", n, s); abort(); }
    return p;
}
void *modex_xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) { fprintf(stderr, "modex: out of memory (%zu bytes)\n", n); abort(); }
    return q;
}
char *modex_xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = modex_xmalloc(n);
    memcpy(p, s, n);
    return p;
}

// --- mapped files ---------------------------------------------------------------------

int modex_map_file(MappedFile *m, const char *path, Error *err) {
    memset(m, 0, sizeof *m);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return modex_error(err, path, "cannot open: %s (a readable file)", strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return modex_error(err, path, "not a regular file (a model or data file)");
    }
    m->size = (size_t)st.st_size;
    if (m->size > 0 && m->size <= modex_map_copy_max()) {
        /* small file: read into anonymous pages (page-aligned, unmapped alike), so that a
         * truncation by someone else cannot fault us later */
        void *p = mmap(NULL, m->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            close(fd);
            return modex_error(err, path, "cannot allocate %zu bytes for it: %s", m->size, strerror(errno));
        }
        size_t got = 0;
        while (got < m->size) {
            ssize_t r = read(fd, (char *)p + got, m->size - got);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) {
                int e = errno;
                munmap(p, m->size);
                close(fd);
                return modex_error(err, path, "read failed after %zu of %zu bytes: %s", got, m->size,
                                   r < 0 ? strerror(e) : "file shrank while being read");
            }
            got += (size_t)r;
        }
        mprotect(p, m->size, PROT_READ);
        m->data = p;
    } else if (m->size > 0) {
        void *p = mmap(NULL, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            close(fd);
            return modex_error(err, path, "cannot map: %s", strerror(errno));
        }
        m->data = p;
        modex_map_register(m->data, m->size, path);
    }
    close(fd);
    m->path = modex_xstrdup(path);
    return 0;
}

void modex_unmap_file(MappedFile *m) {
    if (m->data) { modex_map_unregister(m->data); munmap((void *)m->data, m->size); }
    free(m->path);
    memset(m, 0, sizeof *m);
}

char *modex_read_text(const char *path, size_t *len, Error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) { modex_error(err, path, "cannot open: %s", strerror(errno)); return NULL; }
    size_t cap = 1 << 16, n = 0;
    char *buf = modex_xmalloc(cap);
    for (;;) {
        if (n + 1 >= cap) buf = modex_xrealloc(buf, cap *= 2);
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) { free(buf); modex_error(err, path, "read error"); return NULL; }
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

// --- atomic output --------------------------------------------------------------------

int modex_file_exists(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

int modex_path_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

char *modex_path_join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *p = modex_xmalloc(a + b + 2);
    memcpy(p, dir, a);
    size_t k = a;
    if (a && dir[a - 1] != '/') p[k++] = '/';
    memcpy(p + k, name, b + 1);
    return p;
}

int modex_out_open(OutFile *o, const char *path, int force, Error *err) {
    memset(o, 0, sizeof *o);
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) return modex_error(err, path, "is a folder (a file name to write)");
        if (!S_ISREG(st.st_mode)) return modex_error(err, path, "not a regular file (a new file name to write)");
        if (!force) return modex_error(err, path, "already exists (a new name, or --force to overwrite)");
    }
    size_t n = strlen(path);
    o->tmp = modex_xmalloc(n + 16);
    snprintf(o->tmp, n + 16, "%s.XXXXXX", path);
    int fd = mkstemp(o->tmp);
    if (fd < 0) {
        int e = errno;
        free(o->tmp); o->tmp = NULL;
        return modex_error(err, path, "cannot create: %s (a writable folder)", strerror(e));
    }
    modex_tmp_register(o->tmp);
    fchmod(fd, 0644);
    o->f = fdopen(fd, "wb");
    if (!o->f) {
        close(fd); modex_tmp_unregister(o->tmp); unlink(o->tmp); free(o->tmp); o->tmp = NULL;
        return modex_error(err, path, "cannot open for writing");
    }
    o->path = modex_xstrdup(path);
    return 0;
}

void modex_out_abort(OutFile *o) {
    if (o->f) fclose(o->f);
    if (o->tmp) { unlink(o->tmp); modex_tmp_unregister(o->tmp); free(o->tmp); }
    free(o->path);
    memset(o, 0, sizeof *o);
}

int modex_out_commit(OutFile *o, Error *err) {
    int bad = fflush(o->f) != 0 || ferror(o->f) || fsync(fileno(o->f)) != 0;
    int e = errno;
    if (fclose(o->f) != 0 && !bad) { bad = 1; e = errno; }
    o->f = NULL;
    if (bad) {
        modex_error(err, o->path, "write failed: %s (space on the device)", strerror(e));
        modex_out_abort(o);
        return -1;
    }
    if (rename(o->tmp, o->path) != 0) {
        modex_error(err, o->path, "cannot rename into place: %s", strerror(errno));
        modex_out_abort(o);
        return -1;
    }
    modex_tmp_unregister(o->tmp);
    free(o->tmp); free(o->path);
    memset(o, 0, sizeof *o);
    return 0;
}

int modex_write_file(const char *path, const void *buf, size_t n, int force, Error *err) {
    OutFile o;
    if (modex_out_open(&o, path, force, err)) return -1;
    if (n && fwrite(buf, 1, n, o.f) != n) {
        modex_error(err, path, "write failed: %s (space on the device)", strerror(errno));
        modex_out_abort(&o);
        return -1;
    }
    return modex_out_commit(&o, err);
}

// --- half floats ----------------------------------------------------------------------

float modex_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) bits = sign;
        else { /* subnormal */
            int e = -1;
            do { e++; man <<= 1; } while (!(man & 0x400));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
        }
    } else if (exp == 31) bits = sign | 0x7f800000u | (man << 13);
    else bits = sign | ((exp + 112) << 23) | (man << 13);
    float f; memcpy(&f, &bits, 4); return f;
}

float modex_bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f; memcpy(&f, &bits, 4); return f;
}

uint16_t modex_f32_to_bf16(float f) {
    uint32_t b; memcpy(&b, &f, 4);
    if ((b & 0x7fffffff) > 0x7f800000) return (uint16_t)((b >> 16) | 0x40); /* NaN */
    b += 0x7fff + ((b >> 16) & 1);
    return (uint16_t)(b >> 16);
}

uint16_t modex_f32_to_f16(float f) {
    uint32_t b; memcpy(&b, &f, 4);
    uint32_t sign = (b >> 16) & 0x8000;
    int32_t exp = (int32_t)((b >> 23) & 0xff) - 127 + 15;
    uint32_t man = b & 0x7fffff;
    if (((b >> 23) & 0xff) == 0xff) return (uint16_t)(sign | 0x7c00 | (man ? 0x200 : 0));
    if (exp >= 31) return (uint16_t)(sign | 0x7c00);
    if (exp <= 0) {
        if (exp < -10) return (uint16_t)sign;
        man |= 0x800000;
        uint32_t shift = (uint32_t)(14 - exp);
        uint32_t h = man >> shift, rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (h & 1))) h++;
        return (uint16_t)(sign | h);
    }
    uint32_t h = (uint32_t)(exp << 10) | (man >> 13), rem = man & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

double modex_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// --- parsers --------------------------------------------------------------------------

int modex_parse_ranges(const char *s, int n, unsigned char *mask) {
    memset(mask, 0, (size_t)n);
    const char *p = s;
    while (*p) {
        char *end;
        long a = strtol(p, &end, 10);
        if (end == p || a < 0 || a >= n) return -1;
        long b = a;
        p = end;
        if (*p == '-') {
            b = strtol(p + 1, &end, 10);
            if (end == p + 1 || b < a || b >= n) return -1;
            p = end;
        }
        for (long i = a; i <= b; i++) mask[i] = 1;
        if (*p == ',') p++;
        else if (*p) return -1;
    }
    return 0;
}

int modex_parse_ints(const char *s, int64_t **out) {
    int cap = 16, n = 0;
    int64_t *v = modex_xmalloc(sizeof *v * (size_t)cap);
    const char *p = s;
    while (*p) {
        while (*p == ',' || *p == ' ' || *p == '\t' || *p == '\n') p++;
        if (!*p) break;
        char *end;
        errno = 0;
        long long x = strtoll(p, &end, 10);
        if (end == p || errno) { free(v); return -1; }
        if (n == cap) v = modex_xrealloc(v, sizeof *v * (size_t)(cap *= 2));
        v[n++] = x;
        p = end;
        if (*p && *p != ',' && *p != ' ' && *p != '\t' && *p != '\n') { free(v); return -1; }
    }
    *out = v;
    return n;
}
