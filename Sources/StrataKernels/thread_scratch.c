// Per-thread scratch (thread_scratch.h): one table of growable buffers per thread, found through a thread-local
// pointer, freed by a pthread key destructor when the thread exits.
#include "thread_scratch.h"
#include <pthread.h>
#include <stdlib.h>

typedef struct {
    void *bytes[SCRATCH_SLOTS];
    size_t size[SCRATCH_SLOTS];
} scratch_table;

static pthread_key_t table_key;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;
static _Thread_local scratch_table *tls_table;

static void free_table(void *p) {
    scratch_table *t = p;
    for (int s = 0; s < SCRATCH_SLOTS; s++) free(t->bytes[s]);
    free(t);
}

static void make_table_key(void) { pthread_key_create(&table_key, free_table); }

void *strata_thread_scratch(strata_scratch_slot slot, size_t bytes) {
    if (!tls_table) {
        pthread_once(&table_once, make_table_key);
        tls_table = calloc(1, sizeof *tls_table);
        if (!tls_table) return NULL;
        pthread_setspecific(table_key, tls_table);
    }
    if (bytes > tls_table->size[slot]) {
        free(tls_table->bytes[slot]);
        tls_table->size[slot] = 0;
        tls_table->bytes[slot] = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
        if (tls_table->bytes[slot]) tls_table->size[slot] = bytes;
    }
    return tls_table->bytes[slot];
}
