/* Files replaced atomically: written beside the target under a temporary
 * name, flushed to disk, then renamed over it. A reader sees the old file
 * or the new one, never a part; a failure (full disk, file-size limit,
 * crash) leaves the old file as it was and removes only the temporary. */
#ifndef CG_IO_ATOMIC_FILE_H
#define CG_IO_ATOMIC_FILE_H

#include <stdio.h>

typedef struct cg__atomic_file {
    FILE *f;          /* the temporary, open for writing */
    const char *path; /* the target */
    char tmp[4096];   /* the temporary's path: path + ".tmp-<pid>-<n>" */
} cg__atomic_file;

/* Opens a temporary beside path; -1 with an error naming fn when path is
 * not a regular file (a device, a directory) or the directory is not
 * writable. */
int cg__atomic_open(cg__atomic_file *a, const char *fn, const char *path);
/* Flushes, syncs and renames the temporary over the target; on failure
 * (err: a write error seen earlier, 0 if none) removes the temporary and
 * reports "cannot write". 0 or -1. */
int cg__atomic_commit(cg__atomic_file *a, const char *fn, int err);
/* Closes and removes the temporary; the target is untouched. */
void cg__atomic_abort(cg__atomic_file *a);

#endif
