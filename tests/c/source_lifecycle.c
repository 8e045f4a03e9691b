/* source_lifecycle: what a cancelled source leaves behind. For every source type: cancel right
 * after activate; cancel with an event (and the registration) pending behind a suspended
 * queue, then resume; merges after the cancel; a merge racing the cancel from another thread;
 * and an over-release after the cancel handler ran. Each scenario checks the cancel handler ran
 * exactly once and no event handler after it, that the finalizer ran, that every object was
 * freed (rgcd_debug_live_objects back where it started) and that the process is quiet after
 * (under 50 ms of CPU in the next second). Same scenarios as tests/source_lifecycle.rs. */
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/wait.h>

struct counts {
  atomic_int events;
  atomic_int cancels;
  atomic_int registrations;
  atomic_int after_cancel;
  atomic_int finalized;
  rgcd_source_t src;
};

static void on_event(void *ctx) {
  struct counts *c = ctx;
  if (atomic_load(&c->cancels) != 0) atomic_fetch_add(&c->after_cancel, 1);
  atomic_fetch_add(&c->events, 1);
}

static void on_cancel(void *ctx) { atomic_fetch_add(&((struct counts *)ctx)->cancels, 1); }

static void on_registration(void *ctx) {
  atomic_fetch_add(&((struct counts *)ctx)->registrations, 1);
}

static void on_finalize(void *ctx) { atomic_fetch_add(&((struct counts *)ctx)->finalized, 1); }

static rgcd_source_t make(struct counts *c, rgcd_source_type_t type, uintptr_t handle,
                          uintptr_t mask, rgcd_queue_t q) {
  memset(c, 0, sizeof *c);
  rgcd_source_t s = rgcd_source_create(type, handle, mask, q);
  CHECK(s != NULL);
  c->src = s;
  CHECK_OK(rgcd_set_context(s, c));
  CHECK_OK(rgcd_set_finalizer_f(s, on_finalize));
  CHECK_OK(rgcd_source_set_event_handler_f(s, on_event));
  CHECK_OK(rgcd_source_set_cancel_handler_f(s, on_cancel));
  CHECK_OK(rgcd_source_set_registration_handler_f(s, on_registration));
  if (type == RGCD_SOURCE_TYPE_TIMER)
    CHECK_OK(rgcd_source_set_timer(s, RGCD_TIME_NOW, 1000, 0)); /* 1 us: fires at once */
  return s;
}

/* The cancel handler ran once, nothing after it, and the finalizer ran (the last reference is
 * already released). */
static void check_cancelled(struct counts *c, const char *what) {
  uint64_t end = now_ns() + 10000000000ull;
  while ((atomic_load(&c->cancels) == 0 || atomic_load(&c->finalized) == 0) && now_ns() < end)
    sleep_ms(1);
  sleep_ms(5);
  if (atomic_load(&c->cancels) != 1 || atomic_load(&c->after_cancel) != 0 ||
      atomic_load(&c->finalized) != 1) {
    fprintf(stderr, "%s: cancel handler %d times, %d events after it, finalizer %d times\n",
            what, atomic_load(&c->cancels), atomic_load(&c->after_cancel),
            atomic_load(&c->finalized));
    exit(1);
  }
}

static const char *type_name(rgcd_source_type_t t) {
  static const char *names[] = {"?",     "data_add", "data_or", "data_replace", "read",
                                "write", "signal",   "proc",    "timer"};
  return t < sizeof names / sizeof names[0] ? names[t] : "?";
}

/* 1. Cancel right after activate, every type, 10 rounds each (every other one lets the
 * registration or a first event get going). */
static void cancel_right_after_activate(int rfd, int wfd, pid_t child) {
  size_t base = rgcd_debug_live_objects();
  rgcd_queue_t q = rgcd_queue_create("lifecycle.activate", RGCD_QUEUE_SERIAL);
  CHECK(q != NULL);
  struct {
    rgcd_source_type_t type;
    uintptr_t handle, mask;
  } kinds[] = {
      {RGCD_SOURCE_TYPE_DATA_ADD, 0, 0},     {RGCD_SOURCE_TYPE_DATA_OR, 0, 0},
      {RGCD_SOURCE_TYPE_DATA_REPLACE, 0, 0}, {RGCD_SOURCE_TYPE_TIMER, 0, 0},
      {RGCD_SOURCE_TYPE_READ, (uintptr_t)rfd, 0}, {RGCD_SOURCE_TYPE_WRITE, (uintptr_t)wfd, 0},
      {RGCD_SOURCE_TYPE_SIGNAL, SIGUSR2, 0}, {RGCD_SOURCE_TYPE_PROC, (uintptr_t)child, RGCD_PROC_EXIT},
  };
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
    for (int round = 0; round < 10; round++) {
      struct counts c;
      rgcd_source_t s = make(&c, kinds[k].type, kinds[k].handle, kinds[k].mask, q);
      CHECK_OK(rgcd_activate(s));
      if (kinds[k].type <= RGCD_SOURCE_TYPE_DATA_REPLACE) CHECK_OK(rgcd_source_merge_data(s, 1));
      if (round % 2) sleep_ms(1);
      CHECK_OK(rgcd_source_cancel(s));
      CHECK_OK(rgcd_release(s));
      check_cancelled(&c, type_name(kinds[k].type));
    }
  }
  CHECK_OK(rgcd_release(q));
  check_quiet_and_freed(base, "cancel right after activate");
}

/* 2. Events and the registration pending behind a suspended queue when the cancel comes: on
 * resume only the cancel handler runs. */
static void cancel_pending_behind_suspended_queue(void) {
  size_t base = rgcd_debug_live_objects();
  rgcd_queue_t q = rgcd_queue_create("lifecycle.suspended", RGCD_QUEUE_SERIAL);
  CHECK(q != NULL);
  int p[2];
  CHECK(pipe(p) == 0);
  struct counts c[3];
  rgcd_source_t s[3] = {
      make(&c[0], RGCD_SOURCE_TYPE_DATA_ADD, 0, 0, q),
      make(&c[1], RGCD_SOURCE_TYPE_READ, (uintptr_t)p[0], 0, q),
      make(&c[2], RGCD_SOURCE_TYPE_TIMER, 0, 0, q),
  };
  CHECK_OK(rgcd_suspend(q));
  for (int i = 0; i < 3; i++) CHECK_OK(rgcd_activate(s[i]));
  CHECK_OK(rgcd_source_merge_data(s[0], 5));
  CHECK_EQ(write(p[1], "pending", 7), 7);
  sleep_ms(20);
  for (int i = 0; i < 3; i++) {
    CHECK_OK(rgcd_source_cancel(s[i]));
    CHECK_OK(rgcd_release(s[i]));
  }
  sleep_ms(20);
  CHECK_OK(rgcd_resume(q));
  for (int i = 0; i < 3; i++) {
    check_cancelled(&c[i], "pending behind a suspended queue");
    CHECK_EQ(atomic_load(&c[i].events), 0);
    CHECK_EQ(atomic_load(&c[i].registrations), 0);
  }
  close(p[0]);
  close(p[1]);
  CHECK_OK(rgcd_release(q));
  check_quiet_and_freed(base, "cancel with an event pending");
}

/* 3. Merges after the cancel handler ran are dropped. */
static void merge_after_cancel(void) {
  size_t base = rgcd_debug_live_objects();
  rgcd_queue_t q = rgcd_queue_create("lifecycle.merge", RGCD_QUEUE_SERIAL);
  CHECK(q != NULL);
  struct counts c;
  rgcd_source_t s = make(&c, RGCD_SOURCE_TYPE_DATA_ADD, 0, 0, q);
  CHECK_OK(rgcd_activate(s));
  CHECK_OK(rgcd_source_merge_data(s, 1));
  WAIT_UNTIL(atomic_load(&c.events) == 1, 10000);
  CHECK_OK(rgcd_source_cancel(s));
  WAIT_UNTIL(atomic_load(&c.cancels) == 1, 10000);
  for (int i = 0; i < 10000; i++) CHECK_OK(rgcd_source_merge_data(s, (uintptr_t)i + 1));
  sleep_ms(20);
  CHECK_EQ(atomic_load(&c.events), 1);
  CHECK_OK(rgcd_release(s));
  check_cancelled(&c, "merge after cancel");
  CHECK_OK(rgcd_release(q));
  check_quiet_and_freed(base, "merge after cancel");
}

/* 4. A thread merges while the main thread cancels. */
struct merger {
  rgcd_source_t src;
  atomic_int stop;
};

static void *merge_loop(void *p) {
  struct merger *m = p;
  for (long n = 0; !atomic_load(&m->stop) || n < 10; n++)
    if (rgcd_source_merge_data(m->src, 1) != RGCD_OK) abort();
  return NULL;
}

static void merge_racing_cancel(void) {
  size_t base = rgcd_debug_live_objects();
  rgcd_queue_t q = rgcd_queue_create("lifecycle.race", RGCD_QUEUE_SERIAL);
  CHECK(q != NULL);
  for (int round = 0; round < 200; round++) {
    struct counts c;
    rgcd_source_t s = make(&c, RGCD_SOURCE_TYPE_DATA_ADD, 0, 0, q);
    CHECK_OK(rgcd_activate(s));
    struct merger m = {.src = s};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, merge_loop, &m) == 0);
    struct timespec ts = {0, (round % 20) * 10000L};
    nanosleep(&ts, NULL);
    CHECK_OK(rgcd_source_cancel(s));
    atomic_store(&m.stop, 1);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK_OK(rgcd_release(s));
    check_cancelled(&c, "merge racing cancel");
  }
  CHECK_OK(rgcd_release(q));
  check_quiet_and_freed(base, "merge racing cancel");
}

/* 5. Releasing once more after the cancel handler ran and the source was freed is the
 * documented over-release error, not a crash. */
static void over_release_after_cancel(void) {
  size_t base = rgcd_debug_live_objects();
  rgcd_queue_t q = rgcd_queue_create("lifecycle.over-release", RGCD_QUEUE_SERIAL);
  CHECK(q != NULL);
  struct counts c;
  rgcd_source_t s = make(&c, RGCD_SOURCE_TYPE_DATA_ADD, 0, 0, q);
  CHECK_OK(rgcd_activate(s));
  CHECK_OK(rgcd_source_merge_data(s, 3));
  CHECK_OK(rgcd_source_cancel(s));
  CHECK_OK(rgcd_release(s));
  check_cancelled(&c, "over-release after cancel");
  WAIT_UNTIL(rgcd_debug_live_objects() == base + 1, 10000); /* the queue only */
  CHECK_ERR(rgcd_release(s), RGCD_ETYPE);
  CHECK_ERR(rgcd_source_cancel(s), RGCD_ETYPE);
  CHECK_OK(rgcd_release(q));
  check_quiet_and_freed(base, "over-release after cancel");
}

int main(void) {
  start_watchdog(110);
  int sv[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    sleep(60);
    _exit(0);
  }
  cancel_right_after_activate(sv[0], sv[1], child);
  cancel_pending_behind_suspended_queue();
  merge_after_cancel();
  merge_racing_cancel();
  over_release_after_cancel();
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  close(sv[0]);
  close(sv[1]);
  CHECK_EQ(rgcd_debug_live_objects(), 0);
  printf("source_lifecycle: ok\n");
  return 0;
}
