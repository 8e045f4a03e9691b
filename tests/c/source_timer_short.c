/* source_timer_short: libdispatch's dispatch_timer_short scenario. 25,000 repeating 5 us
 * timers target a serial queue that is suspended once they are registered (each suspends
 * itself in its registration handler, then all are resumed with the queue suspended): their
 * fires can never be delivered. One more 5 us timer on a global queue is measured for one
 * second, cancelled by an `after`, and the test finishes in its finalizer, which cancels the
 * 25,000. The test checks that it ends, that the finalizer runs, that every object is freed
 * and that the process is quiet after. The fire rate is printed, not asserted: it belongs to
 * the benchmark (rgcd_bench_sources, row timers_suspended_25k). */
#include "check.h"

#include <stdatomic.h>

#define N 25000
#define INTERVAL_NS 5000ull

static rgcd_source_t timers[N];
static rgcd_queue_t q;
static rgcd_group_t registered;
static atomic_long count;
static atomic_int finalized;
static uint64_t start_ns;

static void timer_registered(void *ctx) {
  rgcd_source_t t = ctx;
  CHECK_OK(rgcd_suspend(t));
  CHECK_OK(rgcd_group_leave(registered));
}

static void never(void *ctx) {
  (void)ctx;
  fprintf(stderr, "source_timer_short: a timer on the suspended queue fired\n");
  exit(1);
}

static void cancel_measured(void *ctx) {
  rgcd_source_t s = ctx;
  CHECK_OK(rgcd_source_cancel(s));
  CHECK_OK(rgcd_release(s));
}

static void measured_fired(void *ctx) {
  rgcd_source_t s = ctx;
  if (atomic_fetch_add(&count, 1) == 0) {
    CHECK_OK(rgcd_after_f(rgcd_time(RGCD_TIME_NOW, (int64_t)RGCD_NSEC_PER_SEC),
                          rgcd_get_global_queue(RGCD_QOS_DEFAULT, 0), s, cancel_measured));
  }
}

static void measured_finalized(void *ctx) {
  CHECK(ctx != NULL);
  double secs = (double)(now_ns() - start_ns) / 1e9;
  long n = atomic_load(&count);
  printf("source_timer_short: %ld calls of the measured 5 us timer in %.2f s (%.0f/s) with %d "
         "undeliverable timers\n",
         n, secs, (double)n / secs, N);
  for (int i = 0; i < N; i++) {
    CHECK_OK(rgcd_source_cancel(timers[i]));
    CHECK_OK(rgcd_release(timers[i]));
  }
  CHECK_OK(rgcd_resume(q));
  CHECK_OK(rgcd_release(q));
  CHECK_OK(rgcd_release(registered));
  atomic_store(&finalized, 1);
}

int main(void) {
  start_watchdog(100);
  size_t base = rgcd_debug_live_objects();
  registered = rgcd_group_create();
  q = rgcd_queue_create("source_timer_short.q", RGCD_QUEUE_SERIAL);
  CHECK(registered != NULL && q != NULL);
  for (int i = 0; i < N; i++) {
    timers[i] = rgcd_source_create(RGCD_SOURCE_TYPE_TIMER, 0, 0, q);
    CHECK(timers[i] != NULL);
    CHECK_OK(rgcd_source_set_timer(timers[i], RGCD_TIME_NOW, INTERVAL_NS, 0));
    CHECK_OK(rgcd_group_enter(registered));
    CHECK_OK(rgcd_source_set_handler_ctx_f(timers[i], RGCD_SOURCE_HANDLER_REGISTRATION,
                                           timer_registered, timers[i], NULL));
    CHECK_OK(rgcd_source_set_event_handler_f(timers[i], never));
    CHECK_OK(rgcd_activate(timers[i]));
  }
  CHECK_EQ(rgcd_group_wait(registered, deadline_ms(60000)), 0);
  CHECK_OK(rgcd_suspend(q));
  for (int i = 0; i < N; i++) CHECK_OK(rgcd_resume(timers[i]));

  rgcd_source_t s =
      rgcd_source_create(RGCD_SOURCE_TYPE_TIMER, 0, 0, rgcd_get_global_queue(RGCD_QOS_DEFAULT, 0));
  CHECK(s != NULL);
  CHECK_OK(rgcd_source_set_timer(s, RGCD_TIME_NOW, INTERVAL_NS, 0));
  CHECK_OK(rgcd_set_context(s, s));
  CHECK_OK(rgcd_source_set_event_handler_f(s, measured_fired));
  CHECK_OK(rgcd_set_finalizer_f(s, measured_finalized));
  start_ns = now_ns();
  CHECK_OK(rgcd_activate(s));

  WAIT_UNTIL(atomic_load(&finalized) == 1, 60000);
  CHECK(atomic_load(&count) > 0);
  check_quiet_and_freed(base, "source_timer_short");
  return 0;
}
