/* io_file_stream: a 3 MiB file read through a STREAM channel made from its path, with a
 * 256 KiB high water mark: every piece is at most 256 KiB, the pieces arrive in order and
 * never overlap, the bytes are the file's, the last call has done set; the cleanup handler
 * runs once (after close) with error 0, on the channel's queue; then every object is freed and
 * the process is quiet. */
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>

#define SIZE (3u << 20)
#define HIGH (256u << 10)

static unsigned char *want;
static size_t got;
static atomic_int in_handler, overlap, bad_piece, done_calls, errors, cleanups, cleanup_err;

static bool compare(void *ctx, rgcd_data_t region, size_t offset, const void *buf, size_t size) {
  (void)ctx;
  (void)region;
  (void)offset;
  if (memcmp(want + got, buf, size) != 0) atomic_fetch_add(&errors, 1);
  got += size;
  return true;
}

static void on_read(void *ctx, bool done, rgcd_data_t data, int error) {
  (void)ctx;
  if (atomic_fetch_add(&in_handler, 1) != 0) atomic_fetch_add(&overlap, 1);
  if (error != 0) atomic_fetch_add(&errors, 1);
  if (data == NULL || rgcd_data_get_size(data) > HIGH) atomic_fetch_add(&bad_piece, 1);
  if (data != NULL) rgcd_data_apply_f(data, NULL, compare);
  spin(20000);
  atomic_fetch_sub(&in_handler, 1);
  if (done) atomic_fetch_add(&done_calls, 1);
}

static atomic_int open_err;
static void on_open_failed(void *ctx, bool done, rgcd_data_t data, int error) {
  (void)ctx;
  (void)data;
  if (done) atomic_store(&open_err, error);
}

static void on_cleanup(void *ctx, int error) {
  if (strcmp(rgcd_queue_get_label(NULL), "io.file") != 0) atomic_fetch_add(&errors, 1);
  atomic_store(&cleanup_err, error);
  atomic_fetch_add((atomic_int *)ctx, 1);
}

int main(void) {
  start_watchdog(60);
  size_t base = rgcd_debug_live_objects();
  char path[] = "/tmp/rgcd-io-file-XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  want = malloc(SIZE);
  for (size_t i = 0; i < SIZE; i++) want[i] = (unsigned char)(i * 13 + i / 4096);
  CHECK_EQ(write(fd, want, SIZE), SIZE);
  close(fd);

  rgcd_queue_t q = rgcd_queue_create("io.file", RGCD_QUEUE_CONCURRENT);
  rgcd_io_t ch = rgcd_io_create_with_path(RGCD_IO_STREAM, path, O_RDONLY, 0, q, &cleanups, on_cleanup);
  CHECK(ch != NULL);
  CHECK_EQ(rgcd_io_get_descriptor(ch), -1); /* not opened before the first operation */
  CHECK_OK(rgcd_io_set_high_water(ch, HIGH));
  CHECK_OK(rgcd_io_read_f(ch, 0, SIZE_MAX, q, NULL, on_read));
  WAIT_UNTIL(atomic_load(&done_calls) == 1, 20000);
  CHECK_EQ(got, SIZE);
  CHECK_EQ(atomic_load(&errors), 0);
  CHECK_EQ(atomic_load(&overlap), 0);
  CHECK_EQ(atomic_load(&bad_piece), 0);
  CHECK_EQ(atomic_load(&cleanups), 0);
  CHECK_OK(rgcd_io_close(ch, 0));
  WAIT_UNTIL(atomic_load(&cleanups) == 1, 10000);
  CHECK_EQ(atomic_load(&cleanup_err), 0);
  CHECK_EQ(rgcd_io_get_descriptor(ch), -1);
  CHECK_OK(rgcd_release(ch));
  CHECK_OK(rgcd_release(q));
  check_quiet_and_freed(base, "io_file_stream");
  CHECK_EQ(atomic_load(&cleanups), 1);

  /* A path that cannot be opened: the read fails with its errno; the cleanup handler gets 0
   * (the error belongs to the operation), as in libdispatch. */
  q = rgcd_queue_create("io.file", RGCD_QUEUE_SERIAL);
  ch = rgcd_io_create_with_path(RGCD_IO_STREAM, "/nonexistent/rgcd", O_RDONLY, 0, q, &cleanups, on_cleanup);
  CHECK(ch != NULL);
  CHECK_OK(rgcd_io_read_f(ch, 0, SIZE_MAX, q, NULL, on_open_failed));
  CHECK_OK(rgcd_release(ch));
  WAIT_UNTIL(atomic_load(&cleanups) == 2, 10000);
  CHECK_EQ(atomic_load(&open_err), ENOENT);
  CHECK_EQ(atomic_load(&cleanup_err), 0);
  CHECK_NULL_ERR(rgcd_io_create_with_path(RGCD_IO_STREAM, "relative", O_RDONLY, 0, NULL, NULL, NULL));
  CHECK_NULL_ERR(rgcd_io_create(7, 0, NULL, NULL, NULL));
  CHECK_OK(rgcd_release(q));
  check_quiet_and_freed(base, "io_file_stream (open failed)");
  unlink(path);
  free(want);
  printf("io_file_stream: ok\n");
  return 0;
}
