/* bad_input: every documented misuse is reported (a status code or NULL, a message in
 * rgcd_last_error(), a non-empty rgcd_strerror), a function passed to a failed call never
 * runs, and the process keeps working afterwards. */
#include "check.h"

#include <stdatomic.h>

static atomic_int must_not_run_calls;
static void must_not_run(void *ctx) {
  (void)ctx;
  atomic_fetch_add(&must_not_run_calls, 1);
}
static void must_not_run_apply(void *ctx, size_t i) {
  (void)ctx;
  (void)i;
  atomic_fetch_add(&must_not_run_calls, 1);
}

static atomic_int ran;
static void count(void *ctx) {
  (void)ctx;
  atomic_fetch_add(&ran, 1);
}

static int ctx_token;
static char key;

int main(void) {
  start_watchdog(100);
  rgcd_queue_t q = rgcd_queue_create("bad_input.q", RGCD_QUEUE_SERIAL);
  rgcd_group_t g = rgcd_group_create();
  rgcd_semaphore_t s = rgcd_semaphore_create(0);
  CHECK(q != NULL && g != NULL && s != NULL);
  rgcd_time_t soon = deadline_ms(10);
  void *ctx = &ctx_token;

  /* Every status code has a message. */
  const int codes[] = {RGCD_OK,     RGCD_TIMED_OUT, RGCD_EINVAL,  RGCD_ETYPE, RGCD_ESTATE,
                       RGCD_EDEADLK, RGCD_ENOMEM,   RGCD_EPANIC, RGCD_ENOTSUP};
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
    CHECK(rgcd_strerror(codes[i]) != NULL && rgcd_strerror(codes[i])[0] != '\0');
  CHECK(rgcd_strerror(-12345) != NULL); /* unknown codes still get a string */
  CHECK(rgcd_last_error() != NULL);     /* "" before any failure, never NULL */

  /* NULL queue or function to each submit call. */
  CHECK_ERR(rgcd_async_f(NULL, ctx, must_not_run), RGCD_EINVAL);
  CHECK_ERR(rgcd_async_f(q, ctx, NULL), RGCD_EINVAL);
  CHECK_ERR(rgcd_sync_f(NULL, ctx, must_not_run), RGCD_EINVAL);
  CHECK_ERR(rgcd_sync_f(q, ctx, NULL), RGCD_EINVAL);
  CHECK_ERR(rgcd_barrier_async_f(NULL, ctx, must_not_run), RGCD_EINVAL);
  CHECK_ERR(rgcd_barrier_async_f(q, ctx, NULL), RGCD_EINVAL);
  CHECK_ERR(rgcd_barrier_sync_f(NULL, ctx, must_not_run), RGCD_EINVAL);
  CHECK_ERR(rgcd_barrier_sync_f(q, ctx, NULL), RGCD_EINVAL);
  CHECK_ERR(rgcd_after_f(soon, NULL, ctx, must_not_run), RGCD_EINVAL);
  CHECK_ERR(rgcd_after_f(soon, q, ctx, NULL), RGCD_EINVAL);
  CHECK_ERR(rgcd_apply_f(10, q, ctx, NULL), RGCD_EINVAL);
  CHECK_ERR(rgcd_apply_f(10, NULL, ctx, NULL), RGCD_EINVAL);

  /* Groups. */
  CHECK_ERR(rgcd_group_enter(NULL), RGCD_EINVAL);
  CHECK_ERR(rgcd_group_leave(NULL), RGCD_EINVAL);
  CHECK_ERR(rgcd_group_wait(NULL, soon), RGCD_EINVAL);
  CHECK_ERR(rgcd_group_notify_f(NULL, q, ctx, must_not_run), RGCD_EINVAL);
  CHECK_ERR(rgcd_group_notify_f(g, NULL, ctx, must_not_run), RGCD_EINVAL);
  CHECK_ERR(rgcd_group_notify_f(g, q, ctx, NULL), RGCD_EINVAL);
  CHECK_ERR(rgcd_group_async_f(NULL, q, ctx, must_not_run), RGCD_EINVAL);
  CHECK_ERR(rgcd_group_async_f(g, NULL, ctx, must_not_run), RGCD_EINVAL);
  CHECK_ERR(rgcd_group_async_f(g, q, ctx, NULL), RGCD_EINVAL);
  CHECK_OK(rgcd_group_wait(g, RGCD_TIME_NOW)); /* the failed group_async left it at zero */
  CHECK_ERR(rgcd_group_leave(g), RGCD_ESTATE); /* unbalanced leave */
  CHECK_OK(rgcd_group_wait(g, RGCD_TIME_NOW)); /* ... and did not change the count */

  /* Semaphores. */
  CHECK_ERR(rgcd_semaphore_wait(NULL, soon), RGCD_EINVAL);
  CHECK_ERR(rgcd_semaphore_signal(NULL), RGCD_EINVAL);
  CHECK_NULL_ERR(rgcd_semaphore_create(-1));
  CHECK_NULL_ERR(rgcd_semaphore_create(INTPTR_MIN));

  /* Once. */
  CHECK_ERR(rgcd_once_f(NULL, ctx, must_not_run), RGCD_EINVAL);
  rgcd_once_t pred = 0;
  CHECK_ERR(rgcd_once_f(&pred, ctx, NULL), RGCD_EINVAL);
  CHECK_OK(rgcd_once_f(&pred, NULL, count)); /* the failed call did not consume the predicate */
  CHECK_EQ(atomic_load(&ran), 1);

  /* Objects of the wrong type. */
  rgcd_queue_t group_as_queue = (rgcd_queue_t)(void *)g;
  rgcd_queue_t sema_as_queue = (rgcd_queue_t)(void *)s;
  CHECK_ERR(rgcd_async_f(group_as_queue, ctx, must_not_run), RGCD_ETYPE);
  CHECK_ERR(rgcd_sync_f(group_as_queue, ctx, must_not_run), RGCD_ETYPE);
  CHECK_ERR(rgcd_barrier_async_f(sema_as_queue, ctx, must_not_run), RGCD_ETYPE);
  CHECK_ERR(rgcd_after_f(soon, sema_as_queue, ctx, must_not_run), RGCD_ETYPE);
  CHECK_ERR(rgcd_apply_f(10, group_as_queue, ctx, must_not_run_apply), RGCD_ETYPE);
  CHECK_ERR(rgcd_group_async_f(g, group_as_queue, ctx, must_not_run), RGCD_ETYPE);
  CHECK_OK(rgcd_group_wait(g, RGCD_TIME_NOW));
  CHECK_ERR(rgcd_group_enter((rgcd_group_t)(void *)q), RGCD_ETYPE);
  CHECK_ERR(rgcd_group_wait((rgcd_group_t)(void *)s, soon), RGCD_ETYPE);
  CHECK_ERR(rgcd_semaphore_signal((rgcd_semaphore_t)(void *)g), RGCD_ETYPE);
  CHECK_ERR(rgcd_semaphore_wait((rgcd_semaphore_t)(void *)q, soon), RGCD_ETYPE);
  CHECK_ERR(rgcd_set_target_queue(q, group_as_queue), RGCD_ETYPE);
  CHECK_NULL_ERR(
      rgcd_queue_create_with_target("bad_input.t", RGCD_QUEUE_SERIAL, group_as_queue));
  CHECK_ERR(rgcd_queue_set_specific(sema_as_queue, &key, ctx, NULL), RGCD_ETYPE);

  /* Lifecycle misuse. */
  CHECK_ERR(rgcd_resume(q), RGCD_ESTATE); /* never suspended */
  CHECK_OK(rgcd_suspend(q));
  CHECK_OK(rgcd_resume(q));
  CHECK_ERR(rgcd_resume(q), RGCD_ESTATE); /* over-resume */
  CHECK_ERR(rgcd_suspend(g), RGCD_ENOTSUP);
  CHECK_ERR(rgcd_suspend(s), RGCD_ENOTSUP);
  CHECK_ERR(rgcd_resume(g), RGCD_ENOTSUP);
  CHECK_ERR(rgcd_resume(s), RGCD_ENOTSUP);
  CHECK_ERR(rgcd_activate(g), RGCD_ENOTSUP);
  CHECK_ERR(rgcd_activate(s), RGCD_ENOTSUP);
  CHECK_ERR(rgcd_release(NULL), RGCD_EINVAL);
  CHECK_ERR(rgcd_retain(NULL), RGCD_EINVAL);
  CHECK_ERR(rgcd_suspend(NULL), RGCD_EINVAL);
  CHECK_ERR(rgcd_resume(NULL), RGCD_EINVAL);
  CHECK_ERR(rgcd_activate(NULL), RGCD_EINVAL);
  CHECK_ERR(rgcd_set_context(NULL, ctx), RGCD_EINVAL);
  CHECK(rgcd_get_context(NULL) == NULL);
  CHECK_ERR(rgcd_set_finalizer_f(NULL, must_not_run), RGCD_EINVAL);
  CHECK_ERR(rgcd_set_target_queue(NULL, q), RGCD_EINVAL);
  CHECK_ERR(rgcd_queue_set_specific(NULL, &key, ctx, NULL), RGCD_EINVAL);

  /* Bad queue attributes and global queue identifiers. */
  CHECK_NULL_ERR(rgcd_queue_create("bad_input.attr", 4u));
  CHECK_NULL_ERR(rgcd_queue_create("bad_input.attr", 0x80000000u));
  CHECK_NULL_ERR(rgcd_queue_create("bad_input.attr", RGCD_QUEUE_CONCURRENT | 0x40000000u));
  CHECK_NULL_ERR(rgcd_get_global_queue(12345, 0));
  CHECK_NULL_ERR(rgcd_get_global_queue(RGCD_QOS_DEFAULT, 1));

  /* Target cycles. */
  rgcd_queue_t a = rgcd_queue_create("bad_input.a", RGCD_QUEUE_SERIAL);
  CHECK(a != NULL);
  rgcd_queue_t b = rgcd_queue_create_with_target("bad_input.b", RGCD_QUEUE_SERIAL, a);
  CHECK(b != NULL);
  CHECK_ERR(rgcd_set_target_queue(a, b), RGCD_EINVAL);
  CHECK_ERR(rgcd_set_target_queue(a, a), RGCD_EINVAL);
  CHECK_OK(rgcd_sync_f(b, NULL, count)); /* the refused retarget left b -> a -> global */

  /* Global queues: not suspendable, retargetable or given a context; retain/release are
   * no-ops that succeed. */
  rgcd_queue_t global = rgcd_get_global_queue(RGCD_QOS_DEFAULT, 0);
  CHECK(global != NULL);
  CHECK_ERR(rgcd_suspend(global), RGCD_ENOTSUP);
  CHECK_ERR(rgcd_resume(global), RGCD_ENOTSUP);
  CHECK_ERR(rgcd_set_target_queue(global, q), RGCD_ENOTSUP);
  CHECK_ERR(rgcd_set_context(global, ctx), RGCD_ENOTSUP);
  CHECK(rgcd_set_finalizer_f(global, must_not_run) < 0);
  CHECK_OK(rgcd_retain(global));
  CHECK_OK(rgcd_release(global));
  CHECK_OK(rgcd_release(global));
  CHECK_OK(rgcd_release(rgcd_get_main_queue()));

  /* None of the refused functions ran, even later. */
  sleep_ms(100);
  CHECK_OK(rgcd_sync_f(q, NULL, count));
  CHECK_OK(rgcd_barrier_sync_f(global, NULL, count));
  CHECK_EQ(atomic_load(&must_not_run_calls), 0);

  /* The process still works. */
  CHECK_OK(rgcd_group_async_f(g, q, NULL, count));
  CHECK_OK(rgcd_group_async_f(g, global, NULL, count));
  CHECK_OK(rgcd_group_wait(g, deadline_ms(30000)));
  CHECK_EQ(atomic_load(&ran), 6);
  CHECK_OK(rgcd_semaphore_signal(s));
  CHECK_OK(rgcd_semaphore_wait(s, deadline_ms(30000)));
  CHECK_EQ(atomic_load(&must_not_run_calls), 0);

  CHECK_OK(rgcd_release(b));
  CHECK_OK(rgcd_release(a));
  CHECK_OK(rgcd_release(s));
  CHECK_OK(rgcd_release(g));
  CHECK_OK(rgcd_release(q));
  return 0;
}
