/* tsan_semaphore: a value handed from the caller to a work item and back, ordered by the
 * item's submission (caller -> item) and a semaphore (item -> caller); then a ping-pong
 * between two work items through two semaphores. */
#include "tsan_check.h"

static int shared; /* plain memory: only rgcd orders the accesses */
static rgcd_semaphore_t done;

static void bump(void *ctx) {
  (void)ctx;
  shared = shared * 2 + 1; /* reads the caller's write, writes for the caller */
  CHECK(rgcd_semaphore_signal(done) >= 0);
}

struct pingpong {
  rgcd_semaphore_t ping, pong, finished;
  int ball;
};

static void pinger(void *ctx) {
  struct pingpong *p = ctx;
  for (int i = 0; i < ROUNDS; i++) {
    p->ball += 1;
    rgcd_semaphore_signal(p->ping);
    CHECK(rgcd_semaphore_wait(p->pong, RGCD_TIME_FOREVER) == 0);
  }
  rgcd_semaphore_signal(p->finished);
}

static void ponger(void *ctx) {
  struct pingpong *p = ctx;
  for (int i = 0; i < ROUNDS; i++) {
    CHECK(rgcd_semaphore_wait(p->ping, RGCD_TIME_FOREVER) == 0);
    p->ball += 1;
    rgcd_semaphore_signal(p->pong);
  }
  rgcd_semaphore_signal(p->finished);
}

int main(void) {
  done = rgcd_semaphore_create(0);
  rgcd_queue_t q = rgcd_get_global_queue(0, 0);
  for (int i = 0; i < ROUNDS; i++) {
    shared = i;
    CHECK(rgcd_async_f(q, NULL, bump) == 0);
    CHECK(rgcd_semaphore_wait(done, RGCD_TIME_FOREVER) == 0);
    CHECK(shared == 2 * i + 1);
  }

  struct pingpong p = {rgcd_semaphore_create(0), rgcd_semaphore_create(0),
                       rgcd_semaphore_create(0), 0};
  CHECK(rgcd_async_f(q, &p, pinger) == 0);
  CHECK(rgcd_async_f(q, &p, ponger) == 0);
  CHECK(rgcd_semaphore_wait(p.finished, RGCD_TIME_FOREVER) == 0);
  CHECK(rgcd_semaphore_wait(p.finished, RGCD_TIME_FOREVER) == 0);
  CHECK(p.ball == 2 * ROUNDS);

  rgcd_release(p.ping);
  rgcd_release(p.pong);
  rgcd_release(p.finished);
  rgcd_release(done);
  puts("tsan_semaphore: ok");
  return 0;
}
