/* Shared helpers for the ThreadSanitizer programs (tests/tsan, docs/sanitizers.md).
 *
 * Every program here shares plain (non-atomic) memory between threads and orders the
 * accesses only through rgcd: a semaphore, a group, a serial queue, a barrier, once, apply,
 * sync. They are built with -fsanitize=thread against an rgcd built with the `tsan` feature
 * (whose annotations tell TSan about those orderings) and must run with no report; built
 * against the default rgcd, TSan must report races on the same programs (the tsan_*_unannotated
 * tests), which shows the programs can fail. Each round repeats its pattern so that the work
 * runs on workers created long before the accesses. */
#ifndef RGCD_TSAN_CHECK_H
#define RGCD_TSAN_CHECK_H

#include <rgcd.h>

#include <stdio.h>
#include <stdlib.h>

#define ROUNDS 50

#include <stdatomic.h>
#include <time.h>

/* Two work items meet: each marks its arrival and waits (up to a second) for the other's,
 * so both are running at once, on two threads. Relaxed atomics only: to TSan they order
 * nothing, so the meeting adds no happens-before edge of its own (tests/tsan/races). */
static inline void rendezvous(atomic_int *mine, atomic_int *other) {
  atomic_store_explicit(mine, 1, memory_order_relaxed);
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  while (!atomic_load_explicit(other, memory_order_relaxed)) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - start.tv_sec > 1) break;
  }
}

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      fprintf(stderr, "%s:%d: CHECK failed: %s (rgcd_last_error: \"%s\")\n",         \
              __FILE__, __LINE__, #cond, rgcd_last_error() ? rgcd_last_error() : ""); \
      exit(1);                                                                       \
    }                                                                                \
  } while (0)

#endif
