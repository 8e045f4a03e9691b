/* source_timer_while_handler_blocks: timer A's handler blocks in read(2), which rgcd cannot
 * see, until timer B's handler (on another queue) writes the byte it waits for. The worker
 * that polled the reactor is inside A's handler, so B must be delivered by someone else (the
 * pool's monitor, then another worker), or A never returns. */
#include "check.h"

#include <stdatomic.h>

#define MS ((int64_t)RGCD_NSEC_PER_MSEC)

static int fds[2];
static atomic_int done;

static void on_a(void *ctx) {
  (void)ctx;
  char byte;
  CHECK_EQ(read(fds[0], &byte, 1), 1);
  atomic_store(&done, 1);
}

static void on_b(void *ctx) {
  (void)ctx;
  CHECK_EQ(write(fds[1], "b", 1), 1);
}

static rgcd_source_t one_shot(const char *label, int64_t after, rgcd_function_t handler) {
  rgcd_queue_t q = rgcd_queue_create(label, RGCD_QUEUE_SERIAL);
  CHECK(q != NULL);
  rgcd_source_t s = rgcd_source_create(RGCD_SOURCE_TYPE_TIMER, 0, 0, q);
  CHECK(s != NULL);
  CHECK_OK(rgcd_source_set_event_handler_f(s, handler));
  CHECK_OK(rgcd_source_set_timer(s, rgcd_time(RGCD_TIME_NOW, after), RGCD_TIME_FOREVER, 0));
  CHECK_OK(rgcd_release(q)); /* the source keeps its queue */
  return s;
}

int main(void) {
  CHECK_EQ(pipe(fds), 0);
  rgcd_source_t a = one_shot("blocked-a", 5 * MS, on_a);
  rgcd_source_t b = one_shot("blocked-b", 50 * MS, on_b);
  CHECK_OK(rgcd_activate(a));
  CHECK_OK(rgcd_activate(b));
  uint64_t end = now_ns() + 10000 * (uint64_t)MS;
  while (!atomic_load(&done) && now_ns() < end) sleep_ms(2);
  CHECK(atomic_load(&done)); /* timer B fired while timer A's handler was blocked */
  CHECK_OK(rgcd_source_cancel(a));
  CHECK_OK(rgcd_source_cancel(b));
  CHECK_OK(rgcd_release(a));
  CHECK_OK(rgcd_release(b));
  return 0;
}
