/* apply_sum: rgcd_apply_f runs every iteration exactly once and returns after all of them,
 * over a concurrent queue, a serial queue, a global queue and NULL (auto); 0 iterations calls
 * nothing; apply nests inside apply. */
#include "check.h"

#include <stdatomic.h>

#define N 1000000u

struct sum {
  atomic_ullong total;
  _Atomic unsigned char *runs; /* per-iteration run count, or NULL */
};

static void add_index(void *ctx, size_t i) {
  struct sum *s = ctx;
  atomic_fetch_add_explicit(&s->total, i, memory_order_relaxed);
  if (s->runs) atomic_fetch_add_explicit(&s->runs[i], 1, memory_order_relaxed);
}

static void check_apply(const char *what, rgcd_queue_t q, _Atomic unsigned char *runs) {
  struct sum s = {.runs = runs};
  atomic_init(&s.total, 0);
  memset((void *)runs, 0, N);
  uint64_t t0 = now_ns();
  CHECK_OK(rgcd_apply_f(N, q, &s, add_index));
  printf("apply_sum: %s: %u iterations in %.1f ms\n", what, N, (double)(now_ns() - t0) / 1e6);
  /* Everything is done once apply returns: no waiting here. */
  CHECK_EQ(atomic_load(&s.total), (unsigned long long)N * (N - 1) / 2);
  for (size_t i = 0; i < N; i++) {
    if (atomic_load_explicit(&runs[i], memory_order_relaxed) != 1) {
      fprintf(stderr, "%s: iteration %zu ran %u times\n", what, i,
              (unsigned)atomic_load(&runs[i]));
      exit(1);
    }
  }
}

static atomic_int zero_calls;
static void never(void *ctx, size_t i) {
  (void)ctx;
  (void)i;
  atomic_fetch_add(&zero_calls, 1);
}

#define OUTER 20u
#define INNER 5000u

struct nested {
  rgcd_queue_t inner_queue;
  atomic_ullong total;
  atomic_int failures;
};

static void inner(void *ctx, size_t i) {
  struct nested *n = ctx;
  atomic_fetch_add_explicit(&n->total, i, memory_order_relaxed);
}

static void outer(void *ctx, size_t i) {
  struct nested *n = ctx;
  (void)i;
  if (rgcd_apply_f(INNER, n->inner_queue, n, inner) != 0) atomic_fetch_add(&n->failures, 1);
}

int main(void) {
  start_watchdog(100);
  _Atomic unsigned char *runs = calloc(N, sizeof *runs);
  CHECK(runs != NULL);

  rgcd_queue_t cq = rgcd_queue_create("apply_sum.concurrent", RGCD_QUEUE_CONCURRENT);
  rgcd_queue_t sq = rgcd_queue_create("apply_sum.serial", RGCD_QUEUE_SERIAL);
  rgcd_queue_t gq = rgcd_get_global_queue(RGCD_QOS_DEFAULT, 0);
  CHECK(cq != NULL && sq != NULL && gq != NULL);

  check_apply("concurrent queue", cq, runs);
  check_apply("serial queue", sq, runs);
  check_apply("global queue", gq, runs);
  check_apply("NULL (auto)", NULL, runs);

  CHECK_OK(rgcd_apply_f(0, cq, NULL, never));
  CHECK_OK(rgcd_apply_f(0, NULL, NULL, never));
  CHECK_EQ(atomic_load(&zero_calls), 0);

  rgcd_queue_t inner_queues[] = {NULL, cq, gq};
  for (size_t k = 0; k < sizeof inner_queues / sizeof inner_queues[0]; k++) {
    struct nested n = {.inner_queue = inner_queues[k]};
    atomic_init(&n.total, 0);
    atomic_init(&n.failures, 0);
    CHECK_OK(rgcd_apply_f(OUTER, cq, &n, outer));
    CHECK_EQ(atomic_load(&n.failures), 0);
    CHECK_EQ(atomic_load(&n.total), (unsigned long long)OUTER * INNER * (INNER - 1) / 2);
  }

  CHECK_OK(rgcd_release(cq));
  CHECK_OK(rgcd_release(sq));
  free((void *)runs);
  return 0;
}
