/* io_fd_reuse: a program closes a channel's fd as soon as its last read handler has run —
 * before the cleanup handler, which is when libdispatch's contract lets it (a common slip;
 * the Python tests did it) — and the number is reused at once by a new pipe with a new
 * channel (made in that handler, so before the old channel let go of its entry). The new channel must not inherit the old file's entry: it would skip making the new
 * pipe non-blocking, and its first read would block the entry's queue for good. Each round:
 * a stopped read whose done handler closes the fd and puts a new pipe on the same number; a
 * channel on the new pipe reads what is written to it. Then everything is freed and quiet. */
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>

static atomic_int stopped, got, cleanups, second_done, second_err;
static int old_fds[2];
static int new_fds[2];
static rgcd_queue_t q;
static rgcd_io_t ch2;

static void on_new_read(void *ctx, bool done, rgcd_data_t data, int error) {
  (void)ctx;
  if (data != NULL) atomic_fetch_add(&got, (int)rgcd_data_get_size(data));
  if (done) {
    atomic_store(&second_err, error);
    atomic_store(&second_done, 1);
  }
}

static void on_cleanup(void *ctx, int error) {
  (void)ctx;
  (void)error;
  atomic_fetch_add(&cleanups, 1);
}

/* The stopped read's last call: the program takes it as "the channel is done" and reuses the
 * number for a new pipe. */
static void on_stopped(void *ctx, bool done, rgcd_data_t data, int error) {
  (void)ctx;
  (void)data;
  if (!done) return;
  CHECK_EQ(error, ECANCELED);
  int n = old_fds[0];
  close(old_fds[0]);
  close(old_fds[1]);
  CHECK_EQ(pipe(new_fds), 0);
  if (new_fds[0] != n) { /* put the new read end on the old number */
    CHECK_EQ(dup2(new_fds[0], n), n);
    close(new_fds[0]);
    new_fds[0] = n;
  }
  /* The new channel, made before this handler returns (so before the old channel's
   * cleanup). */
  ch2 = rgcd_io_create(RGCD_IO_STREAM, new_fds[0], q, NULL, on_cleanup);
  CHECK(ch2 != NULL);
  CHECK_OK(rgcd_io_read_f(ch2, 0, 12, q, NULL, on_new_read));
  atomic_store(&stopped, 1);
}

int main(void) {
  start_watchdog(100);
  size_t base = rgcd_debug_live_objects();
  q = rgcd_queue_create("io.reuse", RGCD_QUEUE_SERIAL);
  for (int round = 0; round < 50; round++) {
    atomic_store(&stopped, 0);
    atomic_store(&got, 0);
    atomic_store(&second_done, 0);
    CHECK_EQ(pipe(old_fds), 0);
    rgcd_io_t ch = rgcd_io_create(RGCD_IO_STREAM, old_fds[0], q, NULL, on_cleanup);
    CHECK(ch != NULL);
    CHECK_OK(rgcd_io_read_f(ch, 0, SIZE_MAX, q, NULL, on_stopped));
    CHECK_OK(rgcd_io_close(ch, RGCD_IO_STOP));
    CHECK_OK(rgcd_release(ch));
    WAIT_UNTIL(atomic_load(&stopped), 10000);

    /* The new pipe, on the same number: its channel's read waits for the fd (no thread
     * blocked in read(2)), so a stop ends it; on odd rounds data arrives and is read. */
    if (round % 2 == 0) {
      sleep_ms(20);
      CHECK_OK(rgcd_io_close(ch2, RGCD_IO_STOP));
      WAIT_UNTIL(atomic_load(&second_done), 5000);
      CHECK_EQ(atomic_load(&second_err), ECANCELED);
    } else {
      CHECK_EQ(write(new_fds[1], "hello, world", 12), 12);
      WAIT_UNTIL(atomic_load(&got) == 12, 5000);
      WAIT_UNTIL(atomic_load(&second_done), 5000);
      CHECK_EQ(atomic_load(&second_err), 0);
      CHECK_OK(rgcd_io_close(ch2, 0));
    }
    CHECK_OK(rgcd_release(ch2));
    WAIT_UNTIL(atomic_load(&cleanups) == 2 * (round + 1), 10000);
    /* rgcd gave the new pipe back as it found it (blocking). */
    CHECK_EQ(fcntl(new_fds[0], F_GETFL) & O_NONBLOCK, 0);
    close(new_fds[0]);
    close(new_fds[1]);
  }
  CHECK_OK(rgcd_release(q));
  check_quiet_and_freed(base, "io_fd_reuse");
  puts("io_fd_reuse: ok");
  return 0;
}
