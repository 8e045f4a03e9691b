/* fork: rgcd keeps working in a forked child, and in the parent after the fork.
 *
 * The parent uses queues, a group, a repeating timer and a pipe read source, and keeps the
 * pool busy from several threads (work submitted and waited for while it forks, so that the
 * prepare handler has locks and a reactor poller to take). It forks several times. Each child
 * checks: the pool has no threads before it uses rgcd (its parent's are not its own); async
 * work on a global queue and on a serial queue runs (new queues and queues it inherited, idle
 * or busy at the fork); sync onto a serial queue works, busy inherited queue included; a new
 * group and the inherited group can be waited for; a new timer source fires; the pool then
 * counts the child's own threads; the parent's timer does not fire in the child until the
 * child re-arms it; its objects are freed and its CPU is quiet afterwards. The
 * parent, after each fork, still gets its pipe source's events (a child sharing the parent's
 * epoll instance would take them) and its timer's fires. Then a fork from a work item running
 * on a worker: the child's only thread is that worker; it uses rgcd from inside the item and
 * exits. */
#include "check.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>

#define FORKS 6
#define LOADERS 3

static rgcd_queue_t busy_q;   /* serial: the loaders keep it draining */
static rgcd_queue_t idle_q;   /* serial: used before the forks, idle at them */
static rgcd_group_t parent_g; /* used before the forks, empty at them */
static atomic_int stop_load;
static atomic_long loaded;

static void inc(void *ctx) {
  atomic_fetch_add((atomic_long *)ctx, 1);
}

static void inc_int(void *ctx) {
  atomic_fetch_add((atomic_int *)ctx, 1);
}

static void spin_inc(void *ctx) {
  spin(2000);
  atomic_fetch_add((atomic_long *)ctx, 1);
}

/* A loader thread: bursts of work on the busy serial queue and a global queue (through its
 * own group), a sync now and then, waits for the burst. */
static void *loader(void *arg) {
  (void)arg;
  rgcd_group_t g = rgcd_group_create();
  CHECK(g != NULL);
  rgcd_queue_t gq = rgcd_get_global_queue(0, 0);
  while (!atomic_load(&stop_load)) {
    for (int i = 0; i < 64; i++) {
      CHECK_OK(rgcd_group_async_f(g, busy_q, &loaded, spin_inc));
      CHECK_OK(rgcd_group_async_f(g, gq, &loaded, spin_inc));
    }
    CHECK_OK(rgcd_sync_f(busy_q, &loaded, inc));
    CHECK_OK(rgcd_group_wait(g, RGCD_TIME_FOREVER));
  }
  CHECK_OK(rgcd_release(g));
  return NULL;
}

/* --- the parent's sources --- */
static int pipe_fds[2];
static rgcd_source_t rd_src;
static atomic_int rd_bytes;
static rgcd_source_t tick_src;
static atomic_int ticks;

static void on_readable(void *ctx) {
  (void)ctx;
  char buf[64];
  ssize_t n = read(pipe_fds[0], buf, sizeof buf);
  if (n > 0) atomic_fetch_add(&rd_bytes, (int)n);
}

static void on_tick(void *ctx) {
  (void)ctx;
  atomic_fetch_add(&ticks, 1);
}

/* Threads of this process, from /proc (the child has only the ones rgcd started + 1). */
static int process_threads(void) {
  FILE *f = fopen("/proc/self/status", "r");
  CHECK(f != NULL);
  char line[256];
  int n = -1;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "Threads:", 8) == 0) n = atoi(line + 8);
  }
  fclose(f);
  return n;
}

/* --- the child's checks (exit status: 0 when all pass; CHECK exits 1) --- */
static void child_checks(int from_worker) {
  size_t base = rgcd_debug_live_objects();
  int ticks_at_fork = atomic_load(&ticks);
  if (!from_worker) {
    /* Nothing started yet: the parent's workers are not the child's. */
    CHECK_EQ(rgcd_pool_thread_count(), 0);
    CHECK_EQ(process_threads(), 1);
  }

  /* async on a global queue and on a new serial queue; sync onto it. */
  atomic_long n = 0;
  rgcd_queue_t gq = rgcd_get_global_queue(0, 0);
  rgcd_queue_t sq = rgcd_queue_create("fork.child.serial", RGCD_QUEUE_SERIAL);
  CHECK(sq != NULL);
  for (int i = 0; i < 100; i++) {
    CHECK_OK(rgcd_async_f(gq, &n, inc));
    CHECK_OK(rgcd_async_f(sq, &n, inc));
  }
  CHECK_OK(rgcd_sync_f(sq, &n, inc));
  WAIT_UNTIL(atomic_load(&n) == 201, 10000);

  /* Inherited queues: the idle one, and the one that was draining at the fork (its item
   * then running on a worker is lost in the child; the rest of its list runs). */
  atomic_long m = 0;
  CHECK_OK(rgcd_async_f(idle_q, &m, inc));
  CHECK_OK(rgcd_sync_f(idle_q, &m, inc));
  CHECK_OK(rgcd_async_f(busy_q, &m, inc));
  CHECK_OK(rgcd_sync_f(busy_q, &m, inc));
  CHECK_EQ(atomic_load(&m), 4);

  /* A new group and the inherited one. */
  rgcd_group_t g = rgcd_group_create();
  CHECK(g != NULL);
  atomic_long k = 0;
  for (int i = 0; i < 50; i++) {
    CHECK_OK(rgcd_group_async_f(g, gq, &k, inc));
    CHECK_OK(rgcd_group_async_f(g, sq, &k, inc));
    CHECK_OK(rgcd_group_async_f(parent_g, sq, &k, inc));
  }
  CHECK_OK(rgcd_group_wait(g, deadline_ms(10000)));
  CHECK_OK(rgcd_group_wait(parent_g, deadline_ms(10000)));
  CHECK_EQ(atomic_load(&k), 150);

  /* A new timer fires. */
  atomic_int fired = 0;
  rgcd_source_t t = rgcd_source_create(RGCD_SOURCE_TYPE_TIMER, 0, 0, sq);
  CHECK(t != NULL);
  CHECK_OK(rgcd_set_context(t, &fired));
  CHECK_OK(rgcd_source_set_event_handler_f(t, inc_int));
  CHECK_OK(rgcd_source_set_timer(t, deadline_ms(2), 2 * RGCD_NSEC_PER_MSEC, 0));
  CHECK_OK(rgcd_activate(t));
  WAIT_UNTIL(atomic_load(&fired) >= 3, 10000);
  CHECK_OK(rgcd_source_cancel(t));
  CHECK_OK(rgcd_release(t));

  /* The parent's timer does not fire in the child (a call queued at the fork may run). */
  int ticks0 = atomic_load(&ticks);
  sleep_ms(40);
  CHECK(atomic_load(&ticks) <= ticks0 + 1);

  /* The pool counts the child's threads: some now, never more than the process has (a
   * worker being started is counted just before its thread exists: look again then). */
  CHECK(rgcd_pool_thread_count() >= 1);
  WAIT_UNTIL((int)rgcd_pool_thread_count() <= process_threads() - (from_worker ? 0 : 1), 5000);

  /* A parent's timer re-armed in the child fires there. */
  CHECK_OK(rgcd_source_set_timer(tick_src, deadline_ms(1), 2 * RGCD_NSEC_PER_MSEC, 0));
  WAIT_UNTIL(atomic_load(&ticks) >= ticks_at_fork + 4, 10000);
  CHECK_OK(rgcd_source_cancel(tick_src));

  CHECK_OK(rgcd_sync_f(sq, &n, inc)); /* the timer's last handler is done */
  CHECK_OK(rgcd_release(sq));
  CHECK_OK(rgcd_release(g));
  if (!from_worker) check_quiet_and_freed(base, "child");
}

/* Forks while the loaders run; the child checks and exits; the parent checks its sources. */
static void fork_once(int round) {
  int rd0 = atomic_load(&rd_bytes);
  int ticks0 = atomic_load(&ticks);
  fflush(NULL);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    alarm(60); /* the child's own watchdog (alarms are not inherited) */
    child_checks(0);
    _exit(0);
  }
  /* The parent: its pipe source still fires while the child runs its workers, and so does
   * its timer. */
  for (int i = 0; i < 5; i++) {
    char b = (char)round;
    CHECK_EQ(write(pipe_fds[1], &b, 1), 1);
    WAIT_UNTIL(atomic_load(&rd_bytes) == rd0 + i + 1, 10000);
    sleep_ms(20);
  }
  WAIT_UNTIL(atomic_load(&ticks) >= ticks0 + 3, 10000);
  int status = 0;
  CHECK_EQ(waitpid(pid, &status, 0), pid);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "fork round %d: child status %#x\n", round, status);
    exit(1);
  }
}

/* --- fork from a work item on a worker --- */
static atomic_int worker_child_pid;

static void fork_in_item(void *ctx) {
  (void)ctx;
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    alarm(60);
    child_checks(1);
    _exit(0);
  }
  atomic_store(&worker_child_pid, (int)pid);
}

int main(void) {
  start_watchdog(100);
  size_t base = rgcd_debug_live_objects();

  busy_q = rgcd_queue_create("fork.busy", RGCD_QUEUE_SERIAL);
  idle_q = rgcd_queue_create("fork.idle", RGCD_QUEUE_SERIAL);
  parent_g = rgcd_group_create();
  CHECK(busy_q != NULL && idle_q != NULL && parent_g != NULL);
  atomic_long warm = 0;
  CHECK_OK(rgcd_group_async_f(parent_g, idle_q, &warm, inc));
  CHECK_OK(rgcd_group_wait(parent_g, RGCD_TIME_FOREVER));

  CHECK_EQ(pipe(pipe_fds), 0);
  rd_src = rgcd_source_create(RGCD_SOURCE_TYPE_READ, (uintptr_t)pipe_fds[0], 0, idle_q);
  CHECK(rd_src != NULL);
  CHECK_OK(rgcd_source_set_event_handler_f(rd_src, on_readable));
  CHECK_OK(rgcd_activate(rd_src));
  tick_src = rgcd_source_create(RGCD_SOURCE_TYPE_TIMER, 0, 0, idle_q);
  CHECK(tick_src != NULL);
  CHECK_OK(rgcd_source_set_event_handler_f(tick_src, on_tick));
  CHECK_OK(rgcd_source_set_timer(tick_src, deadline_ms(5), 5 * RGCD_NSEC_PER_MSEC, 0));
  CHECK_OK(rgcd_activate(tick_src));
  WAIT_UNTIL(atomic_load(&ticks) >= 2, 10000);

  pthread_t th[LOADERS];
  for (int i = 0; i < LOADERS; i++) CHECK_EQ(pthread_create(&th[i], NULL, loader, NULL), 0);
  for (int round = 0; round < FORKS; round++) {
    sleep_ms(20); /* the loaders are in full swing */
    fork_once(round);
  }
  atomic_store(&stop_load, 1);
  for (int i = 0; i < LOADERS; i++) CHECK_EQ(pthread_join(th[i], NULL), 0);

  /* Fork from inside a work item on a worker. */
  rgcd_queue_t fq = rgcd_queue_create("fork.from-item", RGCD_QUEUE_SERIAL);
  CHECK(fq != NULL);
  CHECK_OK(rgcd_async_f(fq, NULL, fork_in_item));
  WAIT_UNTIL(atomic_load(&worker_child_pid) != 0, 10000);
  pid_t wpid = (pid_t)atomic_load(&worker_child_pid);
  CHECK(wpid > 0);
  int status = 0;
  CHECK_EQ(waitpid(wpid, &status, 0), wpid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK_OK(rgcd_release(fq));

  /* The parent's sources still work. */
  int rd0 = atomic_load(&rd_bytes);
  CHECK_EQ(write(pipe_fds[1], "x", 1), 1);
  WAIT_UNTIL(atomic_load(&rd_bytes) == rd0 + 1, 10000);
  int t0 = atomic_load(&ticks);
  WAIT_UNTIL(atomic_load(&ticks) >= t0 + 3, 10000);

  CHECK_OK(rgcd_source_cancel(rd_src));
  CHECK_OK(rgcd_source_cancel(tick_src));
  CHECK_OK(rgcd_release(rd_src));
  CHECK_OK(rgcd_release(tick_src));
  atomic_long flush = 0;
  CHECK_OK(rgcd_sync_f(idle_q, &flush, inc)); /* the sources' last handlers are done */
  CHECK_OK(rgcd_release(busy_q));
  CHECK_OK(rgcd_release(idle_q));
  CHECK_OK(rgcd_release(parent_g));
  close(pipe_fds[0]);
  close(pipe_fds[1]);
  check_quiet_and_freed(base, "parent");
  return 0;
}
