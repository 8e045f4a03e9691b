/* io_close_stop_race: an fd must be free when rgcd says it let it go. In a loop: a pipe, a
 * STREAM channel on its read end with a read pending (nothing arrives), sometimes a short
 * pause, then rgcd_io_close(RGCD_IO_STOP). The read ends with ECANCELED and the cleanup
 * handler runs, within a bounded time; when the cleanup runs, the fd's flags are restored
 * (O_NONBLOCK off again). Then the pipe is closed, so the next pipe usually gets the same fd
 * numbers: a new channel on it must not land on the previous fd's entry (which had not
 * switched the new pipe to O_NONBLOCK, so its read blocked the entry's queue, and the
 * stopped read and the cleanup never came). The same for the convenience rgcd_read_f, whose
 * handler is the caller's signal that the fd is free. */
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>

static atomic_int done_err, done_calls, cleanups, cleanup_nonblock, read_calls, read_nonblock;
static atomic_int cur_fd;

static void on_read(void *ctx, bool done, rgcd_data_t data, int error) {
  (void)ctx;
  (void)data;
  if (done) {
    atomic_store(&done_err, error);
    atomic_fetch_add(&done_calls, 1);
  }
}

static void on_cleanup(void *ctx, int error) {
  (void)ctx;
  (void)error;
  int fl = fcntl(atomic_load(&cur_fd), F_GETFL);
  atomic_store(&cleanup_nonblock, fl < 0 ? -1 : (fl & O_NONBLOCK) != 0);
  atomic_fetch_add(&cleanups, 1);
}

static void on_whole_read(void *ctx, rgcd_data_t data, int error) {
  (void)ctx;
  (void)data;
  (void)error;
  int fl = fcntl(atomic_load(&cur_fd), F_GETFL);
  atomic_store(&read_nonblock, fl < 0 ? -1 : (fl & O_NONBLOCK) != 0);
  atomic_fetch_add(&read_calls, 1);
}

static void pause_us(long us) {
  struct timespec ts = {0, us * 1000};
  nanosleep(&ts, NULL);
}

/* Waits up to 3 s for `cond`; reports the round on failure. */
#define WAIT_ROUND(cond, what, round)                                                \
  do {                                                                               \
    uint64_t end_ = now_ns() + 3000000000ull;                                        \
    while (!(cond)) {                                                                \
      if (now_ns() > end_) {                                                         \
        fprintf(stderr, "io_close_stop_race: %s: round %d stuck (%s)\n", what,       \
                (int)(round), #cond);                                                \
        exit(1);                                                                     \
      }                                                                              \
      pause_us(20);                                                                    \
    }                                                                                \
  } while (0)

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 3000;
  start_watchdog(100);
  size_t base = rgcd_debug_live_objects();
  rgcd_queue_t q = rgcd_get_global_queue(RGCD_QOS_DEFAULT, 0);

  for (int i = 0; i < rounds; i++) {
    int p[2];
    CHECK_EQ(pipe(p), 0);
    atomic_store(&cur_fd, p[0]);
    atomic_store(&done_calls, 0);
    atomic_store(&cleanups, 0);
    atomic_store(&done_err, -1);
    atomic_store(&cleanup_nonblock, -2);
    rgcd_io_t ch = rgcd_io_create(RGCD_IO_STREAM, p[0], q, NULL, on_cleanup);
    CHECK(ch != NULL);
    CHECK_OK(rgcd_io_read_f(ch, 0, 100, q, NULL, on_read));
    if (i % 3 == 1) pause_us(100);
    CHECK_OK(rgcd_io_close(ch, RGCD_IO_STOP));
    WAIT_ROUND(atomic_load(&done_calls) == 1 && atomic_load(&cleanups) == 1, "channel", i);
    CHECK_EQ(atomic_load(&done_err), ECANCELED);
    if (atomic_load(&cleanup_nonblock) != 0) {
      fprintf(stderr, "io_close_stop_race: round %d: fd still O_NONBLOCK in the cleanup\n", i);
      exit(1);
    }
    CHECK_OK(rgcd_release(ch));
    close(p[0]);
    close(p[1]);
  }

  /* The convenience read: its handler says the fd is free (it may be closed right there). */
  for (int i = 0; i < rounds / 2; i++) {
    int p[2];
    CHECK_EQ(pipe(p), 0);
    atomic_store(&cur_fd, p[0]);
    atomic_store(&read_calls, 0);
    atomic_store(&read_nonblock, -2);
    CHECK_OK(rgcd_read_f(p[0], 100, q, NULL, on_whole_read));
    if (i % 3 == 1) pause_us(100);
    CHECK_EQ(write(p[1], "x", 1), 1);
    WAIT_ROUND(atomic_load(&read_calls) == 1, "rgcd_read_f", i);
    if (atomic_load(&read_nonblock) != 0) {
      fprintf(stderr, "io_close_stop_race: round %d: fd still O_NONBLOCK in the handler\n", i);
      exit(1);
    }
    close(p[0]);
    close(p[1]);
  }

  check_quiet_and_freed(base, "io_close_stop_race");
  printf("io_close_stop_race: ok\n");
  return 0;
}
