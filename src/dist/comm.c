/* The MPI calls behind src/dist (see comm.h), or a world of one process. */
#include "comm.h"

#include "../core/internal.h"

#include <limits.h>
#include <stdlib.h>

static bool ready;

int cg__comm_launched(const char **var) {
    /* what Open MPI, MPICH/Hydra, PMIx and Slurm tell a process they start */
    static const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "SLURM_NTASKS"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        if (v && atoi(v) > 0) {
            if (var) *var = vars[i];
            return atoi(v);
        }
    }
    return 0;
}

bool cg__comm_ready(void) { return ready; }

#ifdef CG_HAVE_MPI

static bool we_initialised; /* MPI_Init was ours, so MPI_Finalize is too */

static MPI_Datatype mpi_type(cg_dtype dt) {
    return dt == CG_FLOAT32 ? MPI_FLOAT : dt == CG_FLOAT64 ? MPI_DOUBLE : MPI_INT64_T;
}

/* 0, or -1 with an error naming the MPI call that failed */
static int check(const char *call, int rc) {
    if (rc == MPI_SUCCESS) return 0;
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    cg__error(call, "%s", msg);
    return -1;
}

int cg__comm_init(int *argc, char ***argv) {
    int inited = 0, finalized = 0;
    MPI_Initialized(&inited);
    MPI_Finalized(&finalized);
    if (finalized) {
        cg__error("cg_dist_init", "MPI was already finalized");
        return -1;
    }
    if (!inited) {
        int provided; /* MPI calls come from the thread that runs backward */
        if (check("MPI_Init_thread", MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided)) <
            0)
            return -1;
        we_initialised = true;
    }
    ready = true;
    return 0;
}

int cg__comm_finalize(void) {
    if (!ready) return 0;
    ready = false;
    if (!we_initialised) return 0;
    we_initialised = false;
    return check("MPI_Finalize", MPI_Finalize());
}

int cg__comm_rank(void) {
    int r = 0;
    if (ready) MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

int cg__comm_size(void) {
    int n = 1;
    if (ready) MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
}

int cg__comm_barrier(void) { return ready ? check("MPI_Barrier", MPI_Barrier(MPI_COMM_WORLD)) : 0; }

#define CHUNK ((int64_t)1 << 30) /* elements per call: MPI counts are int */

int cg__comm_allreduce(void *buf, int64_t n, cg_dtype dt, cg__comm_op op) {
    if (!ready) return 0;
    size_t es = cg__esize(dt);
    for (int64_t i = 0; i < n; i += CHUNK) {
        int c = (int)(n - i < CHUNK ? n - i : CHUNK);
        if (check("MPI_Allreduce",
                  MPI_Allreduce(MPI_IN_PLACE, (char *)buf + (size_t)i * es, c, mpi_type(dt),
                                op == CG__COMM_SUM ? MPI_SUM : MPI_MAX, MPI_COMM_WORLD)) < 0)
            return -1;
    }
    return 0;
}

int cg__comm_bcast(void *buf, int64_t n, cg_dtype dt, int root) {
    if (!ready) return 0;
    size_t es = cg__esize(dt);
    for (int64_t i = 0; i < n; i += CHUNK) {
        int c = (int)(n - i < CHUNK ? n - i : CHUNK);
        if (check("MPI_Bcast", MPI_Bcast((char *)buf + (size_t)i * es, c, mpi_type(dt), root,
                                         MPI_COMM_WORLD)) < 0)
            return -1;
    }
    return 0;
}

int cg__comm_iallreduce_sum(void *buf, int64_t n, cg_dtype dt, cg__req *r) {
    *r = MPI_REQUEST_NULL;
    if (!ready) return 0;
    return check("MPI_Iallreduce", MPI_Iallreduce(MPI_IN_PLACE, buf, (int)n, mpi_type(dt), MPI_SUM,
                                                  MPI_COMM_WORLD, r));
}

int cg__comm_ireduce_scatter_sum(const void *send, void *recv, int64_t chunk, cg_dtype dt,
                                 cg__req *r) {
    *r = MPI_REQUEST_NULL;
    if (!ready) {
        memcpy(recv, send, (size_t)chunk * cg__esize(dt));
        return 0;
    }
    return check("MPI_Ireduce_scatter_block",
                 MPI_Ireduce_scatter_block(send, recv, (int)chunk, mpi_type(dt), MPI_SUM,
                                           MPI_COMM_WORLD, r));
}

int cg__comm_iallgather(void *buf, int64_t chunk, cg_dtype dt, cg__req *r) {
    *r = MPI_REQUEST_NULL;
    if (!ready) return 0;
    return check("MPI_Iallgather", MPI_Iallgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf,
                                                  (int)chunk, mpi_type(dt), MPI_COMM_WORLD, r));
}

int cg__comm_wait(cg__req *r) {
    if (!ready || *r == MPI_REQUEST_NULL) return 0;
    return check("MPI_Wait", MPI_Wait(r, MPI_STATUS_IGNORE));
}

void cg__comm_poke(cg__req *r) {
    int done;
    if (ready && *r != MPI_REQUEST_NULL) MPI_Test(r, &done, MPI_STATUS_IGNORE);
}

_Noreturn void cg__comm_abort(int code) {
    fflush(stdout);
    fflush(stderr);
    if (ready) MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);
}

#else /* a world of one process */

int cg__comm_init(int *argc, char ***argv) {
    (void)argc, (void)argv;
    const char *var;
    int n = cg__comm_launched(&var);
    if (n > 1) {
        cg__error("cg_dist_init",
                  "cgrad was built without MPI, so it cannot run as one of %d processes "
                  "(%s=%s); rebuild it with MPI (libopenmpi-dev) or run one process",
                  n, var, getenv(var));
        return -1;
    }
    ready = true;
    return 0;
}

int cg__comm_finalize(void) {
    ready = false;
    return 0;
}

int cg__comm_rank(void) { return 0; }
int cg__comm_size(void) { return 1; }
int cg__comm_barrier(void) { return 0; }

int cg__comm_allreduce(void *buf, int64_t n, cg_dtype dt, cg__comm_op op) {
    (void)buf, (void)n, (void)dt, (void)op;
    return 0;
}

int cg__comm_bcast(void *buf, int64_t n, cg_dtype dt, int root) {
    (void)buf, (void)n, (void)dt, (void)root;
    return 0;
}

int cg__comm_iallreduce_sum(void *buf, int64_t n, cg_dtype dt, cg__req *r) {
    (void)buf, (void)n, (void)dt;
    *r = 0;
    return 0;
}

int cg__comm_ireduce_scatter_sum(const void *send, void *recv, int64_t chunk, cg_dtype dt,
                                 cg__req *r) {
    memcpy(recv, send, (size_t)chunk * cg__esize(dt));
    *r = 0;
    return 0;
}

int cg__comm_iallgather(void *buf, int64_t chunk, cg_dtype dt, cg__req *r) {
    (void)buf, (void)chunk, (void)dt;
    *r = 0;
    return 0;
}

int cg__comm_wait(cg__req *r) {
    (void)r;
    return 0;
}

void cg__comm_poke(cg__req *r) { CG_UNUSED(r); }

_Noreturn void cg__comm_abort(int code) {
    fflush(stdout);
    fflush(stderr);
    exit(code);
}

#endif
