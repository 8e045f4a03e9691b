/* specific_data: queue-specific data. rgcd_queue_get_specific reads one queue;
 * rgcd_get_specific reads the queue running the caller, then its target chain, also while a
 * sync runs inline on the caller's thread. Destructors run when a value is replaced and when
 * the queue dies. rgcd_queue_get_label(NULL) names the current queue. */
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>

static char key_q, key_t, key_unused; /* keys are addresses */

struct value {
  const char *name;
  atomic_int destroyed;
};

static struct value v_q1 = {.name = "q value 1"}, v_q2 = {.name = "q value 2"},
                    v_t = {.name = "target value"}, v_child = {.name = "child override"};

static void destroy(void *ctx) {
  atomic_fetch_add(&((struct value *)ctx)->destroyed, 1);
}

/* What a piece of work saw. */
struct seen {
  void *q;
  void *t;
  void *unused;
  int label_ok;
  const char *expect_label;
};

static rgcd_semaphore_t step_done;

static void look(void *ctx) {
  struct seen *s = ctx;
  s->q = rgcd_get_specific(&key_q);
  s->t = rgcd_get_specific(&key_t);
  s->unused = rgcd_get_specific(&key_unused);
  const char *label = rgcd_queue_get_label(NULL);
  s->label_ok = label != NULL && strcmp(label, s->expect_label) == 0;
}

static void look_and_signal(void *ctx) {
  look(ctx);
  rgcd_semaphore_signal(step_done);
}

static void *outside_any_queue(void *arg) {
  const char *label = rgcd_queue_get_label(NULL);
  *(int *)arg = label != NULL && label[0] == '\0' && rgcd_get_specific(&key_q) == NULL;
  return NULL;
}

static void wait_step(void) {
  CHECK_OK(rgcd_semaphore_wait(step_done, deadline_ms(30000)));
}

int main(void) {
  start_watchdog(100);
  step_done = rgcd_semaphore_create(0);
  CHECK(step_done != NULL);
  rgcd_queue_t target = rgcd_queue_create("specific_data.target", RGCD_QUEUE_SERIAL);
  rgcd_queue_t q = rgcd_queue_create("specific_data.q", RGCD_QUEUE_SERIAL);
  CHECK(target != NULL && q != NULL);
  rgcd_queue_t child =
      rgcd_queue_create_with_target("specific_data.child", RGCD_QUEUE_SERIAL, target);
  CHECK(child != NULL);

  /* Labels: "" on a thread outside any queue (a plain pthread: the main thread counts as
   * the main queue's, as in libdispatch) and for a queue made without one. */
  pthread_t th;
  int outside_ok = 0;
  CHECK_EQ(pthread_create(&th, NULL, outside_any_queue, &outside_ok), 0);
  CHECK_EQ(pthread_join(th, NULL), 0);
  CHECK(outside_ok);
  rgcd_queue_t unlabeled = rgcd_queue_create(NULL, RGCD_QUEUE_SERIAL);
  CHECK(unlabeled != NULL);
  CHECK(rgcd_queue_get_label(unlabeled) != NULL && rgcd_queue_get_label(unlabeled)[0] == '\0');
  CHECK_OK(rgcd_release(unlabeled));
  CHECK(strcmp(rgcd_queue_get_label(q), "specific_data.q") == 0);

  /* Direct set/get on a queue. */
  CHECK(rgcd_queue_get_specific(q, &key_q) == NULL);
  CHECK_OK(rgcd_queue_set_specific(q, &key_q, &v_q1, destroy));
  CHECK(rgcd_queue_get_specific(q, &key_q) == &v_q1);
  CHECK(rgcd_queue_get_specific(q, &key_unused) == NULL);
  CHECK_OK(rgcd_queue_set_specific(target, &key_t, &v_t, destroy));
  CHECK(rgcd_queue_get_specific(target, &key_t) == &v_t);
  CHECK(rgcd_queue_get_specific(child, &key_t) == NULL); /* only the queue itself */

  /* Inside async work on q. */
  struct seen s1 = {.expect_label = "specific_data.q"};
  CHECK_OK(rgcd_async_f(q, &s1, look_and_signal));
  wait_step();
  CHECK(s1.q == &v_q1);
  CHECK(s1.t == NULL);
  CHECK(s1.unused == NULL);
  CHECK(s1.label_ok);

  /* Through the target chain: the key is set on the target, read on the child. */
  struct seen s2 = {.expect_label = "specific_data.child"};
  CHECK_OK(rgcd_async_f(child, &s2, look_and_signal));
  wait_step();
  CHECK(s2.t == &v_t);
  CHECK(s2.q == NULL);
  CHECK(s2.label_ok);

  /* A value on the child shadows the target's. */
  CHECK_OK(rgcd_queue_set_specific(child, &key_t, &v_child, NULL));
  struct seen s3 = {.expect_label = "specific_data.child"};
  CHECK_OK(rgcd_async_f(child, &s3, look_and_signal));
  wait_step();
  CHECK(s3.t == &v_child);

  /* Inside an inline sync from the main thread. */
  struct seen s4 = {.expect_label = "specific_data.q"};
  CHECK_OK(rgcd_sync_f(q, &s4, look));
  CHECK(s4.q == &v_q1);
  CHECK(s4.t == NULL);
  CHECK(s4.label_ok);

  /* Global queue work sees none of them. */
  struct seen s5 = {.expect_label = "(not checked)"};
  CHECK_OK(rgcd_async_f(rgcd_get_global_queue(RGCD_QOS_DEFAULT, 0), &s5, look_and_signal));
  wait_step();
  CHECK(s5.q == NULL && s5.t == NULL);

  /* Replacing a value destroys the old one (once), not the new one. */
  CHECK_EQ(atomic_load(&v_q1.destroyed), 0);
  CHECK_OK(rgcd_queue_set_specific(q, &key_q, &v_q2, destroy));
  CHECK(rgcd_queue_get_specific(q, &key_q) == &v_q2);
  WAIT_UNTIL(atomic_load(&v_q1.destroyed) == 1, 30000);
  CHECK_EQ(atomic_load(&v_q2.destroyed), 0);

  /* The queue dying destroys the current values. */
  CHECK_OK(rgcd_release(q));
  WAIT_UNTIL(atomic_load(&v_q2.destroyed) == 1, 30000);
  CHECK_OK(rgcd_release(child));
  CHECK_OK(rgcd_release(target));
  WAIT_UNTIL(atomic_load(&v_t.destroyed) == 1, 30000);
  sleep_ms(100);
  CHECK_EQ(atomic_load(&v_q1.destroyed), 1);
  CHECK_EQ(atomic_load(&v_q2.destroyed), 1);
  CHECK_EQ(atomic_load(&v_t.destroyed), 1);
  CHECK_EQ(atomic_load(&v_child.destroyed), 0); /* set with no destructor */

  CHECK_OK(rgcd_release(step_done));
  return 0;
}
