/* finalizer_once: a finalizer set on a queue, a group or a semaphore runs exactly once, with
 * the object's context, after the last release, and not before. A queue released while it
 * still has work runs that work first. */
#include "check.h"

#include <stdatomic.h>

struct fin_ctx {
  const char *name;
  atomic_int calls;
  const char *expect_label; /* the target queue's label, or NULL to not check it */
  atomic_int label_wrong;
  atomic_int *work_done; /* for the queue-with-pending-work case, else NULL */
  atomic_int finalized_before_work;
};

static void finalizer(void *ctx) {
  struct fin_ctx *f = ctx;
  if (f == NULL) return; /* a NULL context is itself a failure, seen as calls == 0 */
  atomic_fetch_add(&f->calls, 1);
  if (f->work_done != NULL && atomic_load(f->work_done) == 0)
    atomic_fetch_add(&f->finalized_before_work, 1);
  if (f->expect_label != NULL) {
    const char *label = rgcd_queue_get_label(NULL);
    if (label == NULL || strcmp(label, f->expect_label) != 0) atomic_store(&f->label_wrong, 1);
  }
}

static void check_lifecycle(rgcd_object_t obj, struct fin_ctx *f) {
  CHECK_OK(rgcd_set_context(obj, f));
  CHECK(rgcd_get_context(obj) == f);
  CHECK_OK(rgcd_set_finalizer_f(obj, finalizer));

  CHECK_OK(rgcd_retain(obj));
  CHECK_OK(rgcd_retain(obj));
  CHECK_OK(rgcd_release(obj));
  CHECK_OK(rgcd_release(obj));
  sleep_ms(100);
  if (atomic_load(&f->calls) != 0) {
    fprintf(stderr, "%s: finalizer ran while a reference was still held\n", f->name);
    exit(1);
  }
  CHECK(rgcd_get_context(obj) == f);

  CHECK_OK(rgcd_release(obj)); /* the last reference */
  WAIT_UNTIL(atomic_load(&f->calls) >= 1, 30000);
  sleep_ms(100);
  if (atomic_load(&f->calls) != 1) {
    fprintf(stderr, "%s: finalizer ran %d times\n", f->name, atomic_load(&f->calls));
    exit(1);
  }
}

static atomic_int slow_done;
static void slow_work(void *ctx) {
  (void)ctx;
  sleep_ms(100);
  atomic_store(&slow_done, 1);
}

int main(void) {
  start_watchdog(100);

  struct fin_ctx qf = {.name = "serial queue"};
  rgcd_queue_t q = rgcd_queue_create("finalizer_once.q", RGCD_QUEUE_SERIAL);
  CHECK(q != NULL);
  check_lifecycle(q, &qf);

  struct fin_ctx cf = {.name = "concurrent queue"};
  rgcd_queue_t cq = rgcd_queue_create("finalizer_once.cq", RGCD_QUEUE_CONCURRENT);
  CHECK(cq != NULL);
  check_lifecycle(cq, &cf);

  struct fin_ctx gf = {.name = "group"};
  rgcd_group_t g = rgcd_group_create();
  CHECK(g != NULL);
  check_lifecycle(g, &gf);

  struct fin_ctx sf = {.name = "semaphore"};
  rgcd_semaphore_t s = rgcd_semaphore_create(2);
  CHECK(s != NULL);
  check_lifecycle(s, &sf);

  /* Released with work still queued: the work runs, then the finalizer. */
  struct fin_ctx pf = {.name = "queue released with pending work", .work_done = &slow_done};
  rgcd_queue_t pq = rgcd_queue_create("finalizer_once.pending", RGCD_QUEUE_SERIAL);
  CHECK(pq != NULL);
  CHECK_OK(rgcd_set_context(pq, &pf));
  CHECK_OK(rgcd_set_finalizer_f(pq, finalizer));
  CHECK_OK(rgcd_async_f(pq, NULL, slow_work));
  CHECK_OK(rgcd_release(pq));
  WAIT_UNTIL(atomic_load(&pf.calls) >= 1, 30000);
  CHECK_EQ(atomic_load(&slow_done), 1);
  CHECK_EQ(atomic_load(&pf.finalized_before_work), 0);
  sleep_ms(100);
  CHECK_EQ(atomic_load(&pf.calls), 1);

  /* The finalizer runs on the object's target queue. */
  rgcd_queue_t target = rgcd_queue_create("finalizer_once.target", RGCD_QUEUE_SERIAL);
  CHECK(target != NULL);
  struct fin_ctx tf = {.name = "queue with a target", .expect_label = "finalizer_once.target"};
  rgcd_queue_t tq =
      rgcd_queue_create_with_target("finalizer_once.child", RGCD_QUEUE_SERIAL, target);
  CHECK(tq != NULL);
  check_lifecycle(tq, &tf);
  CHECK_EQ(atomic_load(&tf.label_wrong), 0);

  CHECK_OK(rgcd_release(target));
  return 0;
}
