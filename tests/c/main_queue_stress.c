/* main_queue_stress: four workers each do 500 syncs and 500 asyncs onto the main queue while
 * rgcd_main() drains it; every item runs on the main thread, exactly once, and asyncs from
 * one worker keep their order. The last item exits the process. */
#include "check.h"
#include <pthread.h>
#include <stdatomic.h>

#define WORKERS 4
#define EACH 500

static pthread_t main_thread;
static atomic_int on_wrong_thread;
static atomic_int syncs, asyncs, finished_workers;
static atomic_int next_seq[WORKERS];
static atomic_int order_errors;

static void check_main(void) {
  if (!pthread_equal(pthread_self(), main_thread)) atomic_fetch_add(&on_wrong_thread, 1);
}

static void sync_item(void *ctx) {
  (void)ctx;
  check_main();
  atomic_fetch_add(&syncs, 1);
}

static void async_item(void *ctx) {
  intptr_t v = (intptr_t)ctx;
  int w = (int)(v / EACH), i = (int)(v % EACH);
  check_main();
  if (atomic_fetch_add(&next_seq[w], 1) != i) atomic_fetch_add(&order_errors, 1);
  atomic_fetch_add(&asyncs, 1);
}

static void finish(void *ctx) {
  (void)ctx;
  check_main();
  if (atomic_load(&finished_workers) != WORKERS) {
    /* Not everyone is done: look again shortly. */
    rgcd_after_f(rgcd_time(RGCD_TIME_NOW, 1000000), rgcd_get_main_queue(), NULL, finish);
    return;
  }
  CHECK_EQ(atomic_load(&syncs), WORKERS * EACH);
  if (atomic_load(&asyncs) != WORKERS * EACH) {
    rgcd_async_f(rgcd_get_main_queue(), NULL, finish);
    return;
  }
  CHECK_EQ(atomic_load(&on_wrong_thread), 0);
  CHECK_EQ(atomic_load(&order_errors), 0);
  printf("main_queue_stress: %d syncs and %d asyncs ran on the main thread\n",
         atomic_load(&syncs), atomic_load(&asyncs));
  exit(0);
}

static void worker(void *ctx) {
  intptr_t w = (intptr_t)ctx;
  rgcd_queue_t mq = rgcd_get_main_queue();
  for (int i = 0; i < EACH; i++) {
    CHECK_OK(rgcd_async_f(mq, (void *)(w * EACH + i), async_item));
    CHECK_OK(rgcd_sync_f(mq, NULL, sync_item));
  }
  atomic_fetch_add(&finished_workers, 1);
}

int main(void) {
  start_watchdog(60);
  main_thread = pthread_self();
  rgcd_queue_t g = rgcd_get_global_queue(RGCD_QOS_DEFAULT, 0);
  for (intptr_t w = 0; w < WORKERS; w++) CHECK_OK(rgcd_async_f(g, (void *)w, worker));
  CHECK_OK(rgcd_async_f(rgcd_get_main_queue(), NULL, finish));
  rgcd_main();
  fprintf(stderr, "rgcd_main returned: %s\n", rgcd_last_error());
  return 1;
}
