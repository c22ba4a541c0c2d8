#ifndef CMPI_H
#define CMPI_H
// The few MPI calls bimt's data-parallel training makes, loaded with dlopen at run time
// (the binary starts, and trains in one process, where no MPI library is installed).
// No mpi.h is needed at build time: the shim declares Open MPI's C ABI itself (handles are
// pointers; MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM... are the addresses of exported objects).
// Every call returns an MPI error code (0: success) and is made from one thread only.
#include <stddef.h>
#include <stdint.h>

/// A pending non-blocking operation (Open MPI's MPI_Request, a pointer).
typedef struct { void *handle; } bimt_mpi_request;

/// Loads the library (`BIMT_MPI_LIBRARY`, else libmpi.so.40, else libmpi.so). Returns 0, or
/// -1 with the reason in `reason`.
int bimt_mpi_load(char *reason, size_t reasonSize);
/// MPI_Init_thread asking for MPI_THREAD_FUNNELED (this thread makes every MPI call);
/// then errors return codes on MPI_COMM_WORLD instead of aborting.
int bimt_mpi_init(void);
int bimt_mpi_finalize(void);
void bimt_mpi_abort(int code);
int bimt_mpi_rank(int *rank);
int bimt_mpi_size(int *size);
/// The rank and size within this node (MPI_Comm_split_type, MPI_COMM_TYPE_SHARED).
int bimt_mpi_local(int *rank, int *size);
/// The node's name (MPI_Get_processor_name).
int bimt_mpi_processor_name(char *name, size_t size);
void bimt_mpi_error_string(int code, char *text, size_t size);
double bimt_mpi_wtime(void);

/// In-place sums over all ranks.
int bimt_mpi_iallreduce_float(float *buffer, int count, bimt_mpi_request *request);
int bimt_mpi_iallreduce_double(double *buffer, int count, bimt_mpi_request *request);
/// A blocking in-place float sum (the plain-MPI baseline of the allreduce benchmark).
int bimt_mpi_allreduce_float(float *buffer, int count);
/// Each rank's `count` bytes into `receive` (size x count), in rank order.
int bimt_mpi_iallgather(const void *send, int count, void *receive, bimt_mpi_request *request);
int bimt_mpi_ibcast(void *buffer, int count, int root, bimt_mpi_request *request);
int bimt_mpi_isend(const void *buffer, int count, int peer, int tag, bimt_mpi_request *request);
/// `peer` < 0: any source.
int bimt_mpi_irecv(void *buffer, int count, int peer, int tag, bimt_mpi_request *request);
/// `done` is set to 1 when the operation completed (the request is then freed).
int bimt_mpi_test(bimt_mpi_request *request, int *done);
/// Cancels a pending receive and frees it.
int bimt_mpi_cancel(bimt_mpi_request *request);

#endif
