/* concurrent_sync: rgcd_sync_f onto a concurrent queue or a global queue runs the work on
 * the calling thread; rgcd_barrier_sync_f waits for earlier async work, runs alone, and
 * later work waits for it. */
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>

struct where {
  pthread_t thread;
  atomic_int ran;
};

static void note_thread(void *ctx) {
  struct where *w = ctx;
  w->thread = pthread_self();
  atomic_fetch_add(&w->ran, 1);
}

static int ran_here(rgcd_queue_t q) {
  struct where w;
  atomic_init(&w.ran, 0);
  CHECK_OK(rgcd_sync_f(q, &w, note_thread));
  CHECK_EQ(atomic_load(&w.ran), 1);
  return pthread_equal(w.thread, pthread_self());
}

static rgcd_queue_t cq, global;
static atomic_int from_thread_ok;
static void *sync_from_thread(void *arg) {
  (void)arg;
  atomic_store(&from_thread_ok, ran_here(cq) && ran_here(global));
  return NULL;
}

/* Barrier ordering. */
#define EARLY 6
#define LATE 6
static atomic_int early_done;
static atomic_int in_flight;
static atomic_int barrier_running;
static atomic_int barrier_done;
static atomic_int barrier_saw_early;
static atomic_int barrier_saw_others;
static atomic_int late_before_barrier;
static atomic_int late_done;

static void early(void *ctx) {
  (void)ctx;
  atomic_fetch_add(&in_flight, 1);
  sleep_ms(30);
  atomic_fetch_sub(&in_flight, 1);
  atomic_fetch_add(&early_done, 1);
}

static void barrier(void *ctx) {
  (void)ctx;
  atomic_store(&barrier_saw_early, atomic_load(&early_done));
  if (atomic_load(&in_flight) != 0) atomic_fetch_add(&barrier_saw_others, 1);
  atomic_store(&barrier_running, 1);
  sleep_ms(150); /* later work is submitted meanwhile */
  if (atomic_load(&in_flight) != 0) atomic_fetch_add(&barrier_saw_others, 1);
  atomic_store(&barrier_done, 1);
}

static void late(void *ctx) {
  (void)ctx;
  atomic_fetch_add(&in_flight, 1);
  if (!atomic_load(&barrier_done)) atomic_fetch_add(&late_before_barrier, 1);
  atomic_fetch_sub(&in_flight, 1);
  atomic_fetch_add(&late_done, 1);
}

static atomic_int barrier_sync_status = -100;
static void *run_barrier_sync(void *arg) {
  (void)arg;
  atomic_store(&barrier_sync_status, rgcd_barrier_sync_f(cq, NULL, barrier));
  return NULL;
}

int main(void) {
  start_watchdog(100);
  cq = rgcd_queue_create("concurrent_sync", RGCD_QUEUE_CONCURRENT);
  global = rgcd_get_global_queue(RGCD_QOS_DEFAULT, 0);
  CHECK(cq != NULL && global != NULL);

  /* sync runs on the calling thread: the main thread, and another thread. */
  CHECK(ran_here(cq));
  CHECK(ran_here(global));
  CHECK(ran_here(rgcd_get_global_queue(RGCD_QOS_UTILITY, 0)));
  pthread_t th;
  CHECK_EQ(pthread_create(&th, NULL, sync_from_thread, NULL), 0);
  CHECK_EQ(pthread_join(th, NULL), 0);
  CHECK(atomic_load(&from_thread_ok));

  /* barrier_sync: earlier async work first, then the barrier alone, then later work. */
  for (int i = 0; i < EARLY; i++) CHECK_OK(rgcd_async_f(cq, NULL, early));
  CHECK_EQ(pthread_create(&th, NULL, run_barrier_sync, NULL), 0);
  WAIT_UNTIL(atomic_load(&barrier_running), 30000);
  for (int i = 0; i < LATE; i++) CHECK_OK(rgcd_async_f(cq, NULL, late));
  CHECK_EQ(pthread_join(th, NULL), 0);
  CHECK_OK(atomic_load(&barrier_sync_status));
  CHECK_EQ(atomic_load(&barrier_done), 1); /* barrier_sync returned after the barrier ran */
  CHECK_EQ(atomic_load(&barrier_saw_early), EARLY);
  CHECK_EQ(atomic_load(&barrier_saw_others), 0);
  WAIT_UNTIL(atomic_load(&late_done) == LATE, 30000);
  CHECK_EQ(atomic_load(&late_before_barrier), 0);

  /* With nothing pending, barrier_sync simply runs the work (once) and returns. */
  struct where w;
  atomic_init(&w.ran, 0);
  CHECK_OK(rgcd_barrier_sync_f(cq, &w, note_thread));
  CHECK_EQ(atomic_load(&w.ran), 1);

  CHECK_OK(rgcd_release(cq));
  return 0;
}
