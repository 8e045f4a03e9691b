/* fork_storm: many forks while other threads push onto and take from the global queues
 * as fast as they can. A fork that caught a thread inside a push or a steal on a root queue
 * (crossbeam's injector: a slot claimed but not written, a block not yet installed) left the
 * child waiting forever for that slot, inside the fork handler itself; the injector gate
 * (src/pool/gate.rs) now waits for such operations before the fork.
 *
 * A fourth thread does the same on a serial queue, with a sync after each burst.
 *
 * Each child must: leave fork(), run work on a global queue and wait for it with a group, run
 * async and sync work on the inherited serial queue, and exit 0, within 20 s; the parent
 * kills a child that hangs (it may hang inside the fork handler, before fork() returns in it,
 * so the child cannot arm an alarm of its own) and reports it. The parent then checks its own pool still works, frees what it made and is quiet.
 *
 * Argument: the number of forks (default 300). */
#include "check.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

#define PUSHERS 3

static rgcd_queue_t serial_q; /* the serial pusher keeps it busy */

static atomic_int stop;
static atomic_long ran;

static void inc(void *ctx) {
  atomic_fetch_add((atomic_long *)ctx, 1);
}

/* Submits tiny items to the global queues without pause; waits for each thousand (so the
 * queues stay short and the workers keep stealing). */
static void *pusher(void *arg) {
  long qos = (long)arg;
  rgcd_group_t g = rgcd_group_create();
  CHECK(g != NULL);
  rgcd_queue_t q = rgcd_get_global_queue(qos, 0);
  while (!atomic_load(&stop)) {
    for (int i = 0; i < 1000; i++) CHECK_OK(rgcd_group_async_f(g, q, &ran, inc));
    CHECK_OK(rgcd_group_wait(g, RGCD_TIME_FOREVER));
  }
  CHECK_OK(rgcd_release(g));
  return NULL;
}

/* Async onto a serial queue without pause, a sync now and then (a fork catches its wake-ups,
 * drains and sync hand-offs in every state). */
static void *serial_pusher(void *arg) {
  (void)arg;
  while (!atomic_load(&stop)) {
    for (int i = 0; i < 500; i++) CHECK_OK(rgcd_async_f(serial_q, &ran, inc));
    CHECK_OK(rgcd_sync_f(serial_q, &ran, inc));
  }
  return NULL;
}

static void child(void) {
  atomic_long n = 0;
  rgcd_group_t g = rgcd_group_create();
  CHECK(g != NULL);
  rgcd_queue_t q = rgcd_get_global_queue(0, 0);
  for (int i = 0; i < 100; i++) CHECK_OK(rgcd_group_async_f(g, q, &n, inc));
  CHECK_OK(rgcd_group_wait(g, deadline_ms(10000)));
  CHECK_EQ(atomic_load(&n), 100);
  /* The inherited serial queue, busy at the fork, goes on. */
  CHECK_OK(rgcd_async_f(serial_q, &n, inc));
  CHECK_OK(rgcd_sync_f(serial_q, &n, inc));
  CHECK_EQ(atomic_load(&n), 102);
  CHECK_OK(rgcd_release(g));
}

int main(int argc, char **argv) {
  int forks = argc > 1 ? atoi(argv[1]) : 300;
  start_watchdog(240);
  size_t base = rgcd_debug_live_objects();

  static const long qos[PUSHERS] = {RGCD_QOS_DEFAULT, RGCD_QOS_USER_INITIATED,
                                    RGCD_QOS_UTILITY};
  serial_q = rgcd_queue_create("fork_storm.serial", RGCD_QUEUE_SERIAL);
  CHECK(serial_q != NULL);
  pthread_t th[PUSHERS + 1];
  for (int i = 0; i < PUSHERS; i++)
    CHECK_EQ(pthread_create(&th[i], NULL, pusher, (void *)qos[i]), 0);
  CHECK_EQ(pthread_create(&th[PUSHERS], NULL, serial_pusher, NULL), 0);
  WAIT_UNTIL(atomic_load(&ran) > 10000, 10000);

  int hung, failed;
  fork_children(forks, child, &hung, &failed);
  atomic_store(&stop, 1);
  for (int i = 0; i <= PUSHERS; i++) CHECK_EQ(pthread_join(th[i], NULL), 0);
  if (hung || failed) {
    fprintf(stderr, "%d of %d children hung, %d failed\n", hung, forks, failed);
    return 1;
  }

  /* The parent's pool goes on. */
  child();
  CHECK_OK(rgcd_release(serial_q));
  check_quiet_and_freed(base, "parent");
  printf("fork_storm: %d forks, %ld items run in the parent meanwhile\n", forks,
         atomic_load(&ran));
  return 0;
}
