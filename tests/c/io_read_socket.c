/* io_read_socket: rgcd_read_f on a non-blocking socket returns what it has — 3000 bytes
 * waiting, a length of 1 MiB: the handler gets the 3000 bytes at once (no wait for more).
 * A read with nothing waiting is called back when bytes arrive (no thread blocked meanwhile:
 * the process stays quiet), a length smaller than what is waiting gives exactly that many, and
 * after the peer's shutdown the read reports end of file (empty data, error 0). The socket
 * stays non-blocking (it was before). Then every object is freed and the process is quiet. */
#include "check.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>

static atomic_long size = -1;
static atomic_int calls, errors;

static void on_read(void *ctx, rgcd_data_t data, int error) {
  (void)ctx;
  if (error != 0 || data == NULL) atomic_fetch_add(&errors, 1);
  else atomic_store(&size, (long)rgcd_data_get_size(data));
  atomic_fetch_add(&calls, 1);
}

static void fill(int fd, size_t n) {
  char buf[4096];
  memset(buf, 'x', sizeof buf);
  while (n > 0) {
    size_t k = n < sizeof buf ? n : sizeof buf;
    CHECK_EQ(write(fd, buf, k), k);
    n -= k;
  }
}

int main(void) {
  start_watchdog(60);
  size_t base = rgcd_debug_live_objects();
  int sv[2];
  CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  CHECK_EQ(fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK), 0);
  rgcd_queue_t q = rgcd_queue_create("io.sock", RGCD_QUEUE_SERIAL);

  fill(sv[1], 3000);
  CHECK_OK(rgcd_read_f(sv[0], 1 << 20, q, NULL, on_read));
  WAIT_UNTIL(atomic_load(&calls) == 1, 10000);
  CHECK_EQ(atomic_load(&size), 3000);

  /* Nothing waiting: called back when bytes arrive, quiet meanwhile. */
  CHECK_OK(rgcd_read_f(sv[0], 1 << 20, q, NULL, on_read));
  sleep_ms(100);
  uint64_t c0 = process_cpu_ns();
  sleep_ms(500);
  CHECK(process_cpu_ns() - c0 < 30000000ull);
  CHECK_EQ(atomic_load(&calls), 1);
  fill(sv[1], 10);
  WAIT_UNTIL(atomic_load(&calls) == 2, 10000);
  CHECK_EQ(atomic_load(&size), 10);

  /* A smaller length: exactly that many, the rest stays for the next read. */
  fill(sv[1], 5000);
  sleep_ms(20);
  CHECK_OK(rgcd_read_f(sv[0], 1234, q, NULL, on_read));
  WAIT_UNTIL(atomic_load(&calls) == 3, 10000);
  CHECK_EQ(atomic_load(&size), 1234);
  CHECK_OK(rgcd_read_f(sv[0], SIZE_MAX, q, NULL, on_read));
  WAIT_UNTIL(atomic_load(&calls) == 4, 10000);
  CHECK_EQ(atomic_load(&size), 5000 - 1234);

  /* End of file. */
  CHECK_EQ(shutdown(sv[1], SHUT_WR), 0);
  CHECK_OK(rgcd_read_f(sv[0], SIZE_MAX, q, NULL, on_read));
  WAIT_UNTIL(atomic_load(&calls) == 5, 10000);
  CHECK_EQ(atomic_load(&size), 0);
  CHECK_EQ(atomic_load(&errors), 0);

  CHECK_OK(rgcd_release(q));
  check_quiet_and_freed(base, "io_read_socket");
  CHECK(fcntl(sv[0], F_GETFL) & O_NONBLOCK);
  close(sv[0]);
  close(sv[1]);
  printf("io_read_socket: ok\n");
  return 0;
}
