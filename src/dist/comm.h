/* The MPI calls cgrad makes, in one place: a process group (MPI_COMM_WORLD)
 * and the collectives data parallelism needs, on raw buffers. Built without
 * MPI (no CG_HAVE_MPI) the world is this one process and each collective is
 * the identity (a copy where buffers differ). Counts are in elements. */
#ifndef CG_DIST_COMM_H
#define CG_DIST_COMM_H

#include "cgrad.h"

#ifdef CG_HAVE_MPI
#include <mpi.h>
typedef MPI_Request cg__req;
#else
typedef int cg__req;
#endif

typedef enum { CG__COMM_SUM, CG__COMM_MAX } cg__comm_op;

int cg__comm_init(int *argc, char ***argv); /* 0 or -1 */
/* the job size an MPI launcher gave this process (its variable in *var), 0
 * when none started it */
int cg__comm_launched(const char **var);
int cg__comm_finalize(void);
bool cg__comm_ready(void); /* after init, before finalize */
int cg__comm_rank(void);
int cg__comm_size(void);
int cg__comm_barrier(void);
/* Blocking, in place; any n (split into int-sized calls). */
int cg__comm_allreduce(void *buf, int64_t n, cg_dtype dt, cg__comm_op op);
int cg__comm_bcast(void *buf, int64_t n, cg_dtype dt, int root);
/* Non-blocking, n < 2^31: in-place sum; reduce-scatter of send (size chunk
 * elements each) into recv (chunk); in-place all-gather of buf (size chunk,
 * this rank's chunk already in place). */
int cg__comm_iallreduce_sum(void *buf, int64_t n, cg_dtype dt, cg__req *r);
int cg__comm_ireduce_scatter_sum(const void *send, void *recv, int64_t chunk, cg_dtype dt,
                                 cg__req *r);
int cg__comm_iallgather(void *buf, int64_t chunk, cg_dtype dt, cg__req *r);
int cg__comm_wait(cg__req *r);
void cg__comm_poke(cg__req *r); /* lets a pending request progress */
_Noreturn void cg__comm_abort(int code);

#endif
