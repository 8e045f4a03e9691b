/* group_wait_notify: waiting with a deadline on a group with pending work times out, a later
 * wait succeeds; notify runs once after all the work, on the given queue; notify on an empty
 * group runs at once; enter/leave by hand; a group is reusable after reaching zero. */
#include "check.h"

#include <stdatomic.h>

#define ITEMS 10

static rgcd_semaphore_t gate;
static atomic_int gate_errors;
static atomic_int done;

static void gated_work(void *ctx) {
  (void)ctx;
  if (rgcd_semaphore_wait(gate, deadline_ms(30000)) != 0) atomic_fetch_add(&gate_errors, 1);
  sleep_ms(5);
  atomic_fetch_add(&done, 1);
}

struct notified {
  atomic_int calls;
  int done_seen; /* `done` when the notify ran */
  int label_ok;
  const char *expect_label;
};

static void on_notify(void *ctx) {
  struct notified *n = ctx;
  n->done_seen = atomic_load(&done);
  if (n->expect_label != NULL) {
    const char *label = rgcd_queue_get_label(NULL);
    n->label_ok = label != NULL && strcmp(label, n->expect_label) == 0;
  } else {
    n->label_ok = 1;
  }
  atomic_fetch_add(&n->calls, 1);
}

int main(void) {
  start_watchdog(100);
  gate = rgcd_semaphore_create(0);
  CHECK(gate != NULL);
  rgcd_queue_t global = rgcd_get_global_queue(RGCD_QOS_DEFAULT, 0);
  rgcd_queue_t nq = rgcd_queue_create("group_wait_notify.notify", RGCD_QUEUE_SERIAL);
  CHECK(global != NULL && nq != NULL);

  /* Wait times out while work is pending; notify waits for all of it. */
  rgcd_group_t g = rgcd_group_create();
  CHECK(g != NULL);
  for (int i = 0; i < ITEMS; i++) CHECK_OK(rgcd_group_async_f(g, global, NULL, gated_work));
  struct notified n1 = {.expect_label = "group_wait_notify.notify"};
  CHECK_OK(rgcd_group_notify_f(g, nq, &n1, on_notify));

  CHECK_EQ(rgcd_group_wait(g, deadline_ms(50)), RGCD_TIMED_OUT);
  CHECK_EQ(rgcd_group_wait(g, RGCD_TIME_NOW), RGCD_TIMED_OUT);
  sleep_ms(50);
  CHECK_EQ(atomic_load(&n1.calls), 0);

  for (int i = 0; i < ITEMS; i++) rgcd_semaphore_signal(gate);
  CHECK_OK(rgcd_group_wait(g, deadline_ms(30000)));
  CHECK_EQ(atomic_load(&done), ITEMS);
  CHECK_EQ(atomic_load(&gate_errors), 0);
  WAIT_UNTIL(atomic_load(&n1.calls) >= 1, 30000);
  CHECK_EQ(n1.done_seen, ITEMS);
  CHECK(n1.label_ok);
  sleep_ms(100);
  CHECK_EQ(atomic_load(&n1.calls), 1);

  /* The same group again, now at zero: wait returns at once, notify runs at once. */
  CHECK_OK(rgcd_group_wait(g, RGCD_TIME_NOW));
  struct notified n2 = {0};
  CHECK_OK(rgcd_group_notify_f(g, global, &n2, on_notify));
  WAIT_UNTIL(atomic_load(&n2.calls) >= 1, 30000);

  /* Notify on a brand-new empty group runs at once too. */
  rgcd_group_t empty = rgcd_group_create();
  CHECK(empty != NULL);
  CHECK_OK(rgcd_group_wait(empty, RGCD_TIME_NOW));
  struct notified n3 = {.expect_label = "group_wait_notify.notify"};
  CHECK_OK(rgcd_group_notify_f(empty, nq, &n3, on_notify));
  WAIT_UNTIL(atomic_load(&n3.calls) >= 1, 30000);
  CHECK(n3.label_ok);

  /* Enter and leave by hand, and reuse after zero. */
  rgcd_group_t h = rgcd_group_create();
  CHECK(h != NULL);
  for (int round = 0; round < 3; round++) {
    CHECK_OK(rgcd_group_enter(h));
    CHECK_OK(rgcd_group_enter(h));
    CHECK_EQ(rgcd_group_wait(h, deadline_ms(20)), RGCD_TIMED_OUT);
    struct notified nh = {0};
    CHECK_OK(rgcd_group_notify_f(h, global, &nh, on_notify));
    CHECK_OK(rgcd_group_leave(h));
    CHECK_EQ(rgcd_group_wait(h, deadline_ms(20)), RGCD_TIMED_OUT);
    sleep_ms(20);
    CHECK_EQ(atomic_load(&nh.calls), 0);
    CHECK_OK(rgcd_group_leave(h));
    CHECK_OK(rgcd_group_wait(h, deadline_ms(30000)));
    WAIT_UNTIL(atomic_load(&nh.calls) >= 1, 30000);
    sleep_ms(20);
    CHECK_EQ(atomic_load(&nh.calls), 1);
  }
  /* Leaving once more than entered is reported and does not break the group. */
  CHECK_ERR(rgcd_group_leave(h), RGCD_ESTATE);
  CHECK_OK(rgcd_group_enter(h));
  CHECK_EQ(rgcd_group_wait(h, RGCD_TIME_NOW), RGCD_TIMED_OUT);
  CHECK_OK(rgcd_group_leave(h));
  CHECK_OK(rgcd_group_wait(h, RGCD_TIME_NOW));

  /* Manual enter/leave mixed with group_async on the same group. */
  CHECK_OK(rgcd_group_enter(h));
  CHECK_OK(rgcd_group_async_f(h, global, NULL, gated_work));
  rgcd_semaphore_signal(gate);
  CHECK_OK(rgcd_group_leave(h));
  CHECK_OK(rgcd_group_wait(h, deadline_ms(30000)));
  CHECK_EQ(atomic_load(&done), ITEMS + 1);

  CHECK_OK(rgcd_release(h));
  CHECK_OK(rgcd_release(empty));
  CHECK_OK(rgcd_release(g));
  CHECK_OK(rgcd_release(nq));
  CHECK_OK(rgcd_release(gate));
  return 0;
}
