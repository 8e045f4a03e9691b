/* source_handler_ctx: handlers with their own context (rgcd_source_set_handler_ctx_f).
 * The handler gets its context, not the source's; the release function runs exactly once per
 * handler: when it is replaced (after a call in flight returned), after the cancel handler
 * ran, never before; a failed set never releases. */
#include "check.h"
#include <stdatomic.h>

static atomic_int released[4];
static atomic_int calls[4];
static atomic_int in_slow;
static rgcd_semaphore_t done;

static void on_event(void *ctx) {
  int id = (int)(intptr_t)ctx;
  atomic_fetch_add(&calls[id], 1);
  if (id == 0) {
    atomic_store(&in_slow, 1);
    sleep_ms(50);
    atomic_store(&in_slow, 0);
  }
}

static void on_cancel(void *ctx) {
  atomic_fetch_add(&calls[(int)(intptr_t)ctx], 1);
  rgcd_semaphore_signal(done);
}

static void release(void *ctx) {
  int id = (int)(intptr_t)ctx;
  /* The slow handler (id 0) must have returned before its context is released. */
  if (id == 0 && atomic_load(&in_slow)) _exit(5);
  atomic_fetch_add(&released[id], 1);
}

int main(void) {
  start_watchdog(60);
  done = rgcd_semaphore_create(0);
  rgcd_queue_t q = rgcd_queue_create("ctx", RGCD_QUEUE_SERIAL);
  rgcd_source_t s = rgcd_source_create(RGCD_SOURCE_TYPE_DATA_ADD, 0, 0, q);
  CHECK(s != NULL);
  int marker = 42;
  CHECK_OK(rgcd_set_context(s, &marker));
  CHECK_OK(rgcd_source_set_handler_ctx_f(s, RGCD_SOURCE_HANDLER_EVENT, on_event, (void *)(intptr_t)0, release));
  CHECK_OK(rgcd_source_set_handler_ctx_f(s, RGCD_SOURCE_HANDLER_CANCEL, on_cancel, (void *)(intptr_t)2, release));
  /* Failures keep the context: no release. */
  CHECK_ERR(rgcd_source_set_handler_ctx_f(s, RGCD_SOURCE_HANDLER_EVENT, NULL, (void *)(intptr_t)3, release), RGCD_EINVAL);
  CHECK_ERR(rgcd_source_set_handler_ctx_f(s, 9, on_event, (void *)(intptr_t)3, release), RGCD_EINVAL);
  CHECK_ERR(rgcd_source_set_handler_ctx_f(NULL, RGCD_SOURCE_HANDLER_EVENT, on_event, (void *)(intptr_t)3, release), RGCD_EINVAL);
  CHECK_OK(rgcd_activate(s));
  CHECK_OK(rgcd_source_merge_data(s, 1));
  WAIT_UNTIL(atomic_load(&in_slow) == 1, 10000);
  /* Replace the event handler while the old one runs: its release waits for it. */
  CHECK_OK(rgcd_source_set_handler_ctx_f(s, RGCD_SOURCE_HANDLER_EVENT, on_event, (void *)(intptr_t)1, release));
  WAIT_UNTIL(atomic_load(&released[0]) == 1, 10000);
  CHECK_EQ(atomic_load(&calls[0]), 1);
  CHECK_OK(rgcd_source_merge_data(s, 1));
  WAIT_UNTIL(atomic_load(&calls[1]) == 1, 10000);
  CHECK_EQ(atomic_load(&released[1]), 0);
  CHECK_OK(rgcd_source_cancel(s));
  CHECK_OK(rgcd_semaphore_wait(done, deadline_ms(10000)));
  /* After the cancel handler: both remaining handlers are released, once. */
  WAIT_UNTIL(atomic_load(&released[1]) == 1 && atomic_load(&released[2]) == 1, 10000);
  CHECK_OK(rgcd_release(s));
  sleep_ms(20);
  CHECK_EQ(atomic_load(&released[0]), 1);
  CHECK_EQ(atomic_load(&released[1]), 1);
  CHECK_EQ(atomic_load(&released[2]), 1);
  CHECK_EQ(atomic_load(&released[3]), 0);
  CHECK_EQ(atomic_load(&calls[2]), 1);
  CHECK_OK(rgcd_release(q));
  CHECK_OK(rgcd_release(done));
  printf("source_handler_ctx: ok\n");
  return 0;
}
