/* main_queue: work sent to rgcd_get_main_queue() runs on the main thread, in FIFO order, once
 * the main thread calls rgcd_main(); sync onto the main queue from a worker runs there too;
 * sync onto it from main-queue work is a deadlock; the program ends with exit(0) from the
 * last piece of work. */
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>

#define ITEMS 100

static pthread_t main_thread;
static rgcd_queue_t main_q;
static atomic_int first_ran;
static int next_seq; /* only touched on the main thread */
static atomic_int sync_ran;

static void check_on_main(const char *what) {
  if (!pthread_equal(pthread_self(), main_thread)) {
    fprintf(stderr, "main_queue: %s ran off the main thread\n", what);
    exit(1);
  }
}

static void watchdog(void *ctx) {
  (void)ctx;
  fprintf(stderr, "main_queue: watchdog fired after 20 s: main-queue work did not finish\n");
  _exit(1);
}

static void finish(void *ctx) {
  (void)ctx;
  check_on_main("finish");
  CHECK_EQ(atomic_load(&first_ran), 1);
  CHECK_EQ(next_seq, ITEMS);
  CHECK_EQ(atomic_load(&sync_ran), 1);
  printf("main_queue: ok\n");
  fflush(stdout);
  exit(0);
}

static void sync_work(void *ctx) {
  (void)ctx;
  check_on_main("sync work sent from a worker");
  atomic_fetch_add(&sync_ran, 1);
}

static void worker_sync(void *ctx) {
  (void)ctx;
  CHECK(!pthread_equal(pthread_self(), main_thread));
  CHECK_OK(rgcd_sync_f(main_q, NULL, sync_work));
  CHECK_EQ(atomic_load(&sync_ran), 1);
  CHECK_OK(rgcd_async_f(main_q, NULL, finish));
}

static atomic_int nested_ran;
static void nested(void *ctx) {
  (void)ctx;
  atomic_fetch_add(&nested_ran, 1);
}

static void after_items(void *ctx) {
  (void)ctx;
  check_on_main("after_items");
  CHECK_EQ(next_seq, ITEMS);
  /* Sync onto the main queue from work running on it would never return. */
  CHECK_ERR(rgcd_sync_f(main_q, NULL, nested), RGCD_EDEADLK);
  CHECK_EQ(atomic_load(&nested_ran), 0);
  CHECK_OK(rgcd_async_f(rgcd_get_global_queue(RGCD_QOS_DEFAULT, 0), NULL, worker_sync));
}

static void item(void *ctx) {
  check_on_main("item");
  CHECK_EQ(atomic_load(&first_ran), 1);
  CHECK_EQ((int)(intptr_t)ctx, next_seq);
  next_seq++;
}

static void worker_start(void *ctx) {
  (void)ctx;
  CHECK(!pthread_equal(pthread_self(), main_thread));
  for (int i = 0; i < ITEMS; i++) CHECK_OK(rgcd_async_f(main_q, (void *)(intptr_t)i, item));
  CHECK_OK(rgcd_async_f(main_q, NULL, after_items));
}

static void first(void *ctx) {
  (void)ctx;
  check_on_main("first");
  atomic_fetch_add(&first_ran, 1);
}

int main(void) {
  start_watchdog(60);
  main_thread = pthread_self();
  main_q = rgcd_get_main_queue();
  CHECK(main_q != NULL);
  CHECK_OK(rgcd_retain(main_q)); /* borrowed: no-ops */
  CHECK_OK(rgcd_release(main_q));
  rgcd_queue_t global = rgcd_get_global_queue(RGCD_QOS_DEFAULT, 0);
  CHECK(global != NULL);
  CHECK_OK(rgcd_after_f(deadline_ms(20000), global, NULL, watchdog));

  CHECK_OK(rgcd_async_f(main_q, NULL, first)); /* queued before rgcd_main: runs first */
  sleep_ms(50);
  CHECK_EQ(atomic_load(&first_ran), 0); /* nothing drains the main queue yet */
  CHECK_OK(rgcd_async_f(global, NULL, worker_start));

  int r = rgcd_main();
  fprintf(stderr, "main_queue: rgcd_main returned %d (%s)\n", r, rgcd_last_error());
  return 1;
}
