/* Atomic replacement of a file (see atomic_file.h). POSIX: open with
 * O_EXCL, fsync, rename, and an fsync of the directory so that the rename
 * itself is on disk. */
#define _POSIX_C_SOURCE 200809L /* fileno, fsync */
#include "atomic_file.h"

#include "../core/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

static atomic_uint tmp_counter;

/* A regular file, or nothing yet: anything else is refused, so that a save
 * never replaces a device, a directory or a pipe. */
static int check_target(const char *fn, const char *path) {
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        cg__error(fn, "cannot write \"%s\": not a regular file", path);
        return -1;
    }
    return 0;
}

int cg__atomic_open(cg__atomic_file *a, const char *fn, const char *path) {
    a->f = NULL;
    a->path = path;
    if (check_target(fn, path) < 0) return -1;
    for (int tries = 0; tries < 100; tries++) {
        unsigned n = atomic_fetch_add(&tmp_counter, 1);
        if (snprintf(a->tmp, sizeof a->tmp, "%s.tmp-%ld-%u", path, (long)getpid(), n) >=
            (int)sizeof a->tmp) {
            cg__error(fn, "cannot write \"%s\": the path is too long", path);
            return -1;
        }
        int fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL, 0666); /* the umask applies */
        if (fd < 0 && errno == EEXIST) continue;
        if (fd < 0 || !(a->f = fdopen(fd, "wb"))) {
            cg__error(fn, "cannot open \"%s\" for writing: %s", path, strerror(errno));
            if (fd >= 0) close(fd), remove(a->tmp);
            return -1;
        }
        return 0;
    }
    cg__error(fn, "cannot open \"%s\" for writing: no free temporary name", path);
    return -1;
}

/* the rename is durable once the directory holding it is synced */
static void sync_dir(const char *path) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    int fd = open(dirname(dir), O_RDONLY);
    if (fd < 0) return;
    fsync(fd); /* best effort: some file systems refuse it on directories */
    close(fd);
}

int cg__atomic_commit(cg__atomic_file *a, const char *fn, int err) {
    if (!err && fflush(a->f) != 0) err = errno;
    if (!err && fsync(fileno(a->f)) != 0) err = errno;
    if (fclose(a->f) != 0 && !err) err = errno;
    a->f = NULL;
    if (!err && rename(a->tmp, a->path) != 0) err = errno;
    if (err) {
        remove(a->tmp);
        cg__error(fn, "cannot write \"%s\": %s", a->path, strerror(err));
        return -1;
    }
    sync_dir(a->path);
    return 0;
}

void cg__atomic_abort(cg__atomic_file *a) {
    if (a->f) fclose(a->f);
    a->f = NULL;
    remove(a->tmp);
}
