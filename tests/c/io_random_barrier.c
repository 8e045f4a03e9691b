/* io_random_barrier: a RANDOM channel on a file whose position is 100 at creation: writes at
 * offsets 8, 0 and 4 (submitted in that order) land at 108, 100 and 104; a barrier runs after
 * all three finished (it sees the bytes with pread on rgcd_io_get_descriptor) and before a
 * later read, which gets the 12 bytes back from offset 0 in one piece (low water SIZE_MAX).
 * A second channel made with rgcd_io_create_with_io shares the fd. RANDOM on a pipe gives a
 * channel whose cleanup reports ESPIPE at once. A strict interval on a pipe with nothing to
 * read delivers empty partial results at each interval; the low-water read on the same pipe
 * waits for the whole amount. Then every object is freed and the process is quiet. */
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>

static atomic_int writes_done, barrier_ok, barrier_ran, read_done, errors, cleanups;
static atomic_int cleanup_err = -1;
static char readback[32];
static atomic_int ticks, tick_done;
static atomic_long tick_size = -1;

static void on_write(void *ctx, bool done, rgcd_data_t data, int error) {
  (void)ctx;
  (void)data;
  if (error != 0) atomic_fetch_add(&errors, 1);
  if (done) atomic_fetch_add(&writes_done, 1);
}

static int file_fd;
static rgcd_io_t chan;

static void barrier(void *ctx) {
  (void)ctx;
  char buf[12];
  int fd = rgcd_io_get_descriptor(chan);
  if (fd == file_fd && pread(fd, buf, 12, 100) == 12 &&
      memcmp(buf, "AAAABBBBCCCC", 12) == 0)
    atomic_fetch_add(&barrier_ok, 1);
  sleep_ms(50); /* the read submitted after must wait for this */
  atomic_fetch_add(&barrier_ran, 1);
}

static void on_read(void *ctx, bool done, rgcd_data_t data, int error) {
  (void)ctx;
  if (error != 0 || !atomic_load(&barrier_ran)) atomic_fetch_add(&errors, 1);
  if (data != NULL) {
    const void *p;
    size_t n;
    rgcd_data_t m = rgcd_data_create_map(data, &p, &n);
    if (n <= sizeof readback) memcpy(readback, p, n);
    if (!done || n != 12) atomic_fetch_add(&errors, 1);
    rgcd_release(m);
  }
  if (done) atomic_fetch_add(&read_done, 1);
}

static void on_cleanup(void *ctx, int error) {
  (void)ctx;
  atomic_store(&cleanup_err, error);
  atomic_fetch_add(&cleanups, 1);
}

static void on_tick(void *ctx, bool done, rgcd_data_t data, int error) {
  (void)ctx;
  if (done) {
    atomic_store(&tick_done, error == 0 ? 1 : -error);
    atomic_store(&tick_size, (long)rgcd_data_get_size(data));
    return;
  }
  if (data == NULL || rgcd_data_get_size(data) != 0) atomic_fetch_add(&errors, 1);
  atomic_fetch_add(&ticks, 1);
}

static void write_at(rgcd_io_t ch, off_t off, const char *s, rgcd_queue_t q) {
  rgcd_data_t d = rgcd_data_create(s, strlen(s), RGCD_DATA_DESTRUCTOR_DEFAULT);
  CHECK_OK(rgcd_io_write_f(ch, off, d, q, NULL, on_write));
  CHECK_OK(rgcd_release(d));
}

int main(void) {
  start_watchdog(60);
  size_t base = rgcd_debug_live_objects();
  char path[] = "/tmp/rgcd-io-random-XXXXXX";
  file_fd = mkstemp(path);
  CHECK(file_fd >= 0);
  CHECK_EQ(lseek(file_fd, 100, SEEK_SET), 100);
  rgcd_queue_t q = rgcd_queue_create("io.random", RGCD_QUEUE_CONCURRENT);

  chan = rgcd_io_create(RGCD_IO_RANDOM, file_fd, q, NULL, on_cleanup);
  CHECK(chan != NULL);
  rgcd_io_t reader = rgcd_io_create_with_io(RGCD_IO_RANDOM, chan, q, NULL, on_cleanup);
  CHECK(reader != NULL);
  CHECK_OK(rgcd_io_set_low_water(reader, SIZE_MAX));
  write_at(chan, 8, "CCCC", q);
  write_at(chan, 0, "AAAA", q);
  write_at(chan, 4, "BBBB", q);
  CHECK_OK(rgcd_io_barrier_f(chan, NULL, barrier));
  CHECK_OK(rgcd_io_read_f(reader, 0, 12, q, NULL, on_read));
  WAIT_UNTIL(atomic_load(&read_done) == 1, 10000);
  CHECK_EQ(atomic_load(&barrier_ok), 1);
  CHECK(memcmp(readback, "AAAABBBBCCCC", 12) == 0);
  CHECK_EQ(atomic_load(&errors), 0);
  CHECK_OK(rgcd_io_close(chan, 0));
  CHECK_OK(rgcd_io_close(reader, 0));
  WAIT_UNTIL(atomic_load(&cleanups) == 2, 10000);
  CHECK_EQ(atomic_load(&cleanup_err), 0);
  CHECK_OK(rgcd_release(chan));
  CHECK_OK(rgcd_release(reader));

  /* RANDOM needs a seekable fd. */
  int fds[2];
  CHECK_EQ(pipe(fds), 0);
  rgcd_io_t bad = rgcd_io_create(RGCD_IO_RANDOM, fds[0], q, NULL, on_cleanup);
  CHECK(bad != NULL);
  WAIT_UNTIL(atomic_load(&cleanups) == 3, 10000);
  CHECK_EQ(atomic_load(&cleanup_err), ESPIPE);
  CHECK_OK(rgcd_release(bad));

  /* A strict interval: empty partial results every 20 ms while nothing arrives; a low water
   * mark of SIZE_MAX keeps the 6 bytes back until the read's 6 are complete. */
  rgcd_io_t ticker = rgcd_io_create(RGCD_IO_STREAM, fds[0], q, NULL, on_cleanup);
  CHECK_OK(rgcd_io_set_interval(ticker, 20 * RGCD_NSEC_PER_MSEC, RGCD_IO_STRICT_INTERVAL));
  CHECK_ERR(rgcd_io_set_interval(ticker, 1, 0x8), RGCD_EINVAL);
  CHECK_OK(rgcd_io_read_f(ticker, 0, 6, q, NULL, on_tick));
  WAIT_UNTIL(atomic_load(&ticks) >= 3, 10000);
  CHECK_EQ(write(fds[1], "abcdef", 6), 6);
  WAIT_UNTIL(atomic_load(&tick_done) != 0, 10000);
  CHECK_EQ(atomic_load(&tick_done), 1);
  CHECK(atomic_load(&tick_size) <= 6);
  int t = atomic_load(&ticks);
  sleep_ms(100);
  CHECK_EQ(atomic_load(&ticks), t); /* the interval stops with the operation */
  CHECK_OK(rgcd_io_close(ticker, 0));
  CHECK_OK(rgcd_release(ticker));
  WAIT_UNTIL(atomic_load(&cleanups) == 4, 10000);

  CHECK_OK(rgcd_release(q));
  check_quiet_and_freed(base, "io_random_barrier");
  CHECK_EQ(atomic_load(&errors), 0);
  close(fds[0]);
  close(fds[1]);
  close(file_fd);
  unlink(path);
  printf("io_random_barrier: ok (%d interval calls)\n", t);
  return 0;
}
