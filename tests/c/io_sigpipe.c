/* io_sigpipe: writing through rgcd to a pipe whose reader is gone reports EPIPE to the
 * handler instead of killing the process: rgcd's workers block SIGPIPE (the program here does
 * not ignore it, so a SIGPIPE on a worker would end the test with a signal). Then a plain
 * async work item writing to such a pipe gets EPIPE too, and the process is quiet after. */
#include "check.h"

#include <errno.h>
#include <stdatomic.h>

static atomic_int handler_err = -1;
static atomic_long unwritten = -1;

static void on_written(void *ctx, rgcd_data_t data, int error) {
  (void)ctx;
  atomic_store(&unwritten, data ? (long)rgcd_data_get_size(data) : 0);
  atomic_store(&handler_err, error);
}

static atomic_int raw_errno = -1;
static void raw_write(void *ctx) {
  int fd = (int)(intptr_t)ctx;
  ssize_t n = write(fd, "x", 1);
  atomic_store(&raw_errno, n < 0 ? errno : 0);
}

int main(void) {
  start_watchdog(30);
  size_t base = rgcd_debug_live_objects();
  rgcd_queue_t q = rgcd_queue_create("io_sigpipe", RGCD_QUEUE_SERIAL);
  CHECK(q != NULL);
  int p[2];
  CHECK(pipe(p) == 0);
  close(p[0]); /* no reader */
  rgcd_data_t d = rgcd_data_create("hello", 5, RGCD_DATA_DESTRUCTOR_DEFAULT);
  CHECK(d != NULL);
  CHECK_OK(rgcd_write_f(p[1], d, q, NULL, on_written));
  WAIT_UNTIL(atomic_load(&handler_err) != -1, 10000);
  CHECK_EQ(atomic_load(&handler_err), EPIPE);
  CHECK_EQ(atomic_load(&unwritten), 5);
  CHECK_OK(rgcd_async_f(q, (void *)(intptr_t)p[1], raw_write));
  WAIT_UNTIL(atomic_load(&raw_errno) != -1, 10000);
  CHECK_EQ(atomic_load(&raw_errno), EPIPE);
  close(p[1]);
  CHECK_OK(rgcd_release(d));
  CHECK_OK(rgcd_release(q));
  check_quiet_and_freed(base, "io_sigpipe");
  printf("io_sigpipe: EPIPE reported, process alive\n");
  return 0;
}
