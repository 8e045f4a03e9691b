/* next_slot: a serial queue woken by work on a worker runs next on that worker (the pool's
 * next slot, src/pool/README.md). What must still hold:
 *  1. a worker that wakes a queue and then blocks outside rgcd (a pthread condition variable,
 *     as a lock in a language runtime would) does not hold that queue's work: another worker
 *     takes it, and the wait ends;
 *  2. hand-off chains on every CPU (each hop wakes the other queue of its pair, forever) do
 *     not keep work on a global queue or a third serial queue from running;
 *  3. a long chain hands over every hop exactly once and in order, and afterwards everything
 *     is freed and the process is quiet. */
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>

/* ---- 1: wake, then block outside rgcd ---- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int signalled;
static atomic_int blocker_ok;

static void signal_cv(void *ctx) {
  (void)ctx;
  pthread_mutex_lock(&mu);
  signalled = 1;
  pthread_cond_signal(&cv);
  pthread_mutex_unlock(&mu);
}

static void wake_then_block(void *ctx) {
  rgcd_queue_t q = ctx;
  CHECK_OK(rgcd_async_f(q, NULL, signal_cv)); /* q was idle: its drain is this worker's next */
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 10;
  pthread_mutex_lock(&mu);
  int r = 0;
  while (!signalled && r == 0) r = pthread_cond_timedwait(&cv, &mu, &until);
  pthread_mutex_unlock(&mu);
  atomic_store(&blocker_ok, signalled ? 1 : -1);
}

static void test_wake_then_block(void) {
  for (int round = 0; round < 20; round++) {
    signalled = 0;
    atomic_store(&blocker_ok, 0);
    rgcd_queue_t q = rgcd_queue_create("next.blocked", RGCD_QUEUE_SERIAL);
    rgcd_queue_t runner = rgcd_queue_create("next.runner", RGCD_QUEUE_SERIAL);
    CHECK(q != NULL && runner != NULL);
    CHECK_OK(rgcd_async_f(runner, q, wake_then_block));
    WAIT_UNTIL(atomic_load(&blocker_ok) != 0, 20000);
    CHECK_EQ(atomic_load(&blocker_ok), 1);
    CHECK_OK(rgcd_release(q));
    CHECK_OK(rgcd_release(runner));
  }
}

/* ---- 2 and 3: chains of hand-offs ---- */

typedef struct {
  rgcd_queue_t a, b;
  atomic_long hops;
  long limit; /* 0: until stop */
  atomic_int *stop;
  atomic_int done;
  long expect; /* next hop number, checked in order */
  atomic_int out_of_order;
} chain;

static void hop(void *ctx);

static void hop_on(chain *c, rgcd_queue_t q) { CHECK_OK(rgcd_async_f(q, c, hop)); }

static void hop(void *ctx) {
  chain *c = ctx;
  long n = atomic_fetch_add(&c->hops, 1);
  if (n != c->expect) atomic_store(&c->out_of_order, 1);
  c->expect = n + 1; /* the queues of a chain run one hop at a time */
  if ((c->limit != 0 && n + 1 >= c->limit) || (c->stop != NULL && atomic_load(c->stop))) {
    atomic_store(&c->done, 1);
    return;
  }
  hop_on(c, (n & 1) ? c->a : c->b);
}

static atomic_int other_ran;
static void mark(void *ctx) { atomic_fetch_add((atomic_int *)ctx, 1); }

static void test_chains_do_not_starve(void) {
  enum { CHAINS = 4 }; /* more than the CPUs of a small machine */
  static chain chains[CHAINS];
  atomic_int stop = 0;
  for (int i = 0; i < CHAINS; i++) {
    chain *c = &chains[i];
    memset(c, 0, sizeof *c);
    c->a = rgcd_queue_create("next.a", RGCD_QUEUE_SERIAL);
    c->b = rgcd_queue_create("next.b", RGCD_QUEUE_SERIAL);
    c->stop = &stop;
    hop_on(c, c->a);
  }
  WAIT_UNTIL(atomic_load(&chains[CHAINS - 1].hops) > 1000, 10000);
  /* While every chain runs: a global queue's work and a third serial queue's work run. */
  rgcd_queue_t other = rgcd_queue_create("next.other", RGCD_QUEUE_SERIAL);
  for (int i = 0; i < 100; i++) {
    CHECK_OK(rgcd_async_f(rgcd_get_global_queue(RGCD_QOS_DEFAULT, 0), &other_ran, mark));
    CHECK_OK(rgcd_async_f(other, &other_ran, mark));
  }
  WAIT_UNTIL(atomic_load(&other_ran) == 200, 10000);
  atomic_store(&stop, 1);
  for (int i = 0; i < CHAINS; i++) {
    WAIT_UNTIL(atomic_load(&chains[i].done), 10000);
    CHECK_EQ(atomic_load(&chains[i].out_of_order), 0);
    CHECK_OK(rgcd_release(chains[i].a));
    CHECK_OK(rgcd_release(chains[i].b));
  }
  CHECK_OK(rgcd_release(other));
}

static void test_long_chain(void) {
  static chain c;
  memset(&c, 0, sizeof c);
  c.a = rgcd_queue_create("next.a", RGCD_QUEUE_SERIAL);
  c.b = rgcd_queue_create("next.b", RGCD_QUEUE_SERIAL);
  c.limit = 1000000;
  hop_on(&c, c.a);
  WAIT_UNTIL(atomic_load(&c.done), 60000);
  CHECK_EQ(atomic_load(&c.hops), c.limit);
  CHECK_EQ(atomic_load(&c.out_of_order), 0);
  CHECK_OK(rgcd_release(c.a));
  CHECK_OK(rgcd_release(c.b));
}

int main(void) {
  start_watchdog(100);
  size_t base = rgcd_debug_live_objects();
  test_wake_then_block();
  check_quiet_and_freed(base, "wake then block");
  test_chains_do_not_starve();
  check_quiet_and_freed(base, "chains");
  test_long_chain();
  check_quiet_and_freed(base, "long chain");
  puts("next_slot: ok");
  return 0;
}
