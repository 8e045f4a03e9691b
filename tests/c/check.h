/* Shared helpers for the C tests: each test is one program that exits 0 on success.
 * Include this header first (it sets the POSIX feature level). */
#ifndef RGCD_TEST_CHECK_H
#define RGCD_TEST_CHECK_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <rgcd.h>

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static inline const char *check_last_error(void) {
  const char *e = rgcd_last_error();
  return e ? e : "(null)";
}

/* CHECK(cond): abort the test with file:line and the thread's last rgcd error. */
#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      fprintf(stderr, "%s:%d: CHECK failed: %s (rgcd_last_error: \"%s\")\n",         \
              __FILE__, __LINE__, #cond, check_last_error());                        \
      exit(1);                                                                       \
    }                                                                                \
  } while (0)

/* CHECK_EQ(a, b): both sides are evaluated once and compared as long long. */
#define CHECK_EQ(a, b)                                                               \
  do {                                                                               \
    long long check_a_ = (long long)(a);                                             \
    long long check_b_ = (long long)(b);                                             \
    if (check_a_ != check_b_) {                                                      \
      fprintf(stderr,                                                                \
              "%s:%d: CHECK_EQ failed: %s == %s (%lld != %lld) "                     \
              "(rgcd_last_error: \"%s\")\n",                                         \
              __FILE__, __LINE__, #a, #b, check_a_, check_b_, check_last_error());   \
      exit(1);                                                                       \
    }                                                                                \
  } while (0)

#define CHECK_OK(expr) CHECK_EQ((expr), RGCD_OK)

/* CHECK_ERR(expr, code): the call fails with `code`, and both the thread's message and
 * rgcd_strerror(code) are non-empty. */
#define CHECK_ERR(expr, code)                                                        \
  do {                                                                               \
    CHECK_EQ((expr), (code));                                                        \
    CHECK(rgcd_last_error() != NULL && rgcd_last_error()[0] != '\0');                \
    CHECK(rgcd_strerror(code) != NULL && rgcd_strerror(code)[0] != '\0');            \
  } while (0)

/* CHECK_NULL_ERR(expr): a constructor returns NULL and leaves a message. */
#define CHECK_NULL_ERR(expr)                                                         \
  do {                                                                               \
    CHECK((expr) == NULL);                                                           \
    CHECK(rgcd_last_error() != NULL && rgcd_last_error()[0] != '\0');                \
  } while (0)

/* Monotonic clock in nanoseconds (CLOCK_MONOTONIC), for measuring, never for asserting speed. */
static inline uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Wall clock (CLOCK_REALTIME) in nanoseconds since the epoch. */
static inline uint64_t wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* An rgcd deadline `ms` milliseconds from now. */
static inline rgcd_time_t deadline_ms(int64_t ms) {
  return rgcd_time(RGCD_TIME_NOW, ms * (int64_t)RGCD_NSEC_PER_MSEC);
}

static inline void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

/* A short busy loop, so that overlapping executions have a window to be caught. */
static inline void spin(unsigned n) {
  volatile unsigned x = 0;
  for (unsigned i = 0; i < n; i++) x = x + i;
  (void)x;
}

/* WAIT_UNTIL(cond, ms): poll `cond` every millisecond; fail the test if it is still false
 * after `ms` milliseconds. */
#define WAIT_UNTIL(cond, ms)                                                         \
  do {                                                                               \
    uint64_t wait_end_ = now_ns() + (uint64_t)(ms) * 1000000ull;                      \
    while (!(cond)) {                                                                \
      if (now_ns() > wait_end_) {                                                    \
        fprintf(stderr, "%s:%d: WAIT_UNTIL timed out after %d ms: %s\n", __FILE__,    \
                __LINE__, (int)(ms), #cond);                                         \
        exit(1);                                                                     \
      }                                                                              \
      sleep_ms(1);                                                                   \
    }                                                                                \
  } while (0)

/* CPU time (user + system) the whole process has used, in nanoseconds. */
static inline uint64_t process_cpu_ns(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ull +
         ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ull;
}

/* The state after a cancel, a shutdown or a burst of work: every rgcd object created since
 * the live count was `base` has been freed (within 10 s), and the process uses under 50 ms of
 * CPU over the next second (nothing spins). */
static inline void check_quiet_and_freed(size_t base, const char *what) {
  uint64_t end = now_ns() + 10000000000ull;
  while (rgcd_debug_live_objects() > base && now_ns() < end) sleep_ms(1);
  if (rgcd_debug_live_objects() > base) {
    fprintf(stderr, "%s: %zu rgcd objects still alive (started from %zu)\n", what,
            (size_t)rgcd_debug_live_objects(), base);
    exit(1);
  }
  sleep_ms(150); /* let workers finish spinning after the last work */
  uint64_t c0 = process_cpu_ns();
  sleep_ms(1000);
  uint64_t used = process_cpu_ns() - c0;
  if (used >= 50000000ull) {
    fprintf(stderr, "%s: %.1f ms of CPU in the second after (limit 50)\n", what,
            (double)used / 1e6);
    exit(1);
  }
}

static inline void watchdog_fired(int sig) {
  static const char msg[] = "test watchdog: the test did not finish in time (hang?)\n";
  (void)sig;
  ssize_t w = write(2, msg, sizeof msg - 1);
  (void)w;
  _exit(1);
}

/* Fail the whole test (exit 1 with a message) if it runs longer than `seconds`: a hang in a
 * call that has no deadline (sync, apply, once) then fails instead of blocking. */
static inline void start_watchdog(unsigned seconds) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = watchdog_fired;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, NULL);
  alarm(seconds);
}

/* Waits up to `ms` milliseconds for child `pid` to end: returns 1 with its status in
 * `*status`, or 0 after killing it (SIGKILL) and reaping it when it did not end in time (a
 * hung child; it may hang before fork() returns in it, where no alarm of its own is set). */
static inline int wait_child(pid_t pid, long ms, int *status) {
  for (long waited = 0;; waited++) {
    pid_t r = waitpid(pid, status, WNOHANG);
    CHECK(r >= 0);
    if (r == pid) return 1;
    if (waited >= ms) break;
    sleep_ms(1);
  }
  kill(pid, SIGKILL);
  CHECK_EQ(waitpid(pid, status, 0), pid);
  return 0;
}

/* Forks `forks` times, one child at a time; each child runs `child` and exits 0 (a failed
 * CHECK exits 1). Counts in `*hung` the children that did not end within 20 s (killed) and in
 * `*failed` those that ended otherwise than with status 0 (each reported on stderr). */
static inline void fork_children(int forks, void (*child)(void), int *hung, int *failed) {
  *hung = 0;
  *failed = 0;
  for (int i = 0; i < forks; i++) {
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
      child();
      _exit(0);
    }
    int status = 0;
    if (!wait_child(pid, 20000, &status)) {
      (*hung)++;
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "fork %d: child status %#x\n", i, status);
      (*failed)++;
    }
  }
}

#endif
