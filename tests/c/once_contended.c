/* once_contended: 16 threads race rgcd_once_f on one predicate. The function runs exactly
 * once, and every caller returns only after it has finished. */
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>

#define THREADS 16

static rgcd_once_t predicate;
static atomic_int calls;
static atomic_int initialized;
static pthread_barrier_t start_line;
static rgcd_semaphore_t returned;

struct caller {
  int status;
  int saw_initialized;
};

static void init_once(void *ctx) {
  CHECK(ctx == &predicate);
  atomic_fetch_add(&calls, 1);
  sleep_ms(100); /* let the other callers pile up behind us */
  atomic_store(&initialized, 1);
}

static void *race(void *arg) {
  struct caller *c = arg;
  pthread_barrier_wait(&start_line);
  c->status = rgcd_once_f(&predicate, &predicate, init_once);
  c->saw_initialized = atomic_load(&initialized);
  rgcd_semaphore_signal(returned);
  return NULL;
}

static atomic_int second_calls;
static void count_second(void *ctx) {
  (void)ctx;
  atomic_fetch_add(&second_calls, 1);
}

int main(void) {
  start_watchdog(100);
  returned = rgcd_semaphore_create(0);
  CHECK(returned != NULL);
  CHECK_EQ(pthread_barrier_init(&start_line, NULL, THREADS), 0);

  pthread_t threads[THREADS];
  struct caller callers[THREADS];
  for (int i = 0; i < THREADS; i++) {
    callers[i].status = -100;
    callers[i].saw_initialized = 0;
    CHECK_EQ(pthread_create(&threads[i], NULL, race, &callers[i]), 0);
  }
  rgcd_time_t deadline = deadline_ms(30000);
  for (int i = 0; i < THREADS; i++) CHECK_OK(rgcd_semaphore_wait(returned, deadline));
  for (int i = 0; i < THREADS; i++) CHECK_EQ(pthread_join(threads[i], NULL), 0);

  CHECK_EQ(atomic_load(&calls), 1);
  for (int i = 0; i < THREADS; i++) {
    CHECK_OK(callers[i].status);
    CHECK_EQ(callers[i].saw_initialized, 1);
  }
  CHECK_EQ(predicate, ~(rgcd_once_t)0);

  /* Later calls return at once without calling anything. */
  CHECK_OK(rgcd_once_f(&predicate, NULL, count_second));
  CHECK_EQ(atomic_load(&second_calls), 0);
  CHECK_EQ(atomic_load(&calls), 1);

  /* A fresh predicate on one thread. */
  rgcd_once_t other = 0;
  CHECK_OK(rgcd_once_f(&other, NULL, count_second));
  CHECK_OK(rgcd_once_f(&other, NULL, count_second));
  CHECK_EQ(atomic_load(&second_calls), 1);
  CHECK_EQ(other, ~(rgcd_once_t)0);

  pthread_barrier_destroy(&start_line);
  CHECK_OK(rgcd_release(returned));
  return 0;
}
