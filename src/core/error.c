/* Errors without exceptions: a thread-local last message (DESIGN.md §5). */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char err_msg[2048];
static _Thread_local bool err_set;
static atomic_int abort_mode = -1; /* -1: read CGRAD_ABORT_ON_ERROR on first use */

const char *cg_last_error(void) { return err_set ? err_msg : NULL; }

void cg_clear_error(void) {
    err_set = false;
    err_msg[0] = '\0';
}

void cg_set_abort_on_error(bool on) { abort_mode = on; }

static bool abort_on_error(void) {
    if (abort_mode < 0) {
        const char *e = getenv("CGRAD_ABORT_ON_ERROR");
        abort_mode = e && e[0] && strcmp(e, "0") != 0;
    }
    return abort_mode == 1;
}

void cg__error(const char *fn, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_msg, sizeof err_msg, fmt, ap);
    va_end(ap);
    err_set = true;
    if (abort_on_error()) {
        fprintf(stderr, "cgrad: error in %s: %s\n", fn ? fn : "?", err_msg);
        fflush(stderr);
        abort();
    }
}

void *cg__oom(const char *fn) {
    cg__error(fn, "out of memory");
    return NULL;
}

/* The public setters format into a buffer first: their arguments may be
 * cg_last_error() itself. */
static void public_error(const char *fn, const char *fmt, va_list ap) {
    char buf[sizeof err_msg];
    vsnprintf(buf, sizeof buf, fmt ? fmt : "(null)", ap);
    cg__error(fn, "%s", buf);
}

void cg_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    public_error("a custom function", fmt, ap);
    va_end(ap);
}

void cg_error_in(const char *fn, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    public_error(fn, fmt, ap);
    va_end(ap);
}
