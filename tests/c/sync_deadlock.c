/* sync_deadlock: rgcd_sync_f / rgcd_barrier_sync_f onto a queue the caller is already
 * running on (directly, through the target chain, or inside an inline sync) returns
 * RGCD_EDEADLK without running the work; sync onto a different idle queue works. */
#include "check.h"

#include <stdatomic.h>

struct outcome {
  int status;
  int msg_ok; /* rgcd_last_error() was non-empty right after the call */
  atomic_int ran;
};

static rgcd_semaphore_t step_done;

static void mark(void *ctx) {
  atomic_fetch_add(&((struct outcome *)ctx)->ran, 1);
}

static void record(struct outcome *o, int status) {
  o->status = status;
  const char *e = rgcd_last_error();
  o->msg_ok = e != NULL && e[0] != '\0';
}

static void expect_deadlock(const char *what, struct outcome *o) {
  if (o->status != RGCD_EDEADLK || !o->msg_ok || atomic_load(&o->ran) != 0) {
    fprintf(stderr, "%s: status %d (want %d), message %s, work ran %d times (want 0)\n", what,
            o->status, RGCD_EDEADLK, o->msg_ok ? "set" : "empty", atomic_load(&o->ran));
    exit(1);
  }
}

/* Wait for one async step, failing the test (not hanging) if it never finishes. */
static void wait_step(const char *what) {
  if (rgcd_semaphore_wait(step_done, deadline_ms(20000)) != 0) {
    fprintf(stderr, "%s: the step did not finish within 20 s (hung in sync?)\n", what);
    exit(1);
  }
}

/* 1. sync onto the serial queue that runs the caller. */
static rgcd_queue_t q;
static struct outcome self_sync;
static void on_q(void *ctx) {
  (void)ctx;
  record(&self_sync, rgcd_sync_f(q, &self_sync, mark));
  rgcd_semaphore_signal(step_done);
}

/* 2. sync onto serial A from work on B (B targets A), and onto B itself. */
static rgcd_queue_t a, b;
static struct outcome target_sync, b_self_sync;
static void on_b(void *ctx) {
  (void)ctx;
  record(&target_sync, rgcd_sync_f(a, &target_sync, mark));
  record(&b_self_sync, rgcd_sync_f(b, &b_self_sync, mark));
  rgcd_semaphore_signal(step_done);
}

/* 3. sync onto Q inside an inline sync onto Q from the main thread. */
static struct outcome inline_sync;
static atomic_int outer_ran;
static void outer(void *ctx) {
  (void)ctx;
  atomic_fetch_add(&outer_ran, 1);
  record(&inline_sync, rgcd_sync_f(q, &inline_sync, mark));
}

/* 4. barrier_sync onto the concurrent queue that runs the caller. */
static rgcd_queue_t c;
static struct outcome barrier_self;
static void on_c(void *ctx) {
  (void)ctx;
  record(&barrier_self, rgcd_barrier_sync_f(c, &barrier_self, mark));
  rgcd_semaphore_signal(step_done);
}

/* 5. a concurrent queue D that targets serial A: sync onto A from D's work. */
static rgcd_queue_t d;
static struct outcome concurrent_child_sync;
static void on_d(void *ctx) {
  (void)ctx;
  record(&concurrent_child_sync, rgcd_sync_f(a, &concurrent_child_sync, mark));
  rgcd_semaphore_signal(step_done);
}

/* 6. sync onto a different idle serial queue Q2 from work on Q works (on Q2), and inside
 * it a sync back onto Q (still held by this thread) is a deadlock. */
static rgcd_queue_t q2;
static int other_status = -100;
static atomic_int other_ran;
static int other_label_ok;
static struct outcome back_to_q;
static void on_q2(void *ctx) {
  (void)ctx;
  atomic_fetch_add(&other_ran, 1);
  const char *label = rgcd_queue_get_label(NULL);
  other_label_ok = label != NULL && strcmp(label, "sync_deadlock.q2") == 0;
  record(&back_to_q, rgcd_sync_f(q, &back_to_q, mark));
}
static void on_q_then_q2(void *ctx) {
  (void)ctx;
  other_status = rgcd_sync_f(q2, NULL, on_q2);
  rgcd_semaphore_signal(step_done);
}

static atomic_int after_ran;
static void count_after(void *ctx) {
  (void)ctx;
  atomic_fetch_add(&after_ran, 1);
}

int main(void) {
  start_watchdog(100);
  step_done = rgcd_semaphore_create(0);
  CHECK(step_done != NULL);
  q = rgcd_queue_create("sync_deadlock.q", RGCD_QUEUE_SERIAL);
  a = rgcd_queue_create("sync_deadlock.a", RGCD_QUEUE_SERIAL);
  CHECK(q != NULL && a != NULL);
  b = rgcd_queue_create_with_target("sync_deadlock.b", RGCD_QUEUE_SERIAL, a);
  c = rgcd_queue_create("sync_deadlock.c", RGCD_QUEUE_CONCURRENT);
  d = rgcd_queue_create_with_target("sync_deadlock.d", RGCD_QUEUE_CONCURRENT, a);
  q2 = rgcd_queue_create("sync_deadlock.q2", RGCD_QUEUE_SERIAL);
  CHECK(b != NULL && c != NULL && d != NULL && q2 != NULL);

  CHECK_OK(rgcd_async_f(q, NULL, on_q));
  wait_step("sync onto the current serial queue");
  expect_deadlock("sync onto the current serial queue", &self_sync);

  CHECK_OK(rgcd_async_f(b, NULL, on_b));
  wait_step("sync onto the target of the current queue");
  expect_deadlock("sync onto serial A from B (B targets A)", &target_sync);
  expect_deadlock("sync onto B from B (B targets A)", &b_self_sync);

  CHECK_OK(rgcd_sync_f(q, NULL, outer));
  CHECK_EQ(atomic_load(&outer_ran), 1);
  expect_deadlock("sync onto Q inside an inline sync onto Q", &inline_sync);

  CHECK_OK(rgcd_async_f(c, NULL, on_c));
  wait_step("barrier_sync onto the current concurrent queue");
  expect_deadlock("barrier_sync onto the current concurrent queue", &barrier_self);

  CHECK_OK(rgcd_async_f(d, NULL, on_d));
  wait_step("sync onto serial A from concurrent D (D targets A)");
  expect_deadlock("sync onto serial A from concurrent D (D targets A)", &concurrent_child_sync);

  CHECK_OK(rgcd_async_f(q, NULL, on_q_then_q2));
  wait_step("sync onto another idle serial queue");
  CHECK_OK(other_status);
  CHECK_EQ(atomic_load(&other_ran), 1);
  CHECK(other_label_ok);
  expect_deadlock("sync back onto Q from inside a sync onto Q2 made on Q", &back_to_q);

  /* The queues still work after the refused calls. */
  CHECK_OK(rgcd_async_f(q, NULL, count_after));
  CHECK_OK(rgcd_async_f(b, NULL, count_after));
  CHECK_OK(rgcd_async_f(c, NULL, count_after));
  CHECK_OK(rgcd_sync_f(q, NULL, count_after));
  CHECK_OK(rgcd_sync_f(a, NULL, count_after));
  CHECK_OK(rgcd_barrier_sync_f(c, NULL, count_after));
  CHECK_OK(rgcd_sync_f(b, NULL, count_after));
  CHECK_EQ(atomic_load(&after_ran), 7);

  rgcd_queue_t all[] = {q, b, a, c, d, q2};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) CHECK_OK(rgcd_release(all[i]));
  CHECK_OK(rgcd_release(step_done));
  return 0;
}
