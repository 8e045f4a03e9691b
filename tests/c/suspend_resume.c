/* suspend_resume: suspension nests by count; work enqueued while suspended waits and then
 * runs in FIFO order; a resume without a matching suspend is RGCD_ESTATE. */
#include "check.h"

#include <stdatomic.h>

#define ITEMS 100

static int order[ITEMS]; /* written only by the serial queue */
static atomic_int ran;
static rgcd_semaphore_t all_done;

static void work(void *ctx) {
  int seq = (int)(intptr_t)ctx;
  int n = atomic_fetch_add(&ran, 1);
  order[n] = seq;
  if (n + 1 == ITEMS) rgcd_semaphore_signal(all_done);
}

static atomic_int extra_ran;
static void count(void *ctx) {
  (void)ctx;
  atomic_fetch_add(&extra_ran, 1);
}

int main(void) {
  start_watchdog(100);
  all_done = rgcd_semaphore_create(0);
  CHECK(all_done != NULL);
  rgcd_queue_t q = rgcd_queue_create("suspend_resume", RGCD_QUEUE_SERIAL);
  CHECK(q != NULL);

  CHECK_OK(rgcd_suspend(q));
  CHECK_OK(rgcd_suspend(q));
  for (int i = 0; i < ITEMS; i++) CHECK_OK(rgcd_async_f(q, (void *)(intptr_t)i, work));

  sleep_ms(100);
  CHECK_EQ(atomic_load(&ran), 0);

  CHECK_OK(rgcd_resume(q)); /* still suspended once */
  sleep_ms(100);
  CHECK_EQ(atomic_load(&ran), 0);

  CHECK_OK(rgcd_resume(q));
  CHECK_OK(rgcd_semaphore_wait(all_done, deadline_ms(30000)));
  CHECK_EQ(atomic_load(&ran), ITEMS);
  for (int i = 0; i < ITEMS; i++) CHECK_EQ(order[i], i);

  /* One resume too many. */
  CHECK_ERR(rgcd_resume(q), RGCD_ESTATE);

  /* The queue still works, and can be suspended again. */
  CHECK_OK(rgcd_suspend(q));
  CHECK_OK(rgcd_resume(q));
  CHECK_OK(rgcd_sync_f(q, NULL, count));
  CHECK_EQ(atomic_load(&extra_ran), 1);

  /* A suspended concurrent queue holds its work too. */
  rgcd_queue_t cq = rgcd_queue_create("suspend_resume.concurrent", RGCD_QUEUE_CONCURRENT);
  CHECK(cq != NULL);
  CHECK_OK(rgcd_suspend(cq));
  for (int i = 0; i < 10; i++) CHECK_OK(rgcd_async_f(cq, NULL, count));
  sleep_ms(100);
  CHECK_EQ(atomic_load(&extra_ran), 1);
  CHECK_OK(rgcd_resume(cq));
  WAIT_UNTIL(atomic_load(&extra_ran) == 11, 30000);
  CHECK_ERR(rgcd_resume(cq), RGCD_ESTATE);

  CHECK_OK(rgcd_release(cq));
  CHECK_OK(rgcd_release(q));
  CHECK_OK(rgcd_release(all_done));
  return 0;
}
