/* A real race that the annotations must not hide: an item writes after it signalled the
 * semaphore the caller waits on, so that write is not ordered before the caller's read. The
 * caller reads only once the item says (through a relaxed atomic, which orders nothing for
 * TSan) that its write is done, so the two accesses are always on two threads. */
#include "../tsan_check.h"

static long shared;
static atomic_int written;
static rgcd_semaphore_t sem;

static void late_write(void *ctx) {
  (void)ctx;
  rgcd_semaphore_signal(sem);
  shared++;
  atomic_store_explicit(&written, 1, memory_order_relaxed);
}

int main(void) {
  sem = rgcd_semaphore_create(0);
  CHECK(rgcd_async_f(rgcd_get_global_queue(0, 0), NULL, late_write) == 0);
  CHECK(rgcd_semaphore_wait(sem, RGCD_TIME_FOREVER) == 0);
  while (!atomic_load_explicit(&written, memory_order_relaxed)) {
  }
  printf("write_after_signal: done (%ld)\n", shared);
  rgcd_release(sem);
  return 0;
}
