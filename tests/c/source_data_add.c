/* source_data_add: custom data sources combine merged values exactly. DATA_ADD totals are
 * exact under 8 concurrent merging threads (the sum of the data seen by all handler calls
 * equals the sum merged); DATA_OR delivers the OR of the merged bits; DATA_REPLACE delivers
 * the last value merged. The handlers of one source never overlap, even on a concurrent
 * queue, and no handler call sees data 0. */
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>

struct src {
  rgcd_source_t src;
  atomic_int calls;
  atomic_ullong sum;        /* DATA_ADD: sum of data; DATA_OR: OR of data */
  atomic_ullong last;       /* the data of the latest call */
  atomic_int in_handler;
  atomic_int overlap;
  atomic_int zero_data;
  atomic_int not_increasing; /* DATA_REPLACE: a call saw a value not above the previous one */
  int replace;
  int is_or;
  atomic_int cancelled;
};

static void on_event(void *ctx) {
  struct src *s = ctx;
  if (atomic_fetch_add(&s->in_handler, 1) != 0) atomic_fetch_add(&s->overlap, 1);
  uintptr_t data = rgcd_source_get_data(s->src);
  if (data == 0) atomic_fetch_add(&s->zero_data, 1);
  if (s->is_or)
    atomic_fetch_or(&s->sum, data);
  else
    atomic_fetch_add(&s->sum, data);
  if (s->replace && data <= atomic_load(&s->last)) atomic_fetch_add(&s->not_increasing, 1);
  atomic_store(&s->last, data);
  atomic_fetch_add(&s->calls, 1);
  spin(2000); /* a window in which an overlapping call would be caught */
  atomic_fetch_sub(&s->in_handler, 1);
}

static void on_cancel(void *ctx) {
  struct src *s = ctx;
  atomic_fetch_add(&s->cancelled, 1);
}

static void make_source(struct src *s, rgcd_source_type_t type, rgcd_queue_t q) {
  s->src = rgcd_source_create(type, 0, 0, q);
  CHECK(s->src != NULL);
  CHECK_EQ(rgcd_source_get_handle(s->src), 0);
  CHECK_EQ(rgcd_source_get_mask(s->src), 0);
  CHECK_OK(rgcd_set_context(s->src, s));
  CHECK_OK(rgcd_source_set_event_handler_f(s->src, on_event));
  CHECK_OK(rgcd_source_set_cancel_handler_f(s->src, on_cancel));
}

static void finish(struct src *s) {
  CHECK_EQ(atomic_load(&s->overlap), 0);
  CHECK_EQ(atomic_load(&s->zero_data), 0);
  CHECK_OK(rgcd_source_cancel(s->src));
  WAIT_UNTIL(atomic_load(&s->cancelled) == 1, 20000);
  CHECK_EQ(atomic_load(&s->overlap), 0);
  CHECK_OK(rgcd_release(s->src));
}

#define THREADS 8
#define MERGES 10000

struct merger {
  struct src *s;
  int index;
  int mode;                /* 0: add (i % 16) + 1; 1: or the thread's bit */
  pthread_barrier_t *go;
  int failures;
};

static void *merge_thread(void *arg) {
  struct merger *m = arg;
  pthread_barrier_wait(m->go);
  for (int i = 0; i < MERGES; i++) {
    uintptr_t v = m->mode == 0 ? (uintptr_t)(i % 16) + 1 : (uintptr_t)1 << m->index;
    if (rgcd_source_merge_data(m->s->src, v) != RGCD_OK) m->failures++;
  }
  return NULL;
}

static void run_mergers(struct src *s, int mode) {
  pthread_t th[THREADS];
  struct merger m[THREADS];
  pthread_barrier_t go;
  CHECK_EQ(pthread_barrier_init(&go, NULL, THREADS), 0);
  for (int t = 0; t < THREADS; t++) {
    m[t] = (struct merger){.s = s, .index = t, .mode = mode, .go = &go};
    CHECK_EQ(pthread_create(&th[t], NULL, merge_thread, &m[t]), 0);
  }
  for (int t = 0; t < THREADS; t++) {
    CHECK_EQ(pthread_join(th[t], NULL), 0);
    CHECK_EQ(m[t].failures, 0);
  }
  pthread_barrier_destroy(&go);
}

int main(void) {
  start_watchdog(100);
  rgcd_queue_t conc = rgcd_queue_create("source_data_add.concurrent", RGCD_QUEUE_CONCURRENT);
  rgcd_queue_t serial = rgcd_queue_create("source_data_add.serial", RGCD_QUEUE_SERIAL);
  rgcd_queue_t global = rgcd_get_global_queue(RGCD_QOS_DEFAULT, 0);
  CHECK(conc != NULL && serial != NULL && global != NULL);

  /* 1. DATA_ADD: 8 threads x 10,000 merges of 1..16, on a concurrent queue and on the
   * global queue: the handlers see exactly the total, never overlapping. */
  unsigned long long per_thread = 0;
  for (int i = 0; i < MERGES; i++) per_thread += (unsigned long long)(i % 16) + 1;
  const unsigned long long total = per_thread * THREADS;
  for (int round = 0; round < 2; round++) {
    static struct src add[2];
    struct src *s = &add[round];
    make_source(s, RGCD_SOURCE_TYPE_DATA_ADD, round == 0 ? conc : global);
    CHECK_OK(rgcd_activate(s->src));
    run_mergers(s, 0);
    WAIT_UNTIL(atomic_load(&s->sum) >= total, 30000);
    sleep_ms(100);
    printf("source_data_add: DATA_ADD %llu merged, %llu seen in %d handler calls\n", total,
           (unsigned long long)atomic_load(&s->sum), atomic_load(&s->calls));
    CHECK_EQ(atomic_load(&s->sum), total);
    CHECK(atomic_load(&s->calls) >= 1);
    finish(s);
  }

  /* 2. DATA_ADD while suspended: merges combine into one call on resume. */
  {
    static struct src s = {0};
    make_source(&s, RGCD_SOURCE_TYPE_DATA_ADD, serial);
    CHECK_OK(rgcd_activate(s.src));
    CHECK_OK(rgcd_suspend(s.src));
    for (uintptr_t v = 1; v <= 100; v++) CHECK_OK(rgcd_source_merge_data(s.src, v));
    sleep_ms(50);
    CHECK_EQ(atomic_load(&s.calls), 0);
    CHECK_OK(rgcd_resume(s.src));
    WAIT_UNTIL(atomic_load(&s.calls) >= 1, 20000);
    sleep_ms(100);
    CHECK_EQ(atomic_load(&s.calls), 1);
    CHECK_EQ(atomic_load(&s.sum), 5050);
    finish(&s);
  }

  /* 3. DATA_OR: while suspended, bits combine into one call; from 8 threads each merging
   * its own bit, the OR over all calls has every bit. */
  {
    static struct src s = {.is_or = 1};
    make_source(&s, RGCD_SOURCE_TYPE_DATA_OR, serial);
    CHECK_OK(rgcd_activate(s.src));
    CHECK_OK(rgcd_suspend(s.src));
    CHECK_OK(rgcd_source_merge_data(s.src, 0x1));
    CHECK_OK(rgcd_source_merge_data(s.src, 0x4));
    CHECK_OK(rgcd_source_merge_data(s.src, 0x10));
    CHECK_OK(rgcd_source_merge_data(s.src, 0x4));
    CHECK_OK(rgcd_resume(s.src));
    WAIT_UNTIL(atomic_load(&s.calls) >= 1, 20000);
    sleep_ms(100);
    CHECK_EQ(atomic_load(&s.calls), 1);
    CHECK_EQ(atomic_load(&s.last), 0x15);
    finish(&s);

    static struct src t = {.is_or = 1};
    make_source(&t, RGCD_SOURCE_TYPE_DATA_OR, conc);
    CHECK_OK(rgcd_activate(t.src));
    run_mergers(&t, 1);
    WAIT_UNTIL(atomic_load(&t.sum) == (1u << THREADS) - 1, 30000);
    sleep_ms(50);
    CHECK_EQ(atomic_load(&t.sum), (1u << THREADS) - 1); /* no stray bits */
    printf("source_data_add: DATA_OR %d x %d merges seen in %d handler calls\n", THREADS,
           MERGES, atomic_load(&t.calls));
    finish(&t);
  }

  /* 4. DATA_REPLACE: while suspended, the last value wins; one thread merging 1..20000 in
   * order: each call sees a larger value than the one before, and the last call sees 20000. */
  {
    static struct src s = {.replace = 1};
    make_source(&s, RGCD_SOURCE_TYPE_DATA_REPLACE, serial);
    CHECK_OK(rgcd_activate(s.src));
    CHECK_OK(rgcd_suspend(s.src));
    CHECK_OK(rgcd_source_merge_data(s.src, 5));
    CHECK_OK(rgcd_source_merge_data(s.src, 700));
    CHECK_OK(rgcd_source_merge_data(s.src, 42));
    CHECK_OK(rgcd_resume(s.src));
    WAIT_UNTIL(atomic_load(&s.calls) >= 1, 20000);
    sleep_ms(100);
    CHECK_EQ(atomic_load(&s.calls), 1);
    CHECK_EQ(atomic_load(&s.last), 42);
    finish(&s);

    static struct src t = {.replace = 1};
    make_source(&t, RGCD_SOURCE_TYPE_DATA_REPLACE, conc);
    CHECK_OK(rgcd_activate(t.src));
    for (uintptr_t v = 1; v <= 20000; v++) CHECK_OK(rgcd_source_merge_data(t.src, v));
    WAIT_UNTIL(atomic_load(&t.last) == 20000, 30000);
    sleep_ms(100);
    CHECK_EQ(atomic_load(&t.last), 20000);
    CHECK_EQ(atomic_load(&t.not_increasing), 0);
    printf("source_data_add: DATA_REPLACE 20000 values seen in %d handler calls\n",
           atomic_load(&t.calls));
    finish(&t);
  }

  CHECK_OK(rgcd_release(conc));
  CHECK_OK(rgcd_release(serial));
  return 0;
}
