/* edge_numbers: values at the edges of their range are reported, never wrapped or hung on.
 * - A semaphore signalled at INTPTR_MAX: the signal returns RGCD_ESTATE and leaves the count
 *   unchanged; later waits (timed and not) behave.
 * - rgcd_once_f called from inside its own function for the same predicate: RGCD_EDEADLK
 *   (libdispatch hangs forever); the outer call completes and the predicate ends at ~0.
 * - rgcd_once_f with a predicate rgcd never wrote: RGCD_EINVAL, the function never runs, the
 *   predicate is left as it was. */
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>

static atomic_int ran;
static void count(void *ctx) {
  (void)ctx;
  atomic_fetch_add(&ran, 1);
}

static void check_semaphore_max(void) {
  rgcd_semaphore_t s = rgcd_semaphore_create(INTPTR_MAX - 1);
  CHECK(s != NULL);
  CHECK_OK(rgcd_semaphore_signal(s)); /* now INTPTR_MAX */
  CHECK_ERR(rgcd_semaphore_signal(s), RGCD_ESTATE);
  CHECK(strstr(rgcd_last_error(), "INTPTR_MAX") != NULL);
  CHECK_ERR(rgcd_semaphore_signal(s), RGCD_ESTATE);
  /* The count is still INTPTR_MAX: waits succeed at once, timed or not. */
  CHECK_OK(rgcd_semaphore_wait(s, RGCD_TIME_NOW));
  CHECK_OK(rgcd_semaphore_wait(s, deadline_ms(100)));
  CHECK_OK(rgcd_semaphore_wait(s, RGCD_TIME_FOREVER));
  CHECK_OK(rgcd_semaphore_signal(s)); /* room again */
  CHECK_OK(rgcd_release(s));

  /* Created at INTPTR_MAX: the first signal is refused. */
  s = rgcd_semaphore_create(INTPTR_MAX);
  CHECK(s != NULL);
  CHECK_ERR(rgcd_semaphore_signal(s), RGCD_ESTATE);
  CHECK_OK(rgcd_semaphore_wait(s, deadline_ms(100)));
  CHECK_OK(rgcd_release(s));

  /* A semaphore at 0 still times out (and reports it) after refused signals elsewhere. */
  s = rgcd_semaphore_create(0);
  CHECK(s != NULL);
  CHECK_EQ(rgcd_semaphore_wait(s, deadline_ms(20)), RGCD_TIMED_OUT);
  CHECK_OK(rgcd_release(s));
}

static rgcd_once_t recursive_pred;
static atomic_int inner_status = 12345;
static void once_again(void *ctx) {
  (void)ctx;
  atomic_fetch_add(&ran, 1);
  atomic_store(&inner_status, rgcd_once_f(&recursive_pred, NULL, count));
}

struct waiter {
  rgcd_once_t *pred;
  int status;
};
static void *wait_once(void *arg) {
  struct waiter *w = arg;
  w->status = rgcd_once_f(w->pred, NULL, count);
  return NULL;
}

static rgcd_once_t slow_pred;
static rgcd_semaphore_t slow_started;
static void slow_init(void *ctx) {
  (void)ctx;
  rgcd_semaphore_signal(slow_started);
  sleep_ms(100);
  atomic_fetch_add(&ran, 100);
}
static void *run_slow_once(void *arg) {
  (void)arg;
  CHECK_OK(rgcd_once_f(&slow_pred, NULL, slow_init));
  return NULL;
}

static void check_once(void) {
  /* Recursion on the same thread. */
  atomic_store(&ran, 0);
  CHECK_OK(rgcd_once_f(&recursive_pred, NULL, once_again));
  CHECK_EQ(atomic_load(&inner_status), RGCD_EDEADLK);
  CHECK_EQ(atomic_load(&ran), 1); /* once_again ran; count never did */
  CHECK_EQ(recursive_pred, ~(rgcd_once_t)0);
  CHECK_OK(rgcd_once_f(&recursive_pred, NULL, count)); /* done: nothing runs */
  CHECK_EQ(atomic_load(&ran), 1);

  /* Garbage predicates. */
  rgcd_once_t garbage[] = {1, 2, 0x5a5a5a5a, -2, INTPTR_MAX, INTPTR_MIN};
  for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
    rgcd_once_t pred = garbage[i];
    CHECK_ERR(rgcd_once_f(&pred, NULL, count), RGCD_EINVAL);
    CHECK(strstr(rgcd_last_error(), "zero-initialised") != NULL);
    CHECK_EQ(pred, garbage[i]);
  }
  CHECK_EQ(atomic_load(&ran), 1);

  /* A run in progress on another thread is not garbage: callers wait for it. */
  slow_started = rgcd_semaphore_create(0);
  CHECK(slow_started != NULL);
  pthread_t runner, waiter;
  CHECK(pthread_create(&runner, NULL, run_slow_once, NULL) == 0);
  CHECK_OK(rgcd_semaphore_wait(slow_started, deadline_ms(10000)));
  struct waiter w = {&slow_pred, 12345};
  CHECK(pthread_create(&waiter, NULL, wait_once, &w) == 0);
  CHECK_OK(rgcd_once_f(&slow_pred, NULL, count)); /* waits, then returns without running */
  CHECK_EQ(atomic_load(&ran), 101);
  CHECK(pthread_join(runner, NULL) == 0);
  CHECK(pthread_join(waiter, NULL) == 0);
  CHECK_EQ(w.status, RGCD_OK);
  CHECK_EQ(atomic_load(&ran), 101);
  CHECK_OK(rgcd_release(slow_started));
}

int main(void) {
  start_watchdog(60);
  check_semaphore_max();
  check_once();
  return 0;
}
