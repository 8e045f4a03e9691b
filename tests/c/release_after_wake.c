/* release_after_wake: the common `_f` pattern where work borrows the waiter's reference to
 * wake it: the work signals a semaphore (or leaves a group) passed as its context, and the
 * waiter releases the last reference as soon as its wait returns, while the signal (or
 * leave) that woke it may still be on its way out. rgcd's signal and leave hold a reference
 * of their own for that, so nothing is touched after it is freed (run it under valgrind to
 * see that: the optional argument sets the number of rounds).
 *
 * The group rounds poll with short waits, as programs that do other work between waits do:
 * a wait may then find the group already empty while the leave that emptied it still runs. */
#include "check.h"

static void signal_it(void *ctx) { CHECK((rgcd_semaphore_signal(ctx) & ~1) == 0); }

static void leave_it(void *ctx) { CHECK_OK(rgcd_group_leave(ctx)); }

int main(int argc, char **argv) {
  start_watchdog(110);
  int rounds = argc > 1 ? atoi(argv[1]) : 2000;
  CHECK(rounds > 0);
  rgcd_queue_t global = rgcd_get_global_queue(RGCD_QOS_DEFAULT, 0);
  CHECK(global != NULL);

  for (int i = 0; i < rounds; i++) {
    rgcd_semaphore_t s = rgcd_semaphore_create(0);
    CHECK(s != NULL);
    CHECK_OK(rgcd_async_f(global, s, signal_it));
    CHECK_OK(rgcd_semaphore_wait(s, deadline_ms(10000)));
    CHECK_OK(rgcd_release(s)); /* the signal may not have returned yet */
  }

  for (int i = 0; i < rounds; i++) {
    rgcd_group_t g = rgcd_group_create();
    CHECK(g != NULL);
    CHECK_OK(rgcd_group_enter(g));
    CHECK_OK(rgcd_async_f(global, g, leave_it));
    uint64_t give_up = now_ns() + 10ull * 1000 * 1000 * 1000;
    int r;
    while ((r = rgcd_group_wait(g, rgcd_time(RGCD_TIME_NOW, 20000))) == RGCD_TIMED_OUT) {
      CHECK(now_ns() < give_up);
    }
    CHECK_OK(r);
    CHECK_OK(rgcd_release(g)); /* the leave may not have returned yet */
  }
  return 0;
}
