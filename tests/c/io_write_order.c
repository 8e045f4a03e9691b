/* io_write_order: 200 rgcd_write_f calls of 20000 bytes each to one pipe (handlers on a
 * concurrent queue), more than the pipe holds, land in submission order while a reader drains
 * the pipe with rgcd_read_f; each write handler runs once with NULL remaining and error 0; a write to a
 * pipe whose reader is gone reports EPIPE with the bytes not written; bad arguments are
 * refused and their handler never runs; then every object is freed and the process is quiet. */
#include "check.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>

#define N 200
#define LEN 20000

static atomic_int written, errors, never;
static unsigned char *got;
static atomic_size_t got_len;
static atomic_int read_done, epipe;

static void on_write(void *ctx, rgcd_data_t remaining, int error) {
  (void)ctx;
  if (remaining != NULL || error != 0) atomic_fetch_add(&errors, 1);
  atomic_fetch_add(&written, 1);
}

static bool append(void *ctx, rgcd_data_t region, size_t offset, const void *buf, size_t size) {
  (void)ctx;
  (void)region;
  (void)offset;
  size_t at = atomic_load(&got_len);
  if (at + size > (size_t)N * LEN) return false;
  memcpy(got + at, buf, size);
  atomic_store(&got_len, at + size);
  return true;
}

static void on_read(void *ctx, rgcd_data_t data, int error) {
  (void)ctx;
  if (error != 0 || data == NULL) atomic_fetch_add(&errors, 1);
  else rgcd_data_apply_f(data, NULL, append);
  atomic_fetch_add(&read_done, 1);
}

static void on_never(void *ctx, rgcd_data_t data, int error) {
  (void)ctx;
  (void)data;
  (void)error;
  atomic_fetch_add(&never, 1);
}

static void on_broken(void *ctx, rgcd_data_t remaining, int error) {
  (void)ctx;
  if (error == EPIPE && remaining != NULL && rgcd_data_get_size(remaining) == LEN) atomic_fetch_add(&epipe, 1);
  else atomic_fetch_add(&errors, 1);
}

int main(void) {
  start_watchdog(60);
  signal(SIGPIPE, SIG_IGN);
  size_t base = rgcd_debug_live_objects();
  int fds[2];
  CHECK_EQ(pipe(fds), 0);
  got = malloc((size_t)N * LEN);
  rgcd_queue_t q = rgcd_queue_create("io.order", RGCD_QUEUE_CONCURRENT);
  static unsigned char chunk[LEN];
  for (int i = 0; i < N; i++) {
    memset(chunk, i, LEN);
    rgcd_data_t d = rgcd_data_create(chunk, LEN, RGCD_DATA_DESTRUCTOR_DEFAULT);
    CHECK_OK(rgcd_write_f(fds[1], d, q, NULL, on_write));
    CHECK_OK(rgcd_release(d));
  }
  int reads = 0;
  while (atomic_load(&got_len) < (size_t)N * LEN) {
    CHECK_OK(rgcd_read_f(fds[0], SIZE_MAX, q, NULL, on_read));
    reads++;
    WAIT_UNTIL(atomic_load(&read_done) == reads, 10000);
  }
  WAIT_UNTIL(atomic_load(&written) == N, 10000);
  CHECK_EQ(atomic_load(&errors), 0);
  for (size_t i = 0; i < (size_t)N * LEN; i++) {
    if (got[i] != (unsigned char)(i / LEN)) {
      fprintf(stderr, "byte %zu is from write %d, expected %zu\n", i, got[i], i / LEN);
      return 1;
    }
  }
  printf("io_write_order: %d writes in order, read in %d calls\n", N, reads);

  /* Bad arguments: refused, handler never called. */
  rgcd_data_t d = rgcd_data_create(chunk, LEN, RGCD_DATA_DESTRUCTOR_DEFAULT);
  CHECK_ERR(rgcd_write_f(-1, d, q, NULL, on_never), RGCD_EINVAL);
  CHECK_ERR(rgcd_write_f(fds[1], NULL, q, NULL, on_never), RGCD_EINVAL);
  CHECK_ERR(rgcd_write_f(fds[1], d, NULL, NULL, on_never), RGCD_EINVAL);
  CHECK_ERR(rgcd_write_f(fds[1], d, q, NULL, NULL), RGCD_EINVAL);
  CHECK_ERR(rgcd_read_f(fds[0], 1, (rgcd_queue_t)(void *)d, NULL, on_never), RGCD_ETYPE);

  /* The reader is gone: EPIPE with everything still to write. */
  close(fds[0]);
  CHECK_OK(rgcd_write_f(fds[1], d, q, NULL, on_broken));
  WAIT_UNTIL(atomic_load(&epipe) == 1, 10000);
  CHECK_OK(rgcd_release(d));
  CHECK_OK(rgcd_release(q));
  check_quiet_and_freed(base, "io_write_order");
  CHECK_EQ(atomic_load(&never), 0);
  CHECK_EQ(atomic_load(&errors), 0);
  close(fds[1]);
  free(got);
  return 0;
}
