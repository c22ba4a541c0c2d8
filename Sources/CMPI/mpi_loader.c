#include "CMPI.h"
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Open MPI's C ABI (mpi.h of Open MPI 3.x-5.x): handles are pointers to opaque structs.
typedef void *Comm, *Datatype, *Op, *Request, *Info, *Errhandler;
enum { THREAD_FUNNELED = 1, COMM_TYPE_SHARED = 0 };
#define IN_PLACE ((void *)1)
#define STATUS_IGNORE ((void *)0)
#define ANY_SOURCE (-1)

static void *library;
static Comm world, node;
static Datatype type_float, type_double, type_byte;
static Op op_sum;
static Info info_null;
static Errhandler errors_return;

static int (*p_init_thread)(int *, char ***, int, int *);
static int (*p_finalize)(void);
static int (*p_abort)(Comm, int);
static int (*p_comm_rank)(Comm, int *);
static int (*p_comm_size)(Comm, int *);
static int (*p_comm_split_type)(Comm, int, int, Info, Comm *);
static int (*p_comm_set_errhandler)(Comm, Errhandler);
static int (*p_get_processor_name)(char *, int *);
static int (*p_error_string)(int, char *, int *);
static double (*p_wtime)(void);
static int (*p_iallreduce)(const void *, void *, int, Datatype, Op, Comm, Request *);
static int (*p_allreduce)(const void *, void *, int, Datatype, Op, Comm);
static int (*p_iallgather)(const void *, int, Datatype, void *, int, Datatype, Comm, Request *);
static int (*p_ibcast)(void *, int, Datatype, int, Comm, Request *);
static int (*p_isend)(const void *, int, Datatype, int, int, Comm, Request *);
static int (*p_irecv)(void *, int, Datatype, int, int, Comm, Request *);
static int (*p_test)(Request *, int *, void *);
static int (*p_cancel)(Request *);
static int (*p_request_free)(Request *);

int bimt_mpi_load(char *reason, size_t reasonSize) {
    if (library) return 0;
    const char *names[] = {getenv("BIMT_MPI_LIBRARY"), "libmpi.so.40", "libmpi.so"};
    const char *tried = NULL, *why = NULL;
    for (size_t i = 0; i < 3 && !library; i++) {
        if (!names[i] || !*names[i]) continue;
        tried = names[i];
        // RTLD_GLOBAL: Open MPI's own plugins are dlopen'ed later and link against libmpi's symbols.
        library = dlopen(names[i], RTLD_NOW | RTLD_GLOBAL);
        if (!library) why = dlerror();
        if (names[i] == names[0] && !library) break;   // an explicit choice is not second-guessed
    }
    if (!library) {
        snprintf(reason, reasonSize, "%s could not be loaded (%s)", tried ? tried : "libmpi",
                 why ? why : "unknown reason");
        return -1;
    }
    if (!dlsym(library, "ompi_mpi_comm_world")) {
        snprintf(reason, reasonSize,
                 "%s is not Open MPI (no ompi_mpi_comm_world): bimt speaks Open MPI's ABI (3.x to 5.x); "
                 "set BIMT_MPI_LIBRARY to an Open MPI libmpi.so", tried);
        dlclose(library);
        library = NULL;
        return -1;
    }
#define OBJECT(var, symbol) var = dlsym(library, symbol); \
    if (!var) { \
        snprintf(reason, reasonSize, "%s lacks %s", tried, symbol); dlclose(library); library = NULL; return -1; \
    }
#define FUNCTION(var, symbol) *(void **)(&var) = dlsym(library, symbol); \
    if (!var) { \
        snprintf(reason, reasonSize, "%s lacks %s", tried, symbol); dlclose(library); library = NULL; return -1; \
    }
    OBJECT(world, "ompi_mpi_comm_world")
    OBJECT(type_float, "ompi_mpi_float")
    OBJECT(type_double, "ompi_mpi_double")
    OBJECT(type_byte, "ompi_mpi_byte")
    OBJECT(op_sum, "ompi_mpi_op_sum")
    OBJECT(info_null, "ompi_mpi_info_null")
    OBJECT(errors_return, "ompi_mpi_errors_return")
    FUNCTION(p_init_thread, "MPI_Init_thread")
    FUNCTION(p_finalize, "MPI_Finalize")
    FUNCTION(p_abort, "MPI_Abort")
    FUNCTION(p_comm_rank, "MPI_Comm_rank")
    FUNCTION(p_comm_size, "MPI_Comm_size")
    FUNCTION(p_comm_split_type, "MPI_Comm_split_type")
    FUNCTION(p_comm_set_errhandler, "MPI_Comm_set_errhandler")
    FUNCTION(p_get_processor_name, "MPI_Get_processor_name")
    FUNCTION(p_error_string, "MPI_Error_string")
    FUNCTION(p_wtime, "MPI_Wtime")
    FUNCTION(p_iallreduce, "MPI_Iallreduce")
    FUNCTION(p_allreduce, "MPI_Allreduce")
    FUNCTION(p_iallgather, "MPI_Iallgather")
    FUNCTION(p_ibcast, "MPI_Ibcast")
    FUNCTION(p_isend, "MPI_Isend")
    FUNCTION(p_irecv, "MPI_Irecv")
    FUNCTION(p_test, "MPI_Test")
    FUNCTION(p_cancel, "MPI_Cancel")
    FUNCTION(p_request_free, "MPI_Request_free")
    return 0;
}

int bimt_mpi_init(void) {
    int provided = 0;
    int code = p_init_thread(NULL, NULL, THREAD_FUNNELED, &provided);
    if (code) return code;
    code = p_comm_set_errhandler(world, errors_return);
    if (code) return code;
    int rank = 0;
    if ((code = p_comm_rank(world, &rank))) return code;
    code = p_comm_split_type(world, COMM_TYPE_SHARED, rank, info_null, &node);
    if (code) return code;
    return p_comm_set_errhandler(node, errors_return);
}

int bimt_mpi_finalize(void) { return p_finalize(); }
void bimt_mpi_abort(int code) { p_abort(world, code); }
int bimt_mpi_rank(int *rank) { return p_comm_rank(world, rank); }
int bimt_mpi_size(int *size) { return p_comm_size(world, size); }

int bimt_mpi_local(int *rank, int *size) {
    int code = p_comm_rank(node, rank);
    return code ? code : p_comm_size(node, size);
}

int bimt_mpi_processor_name(char *name, size_t size) {
    char buffer[256 + 1];
    int length = 0;
    int code = p_get_processor_name(buffer, &length);
    if (code) return code;
    buffer[length < 256 ? length : 256] = 0;
    snprintf(name, size, "%s", buffer);
    return 0;
}

void bimt_mpi_error_string(int code, char *text, size_t size) {
    char buffer[256 + 1];
    int length = 0;
    if (!library || p_error_string(code, buffer, &length)) {
        snprintf(text, size, "MPI error %d", code);
        return;
    }
    buffer[length < 256 ? length : 256] = 0;
    snprintf(text, size, "%s", buffer);
}

double bimt_mpi_wtime(void) { return p_wtime(); }

int bimt_mpi_iallreduce_float(float *buffer, int count, bimt_mpi_request *request) {
    return p_iallreduce(IN_PLACE, buffer, count, type_float, op_sum, world, &request->handle);
}

int bimt_mpi_iallreduce_double(double *buffer, int count, bimt_mpi_request *request) {
    return p_iallreduce(IN_PLACE, buffer, count, type_double, op_sum, world, &request->handle);
}

int bimt_mpi_allreduce_float(float *buffer, int count) {
    return p_allreduce(IN_PLACE, buffer, count, type_float, op_sum, world);
}

int bimt_mpi_iallgather(const void *send, int count, void *receive, bimt_mpi_request *request) {
    return p_iallgather(send, count, type_byte, receive, count, type_byte, world, &request->handle);
}

int bimt_mpi_ibcast(void *buffer, int count, int root, bimt_mpi_request *request) {
    return p_ibcast(buffer, count, type_byte, root, world, &request->handle);
}

int bimt_mpi_isend(const void *buffer, int count, int peer, int tag, bimt_mpi_request *request) {
    return p_isend(buffer, count, type_byte, peer, tag, world, &request->handle);
}

int bimt_mpi_irecv(void *buffer, int count, int peer, int tag, bimt_mpi_request *request) {
    return p_irecv(buffer, count, type_byte, peer < 0 ? ANY_SOURCE : peer, tag, world, &request->handle);
}

int bimt_mpi_test(bimt_mpi_request *request, int *done) {
    return p_test(&request->handle, done, STATUS_IGNORE);
}

int bimt_mpi_cancel(bimt_mpi_request *request) {
    int code = p_cancel(&request->handle);
    return code ? code : p_request_free(&request->handle);
}
