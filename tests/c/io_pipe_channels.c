/* io_pipe_channels: 8 MiB through a pipe, written by a write channel on one end and read by a
 * read channel on the other (both STREAM, handlers on a concurrent queue): the bytes arrive
 * intact and in order, read pieces respect a 100000-byte high water mark, write progress
 * reports shrinking remainders, each operation ends with exactly one done call, each channel's
 * cleanup runs once (closing its fd there is safe); then every object is freed and the process
 * is quiet. */
#include "check.h"

#include <stdatomic.h>
#include <stdbool.h>

#define SIZE (8u << 20)
#define HIGH 100000u

static unsigned char *want;
static size_t got;
static size_t last_remaining = SIZE;
static atomic_int rdone, wdone, errors, in_read, cleanups;

static bool compare(void *ctx, rgcd_data_t region, size_t offset, const void *buf, size_t size) {
  (void)ctx;
  (void)region;
  (void)offset;
  if (got + size > SIZE || memcmp(want + got, buf, size) != 0) atomic_fetch_add(&errors, 1);
  got += size;
  return true;
}

static void on_read(void *ctx, bool done, rgcd_data_t data, int error) {
  (void)ctx;
  if (atomic_fetch_add(&in_read, 1) != 0) atomic_fetch_add(&errors, 1);
  if (error != 0 || data == NULL || rgcd_data_get_size(data) > HIGH) atomic_fetch_add(&errors, 1);
  if (data != NULL) rgcd_data_apply_f(data, NULL, compare);
  atomic_fetch_sub(&in_read, 1);
  if (done) atomic_fetch_add(&rdone, 1);
}

static void on_write(void *ctx, bool done, rgcd_data_t remaining, int error) {
  (void)ctx;
  if (error != 0) atomic_fetch_add(&errors, 1);
  if (done) {
    if (remaining != NULL) atomic_fetch_add(&errors, 1);
    atomic_fetch_add(&wdone, 1);
  } else {
    size_t r = rgcd_data_get_size(remaining);
    if (remaining == NULL || r == 0 || r >= last_remaining) atomic_fetch_add(&errors, 1);
    last_remaining = r;
  }
}

static void on_cleanup(void *ctx, int error) {
  if (error != 0) atomic_fetch_add(&errors, 1);
  close((int)(intptr_t)ctx);
  atomic_fetch_add(&cleanups, 1);
}

int main(void) {
  start_watchdog(60);
  size_t base = rgcd_debug_live_objects();
  int fds[2];
  CHECK_EQ(pipe(fds), 0);
  want = malloc(SIZE);
  for (size_t i = 0; i < SIZE; i++) want[i] = (unsigned char)(i * 7 + i / 65536);

  rgcd_queue_t q = rgcd_queue_create("io.pipe", RGCD_QUEUE_CONCURRENT);
  rgcd_io_t rd = rgcd_io_create(RGCD_IO_STREAM, fds[0], q, (void *)(intptr_t)fds[0], on_cleanup);
  rgcd_io_t wr = rgcd_io_create(RGCD_IO_STREAM, fds[1], q, (void *)(intptr_t)fds[1], on_cleanup);
  CHECK(rd != NULL && wr != NULL);
  CHECK_EQ(rgcd_io_get_descriptor(rd), fds[0]);
  CHECK_OK(rgcd_io_set_high_water(rd, HIGH));
  CHECK_OK(rgcd_io_read_f(rd, 0, SIZE, q, NULL, on_read));
  rgcd_data_t d = rgcd_data_create(want, SIZE, RGCD_DATA_DESTRUCTOR_NONE);
  CHECK_OK(rgcd_io_write_f(wr, 0, d, q, NULL, on_write));
  CHECK_OK(rgcd_release(d)); /* the write keeps it */
  WAIT_UNTIL(atomic_load(&rdone) == 1 && atomic_load(&wdone) == 1, 30000);
  CHECK_EQ(got, SIZE);
  CHECK_EQ(atomic_load(&errors), 0);
  CHECK_OK(rgcd_io_close(rd, 0));
  CHECK_OK(rgcd_io_close(wr, 0));
  CHECK_OK(rgcd_io_close(wr, 0)); /* twice is fine */
  CHECK_OK(rgcd_release(rd));
  CHECK_OK(rgcd_release(wr));
  WAIT_UNTIL(atomic_load(&cleanups) == 2, 10000);
  CHECK_OK(rgcd_release(q));
  check_quiet_and_freed(base, "io_pipe_channels");
  CHECK_EQ(atomic_load(&cleanups), 2);
  CHECK_EQ(atomic_load(&rdone), 1);
  CHECK_EQ(atomic_load(&wdone), 1);
  free(want);
  printf("io_pipe_channels: ok\n");
  return 0;
}
