#include "CDNNL.h"
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// oneDNN 2.x's C ABI, the subset used here. Descriptors are plain structs that the library
// fills in (dnnl_memory_desc_t is 696 bytes and dnnl_matmul_desc_t 2800 in 2.6): they are
// held as opaque, generously sized and aligned storage. Handles are pointers.
typedef int64_t dims_t[12];
typedef struct { _Alignas(64) unsigned char bytes[2048]; } memory_desc;
typedef struct { _Alignas(64) unsigned char bytes[8192]; } matmul_desc;
typedef void *engine_t, *stream_t, *primitive_desc_t, *primitive_t, *memory_t, *attr_t, *post_ops_t;
typedef struct { int arg; memory_t memory; } exec_arg;
typedef struct { int major, minor, patch; const char *hash; unsigned cpu_runtime, gpu_runtime; } version_t;

enum {
    SUCCESS = 0, ENGINE_CPU = 1, TYPE_BF16 = 2, TYPE_F32 = 3, STREAM_DEFAULT = 1, QUERY_IMPL_INFO_STR = 8,
    ARG_SRC = 1, ARG_DST = 17, ARG_WEIGHTS = 33,
};

#if __has_include(<oneapi/dnnl/dnnl.h>)
#include <oneapi/dnnl/dnnl.h>
#if DNNL_VERSION_MAJOR == 2
_Static_assert(sizeof(dnnl_memory_desc_t) <= sizeof(memory_desc), "memory_desc storage too small");
_Static_assert(sizeof(dnnl_matmul_desc_t) <= sizeof(matmul_desc), "matmul_desc storage too small");
_Static_assert(dnnl_success == SUCCESS && dnnl_cpu == ENGINE_CPU, "ABI constants");
_Static_assert(dnnl_bf16 == TYPE_BF16 && dnnl_f32 == TYPE_F32, "ABI constants");
_Static_assert(dnnl_stream_default_flags == STREAM_DEFAULT, "ABI constants");
_Static_assert(dnnl_query_impl_info_str == QUERY_IMPL_INFO_STR, "ABI constants");
_Static_assert(DNNL_ARG_SRC == ARG_SRC && DNNL_ARG_DST == ARG_DST && DNNL_ARG_WEIGHTS == ARG_WEIGHTS, "ABI");
#endif
#endif

static void *library;
static engine_t engine;
static stream_t stream;
static char version[32];

static const version_t *(*p_version)(void);
static int (*p_engine_create)(engine_t *, int, size_t);
static int (*p_engine_destroy)(engine_t);
static int (*p_stream_create)(stream_t *, engine_t, unsigned);
static int (*p_stream_wait)(stream_t);
static int (*p_memory_desc_init_by_strides)(memory_desc *, int, const int64_t *, int, const int64_t *);
static int (*p_matmul_desc_init)(matmul_desc *, const memory_desc *, const memory_desc *, const memory_desc *,
                                 const memory_desc *);
static int (*p_attr_create)(attr_t *);
static int (*p_attr_destroy)(attr_t);
static int (*p_attr_set_output_scales)(attr_t, int64_t, int, const float *);
static int (*p_attr_set_post_ops)(attr_t, post_ops_t);
static int (*p_post_ops_create)(post_ops_t *);
static int (*p_post_ops_destroy)(post_ops_t);
static int (*p_post_ops_append_sum)(post_ops_t, float);
static int (*p_primitive_desc_create)(primitive_desc_t *, const void *, attr_t, engine_t, primitive_desc_t);
static int (*p_primitive_desc_query)(primitive_desc_t, int, int, void *);
static int (*p_primitive_desc_destroy)(primitive_desc_t);
static int (*p_primitive_create)(primitive_t *, primitive_desc_t);
static int (*p_primitive_execute)(primitive_t, stream_t, int, const exec_arg *);
static int (*p_primitive_destroy)(primitive_t);
static int (*p_memory_create)(memory_t *, const memory_desc *, engine_t, void *);
static int (*p_memory_set_data_handle)(memory_t, void *);
static int (*p_memory_destroy)(memory_t);

int bimt_dnnl_load(int threads, char *reason, size_t reasonSize) {
    if (engine) return 0;
    const char *chosen = getenv("BIMT_DNNL_LIBRARY");
    const char *name = chosen && *chosen ? chosen : "libdnnl.so.2";
    // oneDNN runs on OpenMP (libgomp), whose threads spin after each product by default and
    // took the cores from the rest of a training step (1289 against 1000 ms for gpt-small's
    // bf16 step on 2 cores): they sleep instead, and there are as many as the CPU path's
    // threads (data-parallel ranks share a node's cores), unless the user chose otherwise.
    // libgomp reads both when dlopen loads it.
    char count[16];
    snprintf(count, sizeof count, "%d", threads > 0 ? threads : 1);
    setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
    setenv("OMP_NUM_THREADS", count, 0);
    if (!library) library = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        const char *why = dlerror();
        snprintf(reason, reasonSize, "%s could not be loaded (%s)", name, why ? why : "unknown reason");
        return -1;
    }
    struct { void **slot; const char *symbol; } table[] = {
        {(void **)&p_version, "dnnl_version"},
        {(void **)&p_engine_create, "dnnl_engine_create"},
        {(void **)&p_engine_destroy, "dnnl_engine_destroy"},
        {(void **)&p_stream_create, "dnnl_stream_create"},
        {(void **)&p_stream_wait, "dnnl_stream_wait"},
        {(void **)&p_memory_desc_init_by_strides, "dnnl_memory_desc_init_by_strides"},
        {(void **)&p_matmul_desc_init, "dnnl_matmul_desc_init"},
        {(void **)&p_attr_create, "dnnl_primitive_attr_create"},
        {(void **)&p_attr_destroy, "dnnl_primitive_attr_destroy"},
        {(void **)&p_attr_set_output_scales, "dnnl_primitive_attr_set_output_scales"},
        {(void **)&p_attr_set_post_ops, "dnnl_primitive_attr_set_post_ops"},
        {(void **)&p_post_ops_create, "dnnl_post_ops_create"},
        {(void **)&p_post_ops_destroy, "dnnl_post_ops_destroy"},
        {(void **)&p_post_ops_append_sum, "dnnl_post_ops_append_sum"},
        {(void **)&p_primitive_desc_create, "dnnl_primitive_desc_create"},
        {(void **)&p_primitive_desc_query, "dnnl_primitive_desc_query"},
        {(void **)&p_primitive_desc_destroy, "dnnl_primitive_desc_destroy"},
        {(void **)&p_primitive_create, "dnnl_primitive_create"},
        {(void **)&p_primitive_execute, "dnnl_primitive_execute"},
        {(void **)&p_primitive_destroy, "dnnl_primitive_destroy"},
        {(void **)&p_memory_create, "dnnl_memory_create"},
        {(void **)&p_memory_set_data_handle, "dnnl_memory_set_data_handle"},
        {(void **)&p_memory_destroy, "dnnl_memory_destroy"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        *table[i].slot = dlsym(library, table[i].symbol);
        if (!*table[i].slot) {
            // oneDNN 3 replaced the descriptor calls (dnnl_matmul_desc_init and others).
            snprintf(reason, reasonSize, "%s lacks %s: bimt needs oneDNN 2.x (Debian's libdnnl2)", name,
                     table[i].symbol);
            return -1;
        }
    }
    const version_t *v = p_version();
    if (!v || v->major != 2) {
        snprintf(reason, reasonSize, "%s is oneDNN %d.%d: bimt needs oneDNN 2.x (Debian's libdnnl2)", name,
                 v ? v->major : 0, v ? v->minor : 0);
        return -1;
    }
    snprintf(version, sizeof version, "%d.%d.%d", v->major, v->minor, v->patch);
    int status = p_engine_create(&engine, ENGINE_CPU, 0);
    if (status == SUCCESS) status = p_stream_create(&stream, engine, STREAM_DEFAULT);
    if (status != SUCCESS) {
        if (engine) p_engine_destroy(engine);
        engine = NULL;
        snprintf(reason, reasonSize, "oneDNN %s could not create its CPU engine (status %d)", version, status);
        return -1;
    }
    return 0;
}

const char *bimt_dnnl_version(void) { return version; }

struct bimt_dnnl_matmul {
    primitive_t primitive;
    memory_t a, b, c;
    char implementation[128];
};

void bimt_dnnl_matmul_destroy(bimt_dnnl_matmul *m) {
    if (!m) return;
    if (m->primitive) p_primitive_destroy(m->primitive);
    if (m->a) p_memory_destroy(m->a);
    if (m->b) p_memory_destroy(m->b);
    if (m->c) p_memory_destroy(m->c);
    free(m);
}

bimt_dnnl_matmul *bimt_dnnl_matmul_create(const bimt_dnnl_shape *s, char *reason, size_t reasonSize) {
    if (!engine) {
        snprintf(reason, reasonSize, "oneDNN is not loaded");
        return NULL;
    }
    int type = s->bf16 ? TYPE_BF16 : TYPE_F32;
    int64_t dimsA[3] = {s->batch, s->m, s->k}, dimsB[3] = {s->batchB, s->k, s->n}, dimsC[3] = {s->batch, s->m, s->n};
    memory_desc a, b, c;
    matmul_desc desc;
    const char *stage = "describe the operands of";
    int status = p_memory_desc_init_by_strides(&a, 3, dimsA, type, s->strideA);
    if (status == SUCCESS) status = p_memory_desc_init_by_strides(&b, 3, dimsB, type, s->strideB);
    if (status == SUCCESS) status = p_memory_desc_init_by_strides(&c, 3, dimsC, TYPE_F32, s->strideC);
    if (status == SUCCESS) status = p_matmul_desc_init(&desc, &a, &b, NULL, &c);
    attr_t attr = NULL;
    post_ops_t ops = NULL;
    if (status == SUCCESS) status = p_attr_create(&attr);
    if (status == SUCCESS && s->alpha != 1) status = p_attr_set_output_scales(attr, 1, 0, &s->alpha);
    if (status == SUCCESS && s->beta != 0) {
        status = p_post_ops_create(&ops);
        if (status == SUCCESS) status = p_post_ops_append_sum(ops, s->beta);
        if (status == SUCCESS) status = p_attr_set_post_ops(attr, ops);
    }
    primitive_desc_t pd = NULL;
    if (status == SUCCESS) stage = "find an implementation of";
    if (status == SUCCESS) status = p_primitive_desc_create(&pd, &desc, attr, engine, NULL);
    if (ops) p_post_ops_destroy(ops);
    if (attr) p_attr_destroy(attr);
    bimt_dnnl_matmul *m = calloc(1, sizeof *m);
    if (!m) status = -1;
    if (status == SUCCESS) {
        const char *impl = NULL;
        if (p_primitive_desc_query(pd, QUERY_IMPL_INFO_STR, 0, &impl) == SUCCESS && impl)
            snprintf(m->implementation, sizeof m->implementation, "%s", impl);
        status = p_primitive_create(&m->primitive, pd);
    }
    if (pd) p_primitive_desc_destroy(pd);
    if (status == SUCCESS) status = p_memory_create(&m->a, &a, engine, NULL);
    if (status == SUCCESS) status = p_memory_create(&m->b, &b, engine, NULL);
    if (status == SUCCESS) status = p_memory_create(&m->c, &c, engine, NULL);
    if (status != SUCCESS) {
        snprintf(reason, reasonSize,
                 "oneDNN %s could not %s a %s matmul of batch %lld, %lld x %lld x %lld (status %d)", version,
                 stage, s->bf16 ? "bf16" : "fp32", (long long)s->batch, (long long)s->m, (long long)s->n,
                 (long long)s->k, status);
        bimt_dnnl_matmul_destroy(m);
        return NULL;
    }
    return m;
}

const char *bimt_dnnl_matmul_implementation(const bimt_dnnl_matmul *m) { return m->implementation; }

int bimt_dnnl_matmul_run(bimt_dnnl_matmul *m, const void *a, const void *b, float *c) {
    int status = p_memory_set_data_handle(m->a, (void *)a);
    if (status == SUCCESS) status = p_memory_set_data_handle(m->b, (void *)b);
    if (status == SUCCESS) status = p_memory_set_data_handle(m->c, c);
    if (status != SUCCESS) return status;
    exec_arg args[3] = {{ARG_SRC, m->a}, {ARG_WEIGHTS, m->b}, {ARG_DST, m->c}};
    status = p_primitive_execute(m->primitive, stream, 3, args);
    return status == SUCCESS ? p_stream_wait(stream) : status;
}
