/* rgcd_soak: a bounded soak test. Each round, four threads run a random mix of operations
 * over a shared set of objects: serial and concurrent queues (some retargeted at each other),
 * async and barrier work, syncs, groups, semaphores, suspend/resume, timers, data sources and
 * socketpair read sources — created, fed, suspended, resumed and cancelled. After each round:
 *   - every submitted task ran exactly once, every cancel handler exactly once, and no event
 *     handler ran after its source's cancel handler;
 *   - every object was freed (rgcd_debug_live_objects back to where it started);
 * and over the whole run: RSS flat across rounds (the last rounds' peak within 8 MiB of the
 * early rounds'), and the process idle after the last round (under 50 ms of CPU in a second).
 *
 * Usage: rgcd_soak [--rounds N] [--ops N] [--seed S]   (defaults: 30 rounds, 100000 ops each)
 * Not part of the default CTest run (a few minutes): see README.md, "Soak". */
#define _GNU_SOURCE
#include <rgcd.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define THREADS 4
#define QUEUES 16
#define SOURCES 64

static void fail(const char *what) {
  fprintf(stderr, "rgcd_soak: FAILED: %s (rgcd_last_error: %s)\n", what, rgcd_last_error());
  exit(1);
}
#define CHECK(c)                                                                                 \
  do {                                                                                           \
    if (!(c)) fail(#c);                                                                          \
  } while (0)

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

static uint64_t cpu_ns(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ull +
         ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ull;
}

static long rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long v = -1;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "VmRSS:", 6) == 0) v = strtol(line + 6, NULL, 10);
  if (f) fclose(f);
  return v;
}

static uint64_t xorshift(uint64_t *s) {
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *s = x;
}

/* ---- tasks: each carries a slot that must be hit exactly once ---- */
static atomic_uchar *hits;
static atomic_long next_task, bad_hits;
static rgcd_group_t all;

static void task(void *ctx) {
  long i = (long)(intptr_t)ctx;
  if (atomic_fetch_add(&hits[i], 1) != 0) atomic_fetch_add(&bad_hits, 1);
}

static long new_task(void) { return atomic_fetch_add(&next_task, 1); }

/* ---- sources ---- */
struct src {
  rgcd_source_t s;
  int fd[2];
  atomic_int cancels, after_cancel, events;
  atomic_int done;
};

static void src_event(void *ctx) {
  struct src *x = ctx;
  if (atomic_load(&x->cancels)) atomic_fetch_add(&x->after_cancel, 1);
  atomic_fetch_add(&x->events, 1);
  if (x->fd[0] >= 0) {
    char buf[64];
    ssize_t n = read(x->fd[0], buf, sizeof buf);
    (void)n;
  }
}

static void src_cancel(void *ctx) {
  struct src *x = ctx;
  atomic_fetch_add(&x->cancels, 1);
  if (x->fd[0] >= 0) {
    close(x->fd[0]);
    close(x->fd[1]);
  }
  rgcd_group_leave(all);
}

struct round {
  rgcd_queue_t q[QUEUES];
  rgcd_semaphore_t sem;
  struct src *srcs;
  atomic_int nsrcs;
  int max_srcs;
  long ops;
  uint64_t seed;
};

static rgcd_queue_t pick_queue(struct round *r, uint64_t *s) {
  uint64_t x = xorshift(s) % (QUEUES + 2);
  if (x >= QUEUES) return rgcd_get_global_queue(x == QUEUES ? RGCD_QOS_DEFAULT : RGCD_QOS_UTILITY, 0);
  return r->q[x];
}

static void new_source(struct round *r, uint64_t *s) {
  int i = atomic_fetch_add(&r->nsrcs, 1);
  if (i >= r->max_srcs) return;
  struct src *x = &r->srcs[i];
  x->fd[0] = x->fd[1] = -1;
  uint64_t kind = xorshift(s) % 3;
  rgcd_queue_t q = pick_queue(r, s);
  if (kind == 0) {
    x->s = rgcd_source_create(RGCD_SOURCE_TYPE_DATA_ADD, 0, 0, q);
  } else if (kind == 1) {
    x->s = rgcd_source_create(RGCD_SOURCE_TYPE_TIMER, 0, 0, q);
    CHECK(x->s);
    CHECK(rgcd_source_set_timer(x->s, RGCD_TIME_NOW, 100000 + xorshift(s) % 2000000, 50000) == 0);
  } else {
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, x->fd) == 0);
    x->s = rgcd_source_create(RGCD_SOURCE_TYPE_READ, (uintptr_t)x->fd[0], 0, q);
  }
  CHECK(x->s);
  CHECK(rgcd_set_context(x->s, x) == 0);
  CHECK(rgcd_source_set_event_handler_f(x->s, src_event) == 0);
  CHECK(rgcd_source_set_cancel_handler_f(x->s, src_cancel) == 0);
  CHECK(rgcd_group_enter(all) == 0);
  CHECK(rgcd_activate(x->s) == 0);
  atomic_store(&x->done, 1);
}

static void poke_source(struct round *r, uint64_t *s) {
  int n = atomic_load(&r->nsrcs);
  if (n > r->max_srcs) n = r->max_srcs;
  if (n == 0) return;
  struct src *x = &r->srcs[xorshift(s) % (uint64_t)n];
  if (!atomic_load(&x->done)) return;
  switch (xorshift(s) % 4) {
  case 0:
    rgcd_source_merge_data(x->s, 1); /* fails (ENOTSUP) on non-data sources: fine */
    break;
  case 1:
    if (x->fd[1] >= 0 && !rgcd_source_testcancel(x->s)) {
      ssize_t w = write(x->fd[1], "x", 1);
      (void)w;
    }
    break;
  case 2:
    /* a suspend and its resume from this thread keep the count balanced */
    if (rgcd_suspend(x->s) == 0) rgcd_resume(x->s);
    break;
  default:
    break;
  }
}

static void *worker(void *p) {
  struct round *r = p;
  uint64_t s = r->seed ^ (uint64_t)(uintptr_t)pthread_self();
  if (s == 0) s = 1;
  for (long op = 0; op < r->ops / THREADS; op++) {
    uint64_t what = xorshift(&s) % 100;
    rgcd_queue_t q = pick_queue(r, &s);
    if (what < 45) {
      long t = new_task();
      CHECK(rgcd_group_async_f(all, q, (void *)(intptr_t)t, task) == 0);
    } else if (what < 55) {
      long t = new_task();
      CHECK(rgcd_group_enter(all) == 0);
      CHECK(rgcd_barrier_async_f(q, (void *)(intptr_t)t, task) == 0);
      CHECK(rgcd_group_leave(all) == 0);
    } else if (what < 62) {
      long t = new_task();
      int st = rgcd_sync_f(q, (void *)(intptr_t)t, task);
      if (st != 0) atomic_fetch_add(&hits[t], 1); /* not run: count it so the check holds */
    } else if (what < 67) {
      long t = new_task();
      CHECK(rgcd_after_f(rgcd_time(RGCD_TIME_NOW, (int64_t)(xorshift(&s) % 3000000)), q,
                         (void *)(intptr_t)t, task) == 0);
      /* afters are counted by the final wait on the task slots */
    } else if (what < 72) {
      rgcd_queue_t sq = r->q[xorshift(&s) % QUEUES];
      if (rgcd_suspend(sq) == 0) {
        struct timespec ts = {0, 20000};
        nanosleep(&ts, NULL);
        CHECK(rgcd_resume(sq) == 0);
      }
    } else if (what < 78) {
      CHECK(rgcd_semaphore_signal(r->sem) >= 0);
      CHECK(rgcd_semaphore_wait(r->sem, rgcd_time(RGCD_TIME_NOW, 1000000000)) == 0);
    } else if (what < 84) {
      new_source(r, &s);
    } else if (what < 96) {
      poke_source(r, &s);
    } else {
      long t = new_task();
      CHECK(rgcd_group_async_f(all, q, (void *)(intptr_t)t, task) == 0);
      rgcd_group_t g = rgcd_group_create();
      CHECK(g);
      CHECK(rgcd_group_wait(g, RGCD_TIME_NOW) == 0);
      CHECK(rgcd_release(g) == 0);
    }
  }
  return NULL;
}

int main(int argc, char **argv) {
  long rounds = 30, ops = 100000;
  uint64_t seed = 0x9e3779b97f4a7c15ull;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--rounds") == 0) rounds = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--ops") == 0) ops = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--seed") == 0) seed = strtoull(argv[i + 1], NULL, 0);
  }
  size_t base = rgcd_debug_live_objects();
  long rss_early = 0, rss_late = 0;
  uint64_t t_start = now_ns();
  long total_ops = 0, total_tasks = 0, total_sources = 0;
  for (long round = 0; round < rounds; round++) {
    struct round r;
    memset(&r, 0, sizeof r);
    r.ops = ops;
    r.seed = seed + (uint64_t)round * 7919u;
    r.max_srcs = SOURCES;
    r.srcs = calloc(SOURCES, sizeof *r.srcs);
    hits = calloc((size_t)ops + 16, sizeof *hits);
    atomic_store(&next_task, 0);
    atomic_store(&bad_hits, 0);
    all = rgcd_group_create();
    r.sem = rgcd_semaphore_create(0);
    CHECK(all && r.sem && r.srcs && hits);
    for (int i = 0; i < QUEUES; i++) {
      char label[32];
      snprintf(label, sizeof label, "soak.%d", i);
      r.q[i] = rgcd_queue_create(label, i % 3 == 0 ? RGCD_QUEUE_CONCURRENT : RGCD_QUEUE_SERIAL);
      CHECK(r.q[i]);
      if (i >= 8 && i % 2 == 0) CHECK(rgcd_set_target_queue(r.q[i], r.q[i - 7]) == 0);
    }
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) CHECK(pthread_create(&th[i], NULL, worker, &r) == 0);
    for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
    /* Cancel every source; the group holds one entry per source until its cancel handler. */
    int n = atomic_load(&r.nsrcs);
    if (n > SOURCES) n = SOURCES;
    for (int i = 0; i < n; i++) CHECK(rgcd_source_cancel(r.srcs[i].s) == 0);
    CHECK(rgcd_group_wait(all, rgcd_time(RGCD_TIME_NOW, 60 * (int64_t)RGCD_NSEC_PER_SEC)) == 0);
    long tasks = atomic_load(&next_task);
    uint64_t end = now_ns() + 30000000000ull;
    for (long i = 0; i < tasks; i++) {
      while (atomic_load(&hits[i]) == 0 && now_ns() < end) sleep_ms(1); /* afters */
      if (atomic_load(&hits[i]) != 1) fail("a task did not run exactly once");
    }
    CHECK(atomic_load(&bad_hits) == 0);
    for (int i = 0; i < n; i++) {
      if (atomic_load(&r.srcs[i].cancels) != 1) fail("a cancel handler did not run exactly once");
      if (atomic_load(&r.srcs[i].after_cancel) != 0) fail("an event handler ran after cancel");
      CHECK(rgcd_release(r.srcs[i].s) == 0);
    }
    for (int i = 0; i < QUEUES; i++) CHECK(rgcd_release(r.q[i]) == 0);
    CHECK(rgcd_release(r.sem) == 0);
    CHECK(rgcd_release(all) == 0);
    end = now_ns() + 10000000000ull;
    while (rgcd_debug_live_objects() > base && now_ns() < end) sleep_ms(1);
    if (rgcd_debug_live_objects() > base) fail("objects still alive after the round");
    free(hits);
    free(r.srcs);
    long rss = rss_kib();
    if (round < 3 && rss > rss_early) rss_early = rss;
    if (round >= rounds - 3 && rss > rss_late) rss_late = rss;
    total_ops += ops;
    total_tasks += tasks;
    total_sources += n;
    printf("round %ld: %ld ops, %ld tasks, %d sources, RSS %ld KiB, %zu threads\n", round, ops,
           tasks, n, rss, rgcd_pool_thread_count());
    fflush(stdout);
  }
  double secs = (double)(now_ns() - t_start) / 1e9;
  sleep_ms(200);
  uint64_t c0 = cpu_ns();
  sleep_ms(1000);
  double idle_ms = (double)(cpu_ns() - c0) / 1e6;
  printf("soak: %ld rounds, %ld operations, %ld tasks, %ld sources in %.1f s; peak RSS early %ld "
         "KiB, late %ld KiB; %.1f ms CPU in the second after\n",
         rounds, total_ops, total_tasks, total_sources, secs, rss_early, rss_late, idle_ms);
  if (rounds >= 6 && rss_late > rss_early + 8192) fail("RSS grew across rounds");
  if (idle_ms >= 50.0) fail("not idle after the last round");
  printf("soak: ok\n");
  return 0;
}
