/* source_timer_sole: a repeating timer that is the reactor's only registration. When its
 * fire is delivered, the poller leaves to run the handler without arming the pool monitor's
 * look (nothing else can fall due; src/pool/README.md). What must still hold:
 *  - the handler blocks (in read(2), which rgcd cannot see) for many intervals: the fires it
 *    misses arrive as one delivery when it returns (its data counts them), and the timer goes
 *    on firing afterwards;
 *  - what unblocks it is registered while it blocks, from the main thread: a second timer,
 *    then (second round) an `after`, then (third round) a read source — each is delivered
 *    although no poller was left behind, because a new registration gets one itself.
 * Then everything is freed and the process is quiet. */
#include "check.h"

#include <stdatomic.h>

#define MS ((int64_t)RGCD_NSEC_PER_MSEC)

static int fds[2];
static atomic_int fires;
static atomic_int blocked_now;
static atomic_int block_once;
static atomic_ulong max_data;

static void on_tick(void *ctx) {
  rgcd_source_t s = ctx;
  unsigned long d = rgcd_source_get_data(s);
  unsigned long m = atomic_load(&max_data);
  while (d > m && !atomic_compare_exchange_weak(&max_data, &m, d)) {
  }
  atomic_fetch_add(&fires, 1);
  if (atomic_exchange(&block_once, 0)) {
    atomic_store(&blocked_now, 1);
    char byte;
    CHECK_EQ(read(fds[0], &byte, 1), 1);
    atomic_store(&blocked_now, 0);
  }
}

static void write_byte(void *ctx) {
  (void)ctx;
  CHECK_EQ(write(fds[1], "u", 1), 1);
}

static void on_readable(void *ctx) {
  rgcd_source_t s = ctx;
  write_byte(NULL);
  CHECK_OK(rgcd_source_cancel(s));
}

static int pipe_b[2];

int main(void) {
  start_watchdog(60);
  size_t base = rgcd_debug_live_objects();
  CHECK_EQ(pipe(fds), 0);
  CHECK_EQ(pipe(pipe_b), 0);
  rgcd_queue_t q = rgcd_queue_create("sole.timer", RGCD_QUEUE_SERIAL);
  rgcd_queue_t other = rgcd_queue_create("sole.other", RGCD_QUEUE_SERIAL);
  rgcd_source_t t = rgcd_source_create(RGCD_SOURCE_TYPE_TIMER, 0, 0, q);
  CHECK(q != NULL && other != NULL && t != NULL);
  CHECK_OK(rgcd_set_context(t, t));
  CHECK_OK(rgcd_source_set_event_handler_f(t, on_tick));
  CHECK_OK(rgcd_source_set_timer(t, rgcd_time(RGCD_TIME_NOW, 2 * MS), 2 * MS, 0));
  CHECK_OK(rgcd_activate(t));
  WAIT_UNTIL(atomic_load(&fires) >= 5, 10000);

  for (int round = 0; round < 3; round++) {
    atomic_store(&max_data, 0);
    atomic_store(&block_once, 1);
    WAIT_UNTIL(atomic_load(&blocked_now), 10000);
    sleep_ms(30); /* about 15 intervals missed while the handler blocks */
    rgcd_source_t b = NULL;
    if (round == 0) { /* a second timer, registered now */
      b = rgcd_source_create(RGCD_SOURCE_TYPE_TIMER, 0, 0, other);
      CHECK(b != NULL);
      CHECK_OK(rgcd_source_set_event_handler_f(b, write_byte));
      CHECK_OK(rgcd_source_set_timer(b, rgcd_time(RGCD_TIME_NOW, 1 * MS), RGCD_TIME_FOREVER, 0));
      CHECK_OK(rgcd_activate(b));
    } else if (round == 1) { /* an after */
      CHECK_OK(rgcd_after_f(rgcd_time(RGCD_TIME_NOW, 1 * MS), other, NULL, write_byte));
    } else { /* a read source on a pipe that already has a byte */
      CHECK_EQ(write(pipe_b[1], "r", 1), 1);
      b = rgcd_source_create(RGCD_SOURCE_TYPE_READ, (uintptr_t)pipe_b[0], 0, other);
      CHECK(b != NULL);
      CHECK_OK(rgcd_set_context(b, b));
      CHECK_OK(rgcd_source_set_event_handler_f(b, on_readable));
      CHECK_OK(rgcd_activate(b));
    }
    WAIT_UNTIL(!atomic_load(&blocked_now), 10000);
    int before = atomic_load(&fires);
    WAIT_UNTIL(atomic_load(&fires) >= before + 3, 10000); /* still firing */
    if (atomic_load(&max_data) < 5) {
      fprintf(stderr, "round %d: the missed fires were not counted (largest data %lu)\n", round,
              atomic_load(&max_data));
      return 1;
    }
    if (b != NULL) {
      if (round == 0) CHECK_OK(rgcd_source_cancel(b));
      CHECK_OK(rgcd_release(b));
    }
  }
  CHECK_OK(rgcd_source_cancel(t));
  CHECK_OK(rgcd_release(t));
  CHECK_OK(rgcd_release(q));
  CHECK_OK(rgcd_release(other));
  check_quiet_and_freed(base, "source_timer_sole");
  close(fds[0]);
  close(fds[1]);
  close(pipe_b[0]);
  close(pipe_b[1]);
  puts("source_timer_sole: ok");
  return 0;
}
