/* pthreads_pool.h - the baseline rgcd_bench compares rgcd against: the work queue you would
 * write yourself with pthreads.
 *
 *   pool    a fixed set of threads over one mutex + condvar FIFO of (fn, ctx) tasks
 *   strand  a "serial queue": a per-strand mutex + list, scheduled onto the pool as one
 *           drain task when it becomes non-empty (the classic strand)
 *   sync    enqueue onto the strand, then wait on a condvar until the item ran
 *   group   a counter under a mutex + condvar
 *   apply   split the range into one chunk per pool thread, the caller running one chunk
 *
 * Header-only and included by bench.c alone, so the benchmark stays one translation unit.
 * Every function is static and used; nothing here is part of rgcd. */
#ifndef RGCD_BENCH_PTHREADS_POOL_H
#define RGCD_BENCH_PTHREADS_POOL_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*pp_fn)(void *ctx);
typedef void (*pp_apply_fn)(void *ctx, size_t iteration);

static void pp_die(const char *what, int err) {
    fprintf(stderr, "pthreads baseline: %s failed: %s\n", what, strerror(err));
    abort();
}

#define PP_CHECK(call)                                                                     \
    do {                                                                                   \
        int pp_rc_ = (call);                                                               \
        if (pp_rc_ != 0) pp_die(#call, pp_rc_);                                            \
    } while (0)

/* ---- group: a counter under a mutex + condvar ---- */

typedef struct pp_group {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    long count;
} pp_group;

static void pp_group_init(pp_group *g) {
    PP_CHECK(pthread_mutex_init(&g->mu, NULL));
    PP_CHECK(pthread_cond_init(&g->cv, NULL));
    g->count = 0;
}

static void pp_group_destroy(pp_group *g) {
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
}

static void pp_group_enter(pp_group *g) {
    pthread_mutex_lock(&g->mu);
    g->count++;
    pthread_mutex_unlock(&g->mu);
}

static void pp_group_leave(pp_group *g) {
    pthread_mutex_lock(&g->mu);
    if (--g->count == 0) pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static void pp_group_wait(pp_group *g) {
    pthread_mutex_lock(&g->mu);
    while (g->count != 0) pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

/* ---- tasks and the pool ---- */

typedef struct pp_task {
    struct pp_task *next;
    pp_fn fn;
    void *ctx;
    pp_group *group; /* left after fn returned, when not NULL */
} pp_task;

static pp_task *pp_task_new(pp_fn fn, void *ctx, pp_group *group) {
    pp_task *t = malloc(sizeof *t);
    if (t == NULL) pp_die("malloc", ENOMEM);
    t->next = NULL;
    t->fn = fn;
    t->ctx = ctx;
    t->group = group;
    return t;
}

typedef struct pp_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pp_task *head, *tail;
    int idle; /* workers blocked on cv: submit signals only when one is */
    bool stop;
    int nthreads;
    pthread_t *threads;
} pp_pool;

static void *pp_worker(void *arg) {
    pp_pool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->head == NULL && !p->stop) {
            p->idle++;
            pthread_cond_wait(&p->cv, &p->mu);
            p->idle--;
        }
        if (p->head == NULL) break; /* stopping and drained */
        pp_task *t = p->head;
        p->head = t->next;
        if (p->head == NULL) p->tail = NULL;
        pthread_mutex_unlock(&p->mu);
        t->fn(t->ctx);
        if (t->group != NULL) pp_group_leave(t->group);
        free(t);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void pp_pool_start(pp_pool *p, int nthreads) {
    PP_CHECK(pthread_mutex_init(&p->mu, NULL));
    PP_CHECK(pthread_cond_init(&p->cv, NULL));
    p->head = p->tail = NULL;
    p->idle = 0;
    p->stop = false;
    p->nthreads = nthreads < 1 ? 1 : nthreads;
    p->threads = malloc(sizeof *p->threads * (size_t)p->nthreads);
    if (p->threads == NULL) pp_die("malloc", ENOMEM);
    for (int i = 0; i < p->nthreads; i++)
        PP_CHECK(pthread_create(&p->threads[i], NULL, pp_worker, p));
}

/* Runs every queued task, then joins the workers. */
static void pp_pool_stop(pp_pool *p) {
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads; i++) PP_CHECK(pthread_join(p->threads[i], NULL));
    free(p->threads);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
}

static void pp_pool_push(pp_pool *p, pp_task *t) {
    pthread_mutex_lock(&p->mu);
    if (p->tail != NULL)
        p->tail->next = t;
    else
        p->head = t;
    p->tail = t;
    if (p->idle > 0) pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static void pp_pool_async(pp_pool *p, pp_fn fn, void *ctx) {
    pp_pool_push(p, pp_task_new(fn, ctx, NULL));
}

static void pp_group_async(pp_group *g, pp_pool *p, pp_fn fn, void *ctx) {
    pp_group_enter(g);
    pp_pool_push(p, pp_task_new(fn, ctx, g));
}

/* ---- strand: a serial queue scheduled onto the pool ---- */

typedef struct pp_strand {
    pthread_mutex_t mu;
    pp_task *head, *tail;
    bool scheduled; /* a drain task is queued or running */
    atomic_long refs;
    char *label;
    pp_pool *pool;
} pp_strand;

static pp_strand *pp_strand_create(pp_pool *pool, const char *label) {
    pp_strand *s = malloc(sizeof *s);
    if (s == NULL) return NULL;
    s->label = strdup(label);
    if (s->label == NULL) {
        free(s);
        return NULL;
    }
    PP_CHECK(pthread_mutex_init(&s->mu, NULL));
    s->head = s->tail = NULL;
    s->scheduled = false;
    atomic_init(&s->refs, 1);
    s->pool = pool;
    return s;
}

static void pp_strand_retain(pp_strand *s) {
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

static void pp_strand_release(pp_strand *s) {
    if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1) {
        pthread_mutex_destroy(&s->mu);
        free(s->label);
        free(s);
    }
}

/* The pool task of a scheduled strand: runs items until the list is empty. */
static void pp_strand_drain(void *arg) {
    pp_strand *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        pp_task *t = s->head;
        if (t == NULL) {
            s->scheduled = false;
            pthread_mutex_unlock(&s->mu);
            break;
        }
        s->head = t->next;
        if (s->head == NULL) s->tail = NULL;
        pthread_mutex_unlock(&s->mu);
        t->fn(t->ctx);
        free(t);
    }
    pp_strand_release(s); /* the reference taken when it was scheduled */
}

static void pp_strand_async(pp_strand *s, pp_fn fn, void *ctx) {
    pp_task *t = pp_task_new(fn, ctx, NULL);
    pthread_mutex_lock(&s->mu);
    if (s->tail != NULL)
        s->tail->next = t;
    else
        s->head = t;
    s->tail = t;
    bool schedule = !s->scheduled;
    s->scheduled = true;
    pthread_mutex_unlock(&s->mu);
    if (schedule) {
        pp_strand_retain(s);
        pp_pool_async(s->pool, pp_strand_drain, s);
    }
}

typedef struct pp_sync_waiter {
    pp_fn fn;
    void *ctx;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
} pp_sync_waiter;

static void pp_sync_trampoline(void *arg) {
    pp_sync_waiter *w = arg;
    w->fn(w->ctx);
    pthread_mutex_lock(&w->mu);
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void pp_strand_sync(pp_strand *s, pp_fn fn, void *ctx) {
    pp_sync_waiter w;
    w.fn = fn;
    w.ctx = ctx;
    w.done = false;
    PP_CHECK(pthread_mutex_init(&w.mu, NULL));
    PP_CHECK(pthread_cond_init(&w.cv, NULL));
    pp_strand_async(s, pp_sync_trampoline, &w);
    pthread_mutex_lock(&w.mu);
    while (!w.done) pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
}

/* ---- apply: one chunk per pool thread, the caller running the first ---- */

typedef struct pp_chunk {
    pp_apply_fn fn;
    void *ctx;
    size_t begin, end;
} pp_chunk;

static void pp_chunk_run(void *arg) {
    pp_chunk *c = arg;
    for (size_t i = c->begin; i < c->end; i++) c->fn(c->ctx, i);
}

static void pp_apply(pp_pool *p, size_t iterations, void *ctx, pp_apply_fn fn) {
    size_t k = (size_t)p->nthreads;
    pp_chunk *chunks = malloc(sizeof *chunks * k);
    if (chunks == NULL) pp_die("malloc", ENOMEM);
    for (size_t c = 0; c < k; c++) {
        chunks[c].fn = fn;
        chunks[c].ctx = ctx;
        chunks[c].begin = iterations * c / k;
        chunks[c].end = iterations * (c + 1) / k;
    }
    pp_group g;
    pp_group_init(&g);
    for (size_t c = 1; c < k; c++) pp_group_async(&g, p, pp_chunk_run, &chunks[c]);
    pp_chunk_run(&chunks[0]);
    pp_group_wait(&g);
    pp_group_destroy(&g);
    free(chunks);
}

#endif
