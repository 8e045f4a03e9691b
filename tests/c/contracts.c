/* contracts: calls whose documented contract once differed from what they did.
 * - A wait that times out sets rgcd_last_error() (to a message naming the call).
 * - rgcd_queue_get_label never returns NULL: "" for a bad handle, with a message.
 * - rgcd_queue_get_qos_class writes 0 to *relative_priority on error too.
 * - rgcd_queue_set_specific refuses global queues (RGCD_ENOTSUP, as rgcd_set_context does)
 *   and never calls the destructor it refused; the main queue accepts values.
 * - The last release of a suspended or inactive queue with work queued returns RGCD_ESTATE,
 *   names the queue, and the discarded work never runs; the queue is freed all the same. */
#include "check.h"

#include <stdatomic.h>

static atomic_int must_not_run_calls;
static void must_not_run(void *ctx) {
  (void)ctx;
  atomic_fetch_add(&must_not_run_calls, 1);
}

static atomic_int destroyed;
static void destroy(void *ctx) {
  (void)ctx;
  atomic_fetch_add(&destroyed, 1);
}

static char key;
static int token;

/* Leaves a known message in rgcd_last_error(), so a later check sees a fresh one. */
static void poison_last_error(void) {
  CHECK_ERR(rgcd_retain(NULL), RGCD_EINVAL);
  CHECK(strstr(rgcd_last_error(), "NULL") != NULL);
}

static void check_timeouts(void) {
  rgcd_semaphore_t s = rgcd_semaphore_create(0);
  rgcd_group_t g = rgcd_group_create();
  CHECK(s != NULL && g != NULL);

  poison_last_error();
  CHECK_EQ(rgcd_semaphore_wait(s, RGCD_TIME_NOW), RGCD_TIMED_OUT);
  CHECK(strstr(rgcd_last_error(), "rgcd_semaphore_wait") != NULL);
  poison_last_error();
  CHECK_EQ(rgcd_semaphore_wait(s, deadline_ms(20)), RGCD_TIMED_OUT);
  CHECK(strstr(rgcd_last_error(), "deadline") != NULL);

  CHECK_OK(rgcd_group_enter(g));
  poison_last_error();
  CHECK_EQ(rgcd_group_wait(g, RGCD_TIME_NOW), RGCD_TIMED_OUT);
  CHECK(strstr(rgcd_last_error(), "rgcd_group_wait") != NULL);
  poison_last_error();
  CHECK_EQ(rgcd_group_wait(g, deadline_ms(20)), RGCD_TIMED_OUT);
  CHECK(strstr(rgcd_last_error(), "deadline") != NULL);
  CHECK_OK(rgcd_group_leave(g));
  CHECK_OK(rgcd_group_wait(g, RGCD_TIME_NOW));

  /* A wait that succeeds leaves the message alone. */
  poison_last_error();
  CHECK_OK(rgcd_semaphore_signal(s));
  CHECK_OK(rgcd_semaphore_wait(s, deadline_ms(1000)));
  CHECK(strstr(rgcd_last_error(), "NULL") != NULL);

  CHECK_OK(rgcd_release(s));
  CHECK_OK(rgcd_release(g));
}

static void check_label_and_qos(void) {
  rgcd_group_t g = rgcd_group_create();
  CHECK(g != NULL);
  poison_last_error();
  const char *label = rgcd_queue_get_label((rgcd_queue_t)(void *)g);
  CHECK(label != NULL && label[0] == '\0');
  CHECK(strstr(rgcd_last_error(), "not a queue") != NULL);

  rgcd_queue_t q = rgcd_queue_create("contracts.label", RGCD_QUEUE_SERIAL);
  CHECK(q != NULL);
  CHECK(strcmp(rgcd_queue_get_label(q), "contracts.label") == 0);
  CHECK(strcmp(rgcd_queue_get_label(NULL), "rgcd.main-thread") == 0); /* the main thread */

  int rel = 42;
  CHECK_EQ(rgcd_queue_get_qos_class(NULL, &rel), RGCD_QOS_UNSPECIFIED);
  CHECK_EQ(rel, 0);
  CHECK(rgcd_last_error()[0] != '\0');
  rel = 42;
  CHECK_EQ(rgcd_queue_get_qos_class((rgcd_queue_t)(void *)g, &rel), RGCD_QOS_UNSPECIFIED);
  CHECK_EQ(rel, 0);
  rel = 42;
  CHECK_EQ(rgcd_queue_get_qos_class(q, &rel), RGCD_QOS_DEFAULT);
  CHECK_EQ(rel, 0);
  CHECK_EQ(rgcd_queue_get_qos_class(q, NULL), RGCD_QOS_DEFAULT);

  CHECK_OK(rgcd_release(q));
  CHECK_OK(rgcd_release(g));
}

static void check_specific_on_global_queues(void) {
  static const intptr_t ids[] = {RGCD_QOS_USER_INTERACTIVE, RGCD_QOS_USER_INITIATED,
                                 RGCD_QOS_DEFAULT,          RGCD_QOS_UTILITY,
                                 RGCD_QOS_BACKGROUND,       RGCD_QOS_MAINTENANCE};
  for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
    rgcd_queue_t global = rgcd_get_global_queue(ids[i], 0);
    CHECK(global != NULL);
    CHECK_ERR(rgcd_set_context(global, &token), RGCD_ENOTSUP);
    CHECK_ERR(rgcd_queue_set_specific(global, &key, &token, destroy), RGCD_ENOTSUP);
    CHECK(rgcd_queue_get_specific(global, &key) == NULL);
  }
  /* The main queue is a serial queue: it takes queue-specific data (a common way to tell
   * "am I on the main queue?"). */
  rgcd_queue_t main_q = rgcd_get_main_queue();
  CHECK_OK(rgcd_queue_set_specific(main_q, &key, &token, NULL));
  CHECK(rgcd_queue_get_specific(main_q, &key) == &token);
  CHECK_OK(rgcd_queue_set_specific(main_q, &key, NULL, NULL));
  CHECK(rgcd_queue_get_specific(main_q, &key) == NULL);
}

static void check_release_suspended(void) {
  size_t base = rgcd_debug_live_objects();

  /* Suspended, with work queued: reported, work discarded, queue freed. */
  rgcd_queue_t q = rgcd_queue_create("contracts.suspended", RGCD_QUEUE_SERIAL);
  CHECK(q != NULL);
  CHECK_OK(rgcd_suspend(q));
  for (int i = 0; i < 3; i++) CHECK_OK(rgcd_async_f(q, NULL, must_not_run));
  CHECK_ERR(rgcd_release(q), RGCD_ESTATE);
  CHECK(strstr(rgcd_last_error(), "contracts.suspended") != NULL);
  CHECK(strstr(rgcd_last_error(), "3 pending") != NULL);
  CHECK(strstr(rgcd_last_error(), "suspended") != NULL);

  /* Inactive, with work queued: the same. */
  rgcd_queue_t qi =
      rgcd_queue_create("contracts.inactive", RGCD_QUEUE_CONCURRENT | RGCD_QUEUE_INACTIVE);
  CHECK(qi != NULL);
  CHECK_OK(rgcd_async_f(qi, NULL, must_not_run));
  CHECK_ERR(rgcd_release(qi), RGCD_ESTATE);
  CHECK(strstr(rgcd_last_error(), "contracts.inactive") != NULL);
  CHECK(strstr(rgcd_last_error(), "inactive") != NULL);

  /* Suspended but empty, or suspended with another reference held: nothing is lost. */
  rgcd_queue_t qe = rgcd_queue_create("contracts.empty", RGCD_QUEUE_SERIAL);
  CHECK(qe != NULL);
  CHECK_OK(rgcd_suspend(qe));
  CHECK_OK(rgcd_release(qe));

  rgcd_queue_t qr = rgcd_queue_create("contracts.retained", RGCD_QUEUE_SERIAL);
  CHECK(qr != NULL);
  CHECK_OK(rgcd_suspend(qr));
  CHECK_OK(rgcd_async_f(qr, NULL, destroy));
  CHECK_OK(rgcd_retain(qr));
  CHECK_OK(rgcd_release(qr)); /* not the last reference */
  CHECK_OK(rgcd_resume(qr));
  CHECK_OK(rgcd_release(qr)); /* active: the work keeps the queue alive until it ran */
  WAIT_UNTIL(atomic_load(&destroyed) == 1, 10000);

  WAIT_UNTIL(rgcd_debug_live_objects() == base, 10000);
  sleep_ms(50);
  CHECK_EQ(atomic_load(&must_not_run_calls), 0);
}

int main(void) {
  start_watchdog(60);
  check_timeouts();
  check_label_and_qos();
  check_specific_on_global_queues();
  check_release_suspended();
  CHECK_EQ(atomic_load(&destroyed), 1);
  CHECK_EQ(atomic_load(&must_not_run_calls), 0);
  return 0;
}
