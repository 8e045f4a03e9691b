/* io_close_stop: a read channel on a pipe nobody writes to has a read pending (waiting for the
 * fd, no thread blocked); rgcd_io_close with RGCD_IO_STOP ends it with one done call carrying
 * ECANCELED, a read submitted after the close gets ECANCELED at once, the cleanup handler runs
 * exactly once (error 0), and a close without STOP lets a pending read finish normally; then
 * every object is freed and the process is quiet. */
#include "check.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>

static atomic_int calls, done_calls, last_error, cleanups, cleanup_err;

static void on_read(void *ctx, bool done, rgcd_data_t data, int error) {
  (void)ctx;
  (void)data;
  atomic_fetch_add(&calls, 1);
  if (done) {
    atomic_store(&last_error, error);
    atomic_fetch_add(&done_calls, 1);
  }
}

static void on_cleanup(void *ctx, int error) {
  (void)ctx;
  atomic_store(&cleanup_err, error);
  atomic_fetch_add(&cleanups, 1);
}

int main(void) {
  start_watchdog(60);
  size_t base = rgcd_debug_live_objects();
  int fds[2];
  CHECK_EQ(pipe(fds), 0);
  rgcd_queue_t q = rgcd_queue_create("io.stop", RGCD_QUEUE_SERIAL);

  rgcd_io_t ch = rgcd_io_create(RGCD_IO_STREAM, fds[0], q, NULL, on_cleanup);
  CHECK(ch != NULL);
  CHECK_OK(rgcd_io_read_f(ch, 0, SIZE_MAX, q, NULL, on_read));
  sleep_ms(100);
  CHECK_EQ(atomic_load(&calls), 0);
  CHECK_OK(rgcd_io_close(ch, RGCD_IO_STOP));
  WAIT_UNTIL(atomic_load(&done_calls) == 1, 10000);
  CHECK_EQ(atomic_load(&last_error), ECANCELED);
  CHECK_OK(rgcd_io_read_f(ch, 0, 10, q, NULL, on_read));
  WAIT_UNTIL(atomic_load(&done_calls) == 2, 10000);
  CHECK_EQ(atomic_load(&last_error), ECANCELED);
  WAIT_UNTIL(atomic_load(&cleanups) == 1, 10000);
  CHECK_EQ(atomic_load(&cleanup_err), 0);
  CHECK_EQ(rgcd_io_get_descriptor(ch), -1);
  CHECK_ERR(rgcd_io_close(ch, 0x10), RGCD_EINVAL);
  CHECK_OK(rgcd_release(ch));

  /* Without STOP the pending read runs to completion; the cleanup waits for it. */
  ch = rgcd_io_create(RGCD_IO_STREAM, fds[0], q, NULL, on_cleanup);
  CHECK_OK(rgcd_io_read_f(ch, 0, 5, q, NULL, on_read));
  CHECK_OK(rgcd_io_close(ch, 0));
  CHECK_OK(rgcd_release(ch));
  sleep_ms(50);
  CHECK_EQ(atomic_load(&cleanups), 1);
  CHECK_EQ(write(fds[1], "hello", 5), 5);
  WAIT_UNTIL(atomic_load(&done_calls) == 3, 10000);
  CHECK_EQ(atomic_load(&last_error), 0);
  WAIT_UNTIL(atomic_load(&cleanups) == 2, 10000);

  CHECK_OK(rgcd_release(q));
  check_quiet_and_freed(base, "io_close_stop");
  CHECK_EQ(atomic_load(&cleanups), 2);
  close(fds[0]);
  close(fds[1]);
  printf("io_close_stop: ok\n");
  return 0;
}
