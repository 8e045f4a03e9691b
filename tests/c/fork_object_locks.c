/* fork_object_locks: forks while other threads work a group's and a semaphore's slow paths
 * (the leave that empties a waited-for group, timed group waits, semaphore waits and the
 * signals that wake them) and a data source's handler runs without pause. A fork that caught
 * a thread holding such an object's lock left it held in the child, whose next wait on or
 * leave of that object hung (3 of 3,000 children of a group stress, in rgcd_group_leave
 * waiting for the group's lock); the lock is now held inside a section of the injector gate
 * (src/objlock.rs, src/pool/gate.rs), which a fork waits for; so is a source's handler
 * table, taken at each handler call. (The fork handlers are registered when the library is
 * loaded: a program that uses only groups and semaphores has them too.)
 *
 * Each child signals and waits on the semaphore, enters and leaves the group and waits on it
 * with a short timeout (a leave lost with a parent's thread may keep the count up: the wait
 * may time out, it must return), sets the inherited source's handler, runs work on its busy
 * queue (found stalled before: see docs/fork.md) and cancels it, then exits 0 within 20 s; the parent kills a child that hangs and reports it. Then
 * the parent stops its threads and checks that the objects are freed and the process is
 * quiet.
 *
 * Argument: the number of forks (default 2000). */
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>

static rgcd_semaphore_t sem;
static rgcd_group_t grp;
static atomic_int stop;

/* A data source merged without pause: its handler runs again and again on the pool, each call
 * taking the source's handler table for a moment. */
static rgcd_queue_t src_q;
static rgcd_source_t data_src;
static atomic_long handled;
static atomic_int data_cancelled;

static void on_data(void *ctx) {
  (void)ctx;
  atomic_fetch_add(&handled, 1);
}

static void on_data_cancel(void *ctx) {
  (void)ctx;
  atomic_store(&data_cancelled, 1);
}

static void inc(void *ctx) {
  atomic_fetch_add((atomic_long *)ctx, 1);
}

static void *merger(void *arg) {
  (void)arg;
  while (!atomic_load(&stop)) CHECK_OK(rgcd_source_merge_data(data_src, 1));
  return NULL;
}

static void *sem_waiter(void *arg) {
  (void)arg;
  while (!atomic_load(&stop)) (void)rgcd_semaphore_wait(sem, deadline_ms(10));
  return NULL;
}

static void *signaller(void *arg) {
  (void)arg;
  while (!atomic_load(&stop)) {
    CHECK(rgcd_semaphore_signal(sem) >= 0);
    CHECK_OK(rgcd_group_enter(grp));
    CHECK_OK(rgcd_group_leave(grp));
  }
  return NULL;
}

static void *group_waiter(void *arg) {
  (void)arg;
  while (!atomic_load(&stop)) (void)rgcd_group_wait(grp, rgcd_time(RGCD_TIME_NOW, 100000));
  return NULL;
}

static void child(void) {
  for (int k = 0; k < 10; k++) {
    CHECK(rgcd_semaphore_signal(sem) >= 0);
    (void)rgcd_semaphore_wait(sem, deadline_ms(1));
  }
  CHECK_OK(rgcd_group_enter(grp));
  CHECK_OK(rgcd_group_leave(grp));
  (void)rgcd_group_wait(grp, deadline_ms(1));
  /* The inherited source, busy in the parent: its handler table can be changed (its lock
   * is not left held), and its queue runs work (submitted, then waited for by polling: the
   * submission alone must start the child's workers for the drain it inherited). */
  CHECK_OK(rgcd_source_set_event_handler_f(data_src, on_data));
  atomic_long n = 0;
  CHECK_OK(rgcd_async_f(src_q, &n, inc));
  WAIT_UNTIL(atomic_load(&n) == 1, 10000);
  CHECK_OK(rgcd_sync_f(src_q, &n, inc));
  CHECK_EQ(atomic_load(&n), 2);
  CHECK_OK(rgcd_source_cancel(data_src));
}

int main(int argc, char **argv) {
  int forks = argc > 1 ? atoi(argv[1]) : 2000;
  start_watchdog(240);
  size_t base = rgcd_debug_live_objects();
  sem = rgcd_semaphore_create(0);
  grp = rgcd_group_create();
  CHECK(sem != NULL && grp != NULL);

  src_q = rgcd_queue_create("fork_object_locks.source", RGCD_QUEUE_SERIAL);
  CHECK(src_q != NULL);
  data_src = rgcd_source_create(RGCD_SOURCE_TYPE_DATA_ADD, 0, 0, src_q);
  CHECK(data_src != NULL);
  CHECK_OK(rgcd_source_set_event_handler_f(data_src, on_data));
  CHECK_OK(rgcd_source_set_cancel_handler_f(data_src, on_data_cancel));
  CHECK_OK(rgcd_activate(data_src));

  pthread_t th[4];
  CHECK_EQ(pthread_create(&th[0], NULL, sem_waiter, NULL), 0);
  CHECK_EQ(pthread_create(&th[1], NULL, signaller, NULL), 0);
  CHECK_EQ(pthread_create(&th[2], NULL, group_waiter, NULL), 0);
  CHECK_EQ(pthread_create(&th[3], NULL, merger, NULL), 0);
  WAIT_UNTIL(atomic_load(&handled) > 100, 10000);

  int hung, failed;
  fork_children(forks, child, &hung, &failed);
  atomic_store(&stop, 1);
  for (int i = 0; i < 4; i++) CHECK_EQ(pthread_join(th[i], NULL), 0);
  if (hung || failed) {
    fprintf(stderr, "%d of %d children hung, %d failed\n", hung, forks, failed);
    return 1;
  }

  /* The parent's objects go on: drain the semaphore's permits, then one more round trip. */
  while (rgcd_semaphore_wait(sem, RGCD_TIME_NOW) == RGCD_OK) {
  }
  CHECK(rgcd_semaphore_signal(sem) >= 0);
  CHECK_OK(rgcd_semaphore_wait(sem, deadline_ms(1000)));
  CHECK_OK(rgcd_group_wait(grp, deadline_ms(1000)));
  CHECK_OK(rgcd_source_cancel(data_src));
  WAIT_UNTIL(atomic_load(&data_cancelled) == 1, 10000);
  CHECK_OK(rgcd_release(data_src));
  CHECK_OK(rgcd_release(src_q));
  CHECK_OK(rgcd_release(sem));
  CHECK_OK(rgcd_release(grp));
  check_quiet_and_freed(base, "parent");
  printf("fork_object_locks: %d forks, none hung\n", forks);
  return 0;
}
