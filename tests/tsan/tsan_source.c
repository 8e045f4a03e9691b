/* tsan_source: a data source on a global (concurrent) queue. The caller writes a value, then
 * merges data; the event handler reads it (merge -> handler) and adds to a total that every
 * later handler run updates, on whichever worker runs it (handlers of one source never
 * overlap); the cancel handler reads the total (after the last event handler) and hands it
 * back through a semaphore. */
#include "tsan_check.h"

static long last_value;
static long total;
static long final_total;
static rgcd_source_t src;
static rgcd_semaphore_t delivered, cancelled;

static void on_event(void *ctx) {
  (void)ctx;
  total += last_value * (long)rgcd_source_get_data(src);
  rgcd_semaphore_signal(delivered);
}

static void on_cancel(void *ctx) {
  (void)ctx;
  final_total = total;
  rgcd_semaphore_signal(cancelled);
}

int main(void) {
  delivered = rgcd_semaphore_create(0);
  cancelled = rgcd_semaphore_create(0);
  src = rgcd_source_create(RGCD_SOURCE_TYPE_DATA_ADD, 0, 0, rgcd_get_global_queue(0, 0));
  CHECK(src != NULL);
  CHECK(rgcd_source_set_event_handler_f(src, on_event) == 0);
  CHECK(rgcd_source_set_cancel_handler_f(src, on_cancel) == 0);
  CHECK(rgcd_activate(src) == 0);
  long want = 0;
  for (int i = 1; i <= ROUNDS; i++) {
    last_value = i;
    CHECK(rgcd_source_merge_data(src, 2) == 0);
    want += 2L * i;
    CHECK(rgcd_semaphore_wait(delivered, RGCD_TIME_FOREVER) == 0);
  }
  CHECK(rgcd_source_cancel(src) == 0);
  CHECK(rgcd_semaphore_wait(cancelled, RGCD_TIME_FOREVER) == 0);
  CHECK(final_total == want);
  rgcd_release(src);
  rgcd_release(delivered);
  rgcd_release(cancelled);
  puts("tsan_source: ok");
  return 0;
}
