/* finalizer_null_context: as in libdispatch, a finalizer is called only if the object's
 * context is non-NULL when the object is destroyed. For queues (serial and concurrent),
 * groups, semaphores and sources: no context, or a context set and then cleared to NULL,
 * means no call; a context set after the finalizer still counts (one call, with it). */
#include "check.h"

#include <stdatomic.h>

static atomic_int null_calls; /* finalizer calls with a NULL context: must stay 0 */

struct fin {
  atomic_int calls;
};

static void finalizer(void *ctx) {
  if (ctx == NULL) {
    atomic_fetch_add(&null_calls, 1);
    return;
  }
  atomic_fetch_add(&((struct fin *)ctx)->calls, 1);
}

static void nop(void *ctx) { (void)ctx; }

/* Queues finalize on their target: a sync onto a serial target after the last release
 * runs after the finalizer would have, so these checks need no sleeping. */
static void queues(void) {
  rgcd_queue_t target = rgcd_queue_create("finalizer_null_context.target", RGCD_QUEUE_SERIAL);
  CHECK(target != NULL);

  /* A serial and a concurrent queue that never had a context. */
  rgcd_queue_t q = rgcd_queue_create_with_target("fnc.serial", RGCD_QUEUE_SERIAL, target);
  CHECK(q != NULL);
  CHECK_OK(rgcd_set_finalizer_f(q, finalizer));
  CHECK_OK(rgcd_sync_f(q, NULL, nop));
  CHECK_OK(rgcd_release(q));

  rgcd_queue_t cq = rgcd_queue_create_with_target("fnc.concurrent", RGCD_QUEUE_CONCURRENT, target);
  CHECK(cq != NULL);
  CHECK_OK(rgcd_set_finalizer_f(cq, finalizer));
  CHECK_OK(rgcd_release(cq));

  /* A context set before the finalizer, then cleared: no call. */
  struct fin cleared = {0};
  rgcd_queue_t c = rgcd_queue_create_with_target("fnc.cleared", RGCD_QUEUE_SERIAL, target);
  CHECK(c != NULL);
  CHECK_OK(rgcd_set_context(c, &cleared));
  CHECK_OK(rgcd_set_finalizer_f(c, finalizer));
  CHECK_OK(rgcd_set_context(c, NULL));
  CHECK_OK(rgcd_release(c));

  /* The control: a context set only after the finalizer counts: one call, with it. */
  struct fin late = {0};
  rgcd_queue_t l = rgcd_queue_create_with_target("fnc.late", RGCD_QUEUE_SERIAL, target);
  CHECK(l != NULL);
  CHECK_OK(rgcd_set_finalizer_f(l, finalizer));
  CHECK_OK(rgcd_set_context(l, &late));
  CHECK_OK(rgcd_release(l));

  CHECK_OK(rgcd_sync_f(target, NULL, nop)); /* after every finalizer queued on it */
  CHECK_EQ(atomic_load(&late.calls), 1);
  CHECK_EQ(atomic_load(&cleared.calls), 0);
  CHECK_EQ(atomic_load(&null_calls), 0);
  CHECK_OK(rgcd_release(target));
}

static atomic_int sources_registered, sources_cancelled;

static void source_registered(void *ctx) {
  (void)ctx;
  atomic_fetch_add(&sources_registered, 1);
}

static void source_cancelled(void *ctx) {
  (void)ctx;
  atomic_fetch_add(&sources_cancelled, 1);
}

/* An activated DATA_ADD source, once its registration handler ran. */
static rgcd_source_t data_source(void) {
  rgcd_source_t s = rgcd_source_create(RGCD_SOURCE_TYPE_DATA_ADD, 0, 0, NULL);
  CHECK(s != NULL);
  CHECK_OK(rgcd_source_set_event_handler_f(s, nop));
  CHECK_OK(rgcd_source_set_registration_handler_f(s, source_registered));
  CHECK_OK(rgcd_source_set_cancel_handler_f(s, source_cancelled));
  int before = atomic_load(&sources_registered);
  CHECK_OK(rgcd_activate(s));
  WAIT_UNTIL(atomic_load(&sources_registered) > before, 30000);
  return s;
}

/* Cancels `s`, waits for its cancel handler, then drops the last reference. */
static void release_source(rgcd_source_t s) {
  int before = atomic_load(&sources_cancelled);
  CHECK_OK(rgcd_source_cancel(s));
  WAIT_UNTIL(atomic_load(&sources_cancelled) > before, 30000);
  CHECK_OK(rgcd_release(s));
}

/* Groups, semaphores and sources finalize on a global queue, which gives no order: each
 * object without a context is released together with a control object of the same kind
 * whose context is set; once every control finalizer ran, the others are given a while
 * longer to show up. */
static void other_kinds(void) {
  struct fin group_ctl = {0}, sema_ctl = {0}, source_ctl = {0};

  rgcd_group_t g = rgcd_group_create();
  rgcd_group_t gc = rgcd_group_create();
  rgcd_semaphore_t s = rgcd_semaphore_create(0);
  rgcd_semaphore_t sc = rgcd_semaphore_create(0);
  rgcd_source_t src = data_source();
  rgcd_source_t srcc = data_source();
  CHECK(g != NULL && gc != NULL && s != NULL && sc != NULL);

  rgcd_object_t none[] = {g, s, src};
  for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
    CHECK_OK(rgcd_set_finalizer_f(none[i], finalizer));
  }
  rgcd_object_t ctl[] = {gc, sc, srcc};
  struct fin *ctl_fin[] = {&group_ctl, &sema_ctl, &source_ctl};
  for (size_t i = 0; i < sizeof ctl / sizeof ctl[0]; i++) {
    CHECK_OK(rgcd_set_context(ctl[i], ctl_fin[i]));
    CHECK_OK(rgcd_set_finalizer_f(ctl[i], finalizer));
  }
  /* A semaphore whose context was cleared before its release. */
  struct fin sema_cleared = {0};
  rgcd_semaphore_t s2 = rgcd_semaphore_create(1);
  CHECK(s2 != NULL);
  CHECK_OK(rgcd_set_context(s2, &sema_cleared));
  CHECK_OK(rgcd_set_finalizer_f(s2, finalizer));
  CHECK_OK(rgcd_set_context(s2, NULL));

  CHECK_OK(rgcd_release(g));
  CHECK_OK(rgcd_release(s));
  CHECK_OK(rgcd_release(s2));
  release_source(src);
  CHECK_OK(rgcd_release(gc));
  CHECK_OK(rgcd_release(sc));
  release_source(srcc);

  WAIT_UNTIL(atomic_load(&group_ctl.calls) == 1 && atomic_load(&sema_ctl.calls) == 1 &&
                 atomic_load(&source_ctl.calls) == 1,
             30000);
  sleep_ms(200);
  CHECK_EQ(atomic_load(&null_calls), 0);
  CHECK_EQ(atomic_load(&sema_cleared.calls), 0);
  CHECK_EQ(atomic_load(&group_ctl.calls), 1);
  CHECK_EQ(atomic_load(&sema_ctl.calls), 1);
  CHECK_EQ(atomic_load(&source_ctl.calls), 1);
}

int main(void) {
  start_watchdog(100);
  queues();
  other_kinds();
  return 0;
}
