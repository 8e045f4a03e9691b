/* source_release_in_handler: a source whose handler cancels and releases it, the last
 * reference, while the call that let it deliver (rgcd_activate of a timer already due,
 * rgcd_resume of a data source with data pending) may not have returned yet. The call holds a
 * reference of its own until it returns, so the source is freed only after it. Without that,
 * the call could read the freed source: valgrind caught rgcd_activate doing so once in
 * c_source_timer_short_memcheck (a handler released the source a second after its first
 * fire while the main thread, starved under valgrind, was still in rgcd_activate). The
 * window is a few instructions, so this test rarely hits it; it checks the pattern end to
 * end: every handler runs once, every cancel handler once, everything is freed, the process
 * is quiet, and under memcheck no freed memory is read.
 *
 * Argument: rounds (default 2000). */
#include "check.h"

#include <stdatomic.h>

static rgcd_group_t done;
static atomic_long handled;

static void cancel_and_release(void *ctx) {
  rgcd_source_t s = ctx;
  atomic_fetch_add(&handled, 1);
  CHECK_OK(rgcd_source_cancel(s));
  CHECK_OK(rgcd_release(s)); /* the last reference: the one main handed over */
}

static void left(void *ctx) {
  (void)ctx;
  CHECK_OK(rgcd_group_leave(done));
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 2000;
  start_watchdog(100);
  size_t base = rgcd_debug_live_objects();
  done = rgcd_group_create();
  CHECK(done != NULL);
  rgcd_queue_t gq = rgcd_get_global_queue(0, 0);

  for (int i = 0; i < rounds; i++) {
    /* A timer due now: it may fire, and be released, before rgcd_activate returns. */
    rgcd_source_t t = rgcd_source_create(RGCD_SOURCE_TYPE_TIMER, 0, 0, gq);
    CHECK(t != NULL);
    CHECK_OK(rgcd_set_context(t, t));
    CHECK_OK(rgcd_source_set_event_handler_f(t, cancel_and_release));
    CHECK_OK(rgcd_source_set_cancel_handler_f(t, left));
    CHECK_OK(rgcd_source_set_timer(t, RGCD_TIME_NOW, RGCD_NSEC_PER_SEC, 0));
    CHECK_OK(rgcd_group_enter(done));
    CHECK_OK(rgcd_activate(t)); /* t is not touched after this */

    /* A data source with data pending while suspended: resuming lets it deliver. */
    rgcd_source_t d = rgcd_source_create(RGCD_SOURCE_TYPE_DATA_ADD, 0, 0, gq);
    CHECK(d != NULL);
    CHECK_OK(rgcd_set_context(d, d));
    CHECK_OK(rgcd_source_set_event_handler_f(d, cancel_and_release));
    CHECK_OK(rgcd_source_set_cancel_handler_f(d, left));
    CHECK_OK(rgcd_activate(d));
    CHECK_OK(rgcd_suspend(d));
    CHECK_OK(rgcd_source_merge_data(d, 1));
    CHECK_OK(rgcd_group_enter(done));
    CHECK_OK(rgcd_resume(d)); /* d is not touched after this */
  }
  CHECK_OK(rgcd_group_wait(done, deadline_ms(30000)));
  CHECK_EQ(atomic_load(&handled), 2L * rounds);
  CHECK_OK(rgcd_release(done));
  check_quiet_and_freed(base, "source_release_in_handler");
  printf("source_release_in_handler: %d rounds\n", rounds);
  return 0;
}
