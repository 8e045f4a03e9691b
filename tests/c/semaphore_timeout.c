/* semaphore_timeout: a wait on a zero semaphore times out at its deadline (not before) and
 * leaves the value unchanged; signal returns 1 when it woke a waiter and 0 otherwise; a
 * semaphore created with N lets N waits through at once. */
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>

struct waiter {
  rgcd_semaphore_t sema;
  int forever; /* wait with RGCD_TIME_FOREVER instead of a 30 s deadline */
  atomic_int started;
  int status;
};

static void *wait_thread(void *arg) {
  struct waiter *w = arg;
  atomic_store(&w->started, 1);
  w->status = rgcd_semaphore_wait(w->sema, w->forever ? RGCD_TIME_FOREVER : deadline_ms(30000));
  return NULL;
}

int main(void) {
  start_watchdog(100);

  /* Timeout at the deadline, value unchanged. */
  rgcd_semaphore_t s = rgcd_semaphore_create(0);
  CHECK(s != NULL);
  uint64_t t0 = now_ns();
  rgcd_time_t deadline = deadline_ms(50);
  CHECK_EQ(rgcd_semaphore_wait(s, deadline), RGCD_TIMED_OUT);
  rgcd_time_t after = rgcd_time(RGCD_TIME_NOW, 0);
  uint64_t elapsed = now_ns() - t0;
  printf("semaphore_timeout: 50 ms wait timed out after %.2f ms\n", (double)elapsed / 1e6);
  CHECK(after >= deadline);             /* on rgcd's own clock: not before the deadline */
  CHECK(elapsed >= 49 * 1000000ull);   /* on CLOCK_MONOTONIC, allowing 1 ms of clock skew */

  CHECK_EQ(rgcd_semaphore_wait(s, RGCD_TIME_NOW), RGCD_TIMED_OUT); /* still 0 */
  CHECK_EQ(rgcd_semaphore_signal(s), 0);                            /* nobody waiting */
  CHECK_OK(rgcd_semaphore_wait(s, RGCD_TIME_NOW));                  /* 1 -> 0 at once */
  CHECK_EQ(rgcd_semaphore_wait(s, RGCD_TIME_NOW), RGCD_TIMED_OUT); /* back to 0 */

  /* Several timed-out waits in a row leave no debt behind. */
  for (int i = 0; i < 5; i++) CHECK_EQ(rgcd_semaphore_wait(s, deadline_ms(2)), RGCD_TIMED_OUT);
  CHECK_EQ(rgcd_semaphore_signal(s), 0);
  CHECK_OK(rgcd_semaphore_wait(s, deadline_ms(30000)));

  /* signal returns 1 when it wakes a blocked waiter. The waiter thread may not be blocked
   * yet when we signal (then signal returns 0 and the wait passes straight through), so try
   * with growing pauses until a signal lands on a blocked waiter. */
  int woke = 0;
  for (int attempt = 0; attempt < 20 && !woke; attempt++) {
    struct waiter w = {.sema = s, .status = -100};
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, wait_thread, &w), 0);
    WAIT_UNTIL(atomic_load(&w.started), 30000);
    sleep_ms(10 + 20 * attempt);
    int r = rgcd_semaphore_signal(s);
    CHECK(r == 0 || r == 1);
    woke = r == 1;
    CHECK_EQ(pthread_join(th, NULL), 0);
    CHECK_OK(w.status);
  }
  CHECK(woke);
  CHECK_EQ(rgcd_semaphore_wait(s, RGCD_TIME_NOW), RGCD_TIMED_OUT); /* every signal consumed */
  CHECK_OK(rgcd_release(s));

  /* Created with N: N waits pass at once, the next one times out. */
  rgcd_semaphore_t n = rgcd_semaphore_create(3);
  CHECK(n != NULL);
  for (int i = 0; i < 3; i++) CHECK_OK(rgcd_semaphore_wait(n, RGCD_TIME_NOW));
  CHECK_EQ(rgcd_semaphore_wait(n, deadline_ms(10)), RGCD_TIMED_OUT);
  for (int i = 0; i < 3; i++) CHECK_EQ(rgcd_semaphore_signal(n), 0);
  CHECK_OK(rgcd_semaphore_wait(n, RGCD_TIME_NOW));
  CHECK_EQ(rgcd_semaphore_signal(n), 0);
  CHECK_OK(rgcd_release(n)); /* released at its initial value */

  /* FOREVER waits are woken by a signal from another thread. */
  rgcd_semaphore_t f = rgcd_semaphore_create(0);
  CHECK(f != NULL);
  struct waiter w = {.sema = f, .forever = 1, .status = -100};
  pthread_t th;
  CHECK_EQ(pthread_create(&th, NULL, wait_thread, &w), 0);
  WAIT_UNTIL(atomic_load(&w.started), 30000);
  sleep_ms(20);
  int r = rgcd_semaphore_signal(f);
  CHECK(r == 0 || r == 1);
  CHECK_EQ(pthread_join(th, NULL), 0);
  CHECK_OK(w.status);
  CHECK_OK(rgcd_release(f));
  return 0;
}
