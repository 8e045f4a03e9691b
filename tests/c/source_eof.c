/* source_eof: the end of file is delivered once. A pipe whose writer closed and a socket whose
 * peer did shutdown(SHUT_WR), each with data written before the EOF: every byte arrives first
 * (over several deliveries: the handler reads a few bytes at a time), then exactly one event
 * with data 0, then nothing — under 50 ms of CPU in the next second while the source stays
 * active. A write source on the half-closed socket still fires, and what it writes arrives.
 * Same scenarios as eof_pipe_once / eof_socket_half_close in tests/source_lifecycle.rs. */
#include "check.h"

#include <stdatomic.h>
#include <sys/socket.h>

struct reader {
  rgcd_source_t src;
  int fd;
  atomic_long bytes;
  atomic_int eofs;
  atomic_int calls;
  atomic_int errors;
  atomic_int cancelled;
};

static void on_read(void *ctx) {
  struct reader *r = ctx;
  atomic_fetch_add(&r->calls, 1);
  long avail = (long)rgcd_source_get_data(r->src);
  char buf[7]; /* small reads: the data takes several deliveries */
  ssize_t n = read(r->fd, buf, sizeof buf);
  if (n < 0) {
    atomic_fetch_add(&r->errors, 1);
  } else if (n == 0) {
    if (avail != 0) atomic_fetch_add(&r->errors, 1);
    atomic_fetch_add(&r->eofs, 1);
  } else {
    if (avail <= 0) atomic_fetch_add(&r->errors, 1);
    atomic_fetch_add(&r->bytes, n);
  }
}

static void on_cancel(void *ctx) { atomic_fetch_add(&((struct reader *)ctx)->cancelled, 1); }

static void start_reader(struct reader *r, int fd, rgcd_queue_t q) {
  r->fd = fd;
  r->src = rgcd_source_create(RGCD_SOURCE_TYPE_READ, (uintptr_t)fd, 0, q);
  CHECK(r->src != NULL);
  CHECK_OK(rgcd_set_context(r->src, r));
  CHECK_OK(rgcd_source_set_event_handler_f(r->src, on_read));
  CHECK_OK(rgcd_source_set_cancel_handler_f(r->src, on_cancel));
  CHECK_OK(rgcd_activate(r->src));
}

/* Every byte, then one EOF, then quiet. */
static void check_eof_once(struct reader *r, long want, const char *what) {
  WAIT_UNTIL(atomic_load(&r->eofs) >= 1, 10000);
  CHECK_EQ(atomic_load(&r->bytes), want);
  int calls = atomic_load(&r->calls);
  uint64_t c0 = process_cpu_ns();
  sleep_ms(1000);
  uint64_t used = process_cpu_ns() - c0;
  printf("source_eof: %s: %ld bytes in %d calls, %d EOF, %.1f ms CPU in the next second\n",
         what, atomic_load(&r->bytes), atomic_load(&r->calls), atomic_load(&r->eofs),
         (double)used / 1e6);
  CHECK_EQ(atomic_load(&r->eofs), 1);
  CHECK_EQ(atomic_load(&r->calls), calls);
  CHECK_EQ(atomic_load(&r->errors), 0);
  CHECK(used < 50000000ull);
}

static void stop_reader(struct reader *r) {
  CHECK_OK(rgcd_source_cancel(r->src));
  WAIT_UNTIL(atomic_load(&r->cancelled) == 1, 10000);
  CHECK_OK(rgcd_release(r->src));
}

struct writer {
  rgcd_source_t src;
  int fd;
  atomic_int fired;
  atomic_int errors;
};

static void on_write(void *ctx) {
  struct writer *w = ctx;
  if (rgcd_source_get_data(w->src) == 0) atomic_fetch_add(&w->errors, 1);
  if (write(w->fd, "pong", 4) != 4) atomic_fetch_add(&w->errors, 1);
  if (atomic_fetch_add(&w->fired, 1) + 1 == 3) rgcd_source_cancel(w->src);
}

int main(void) {
  start_watchdog(60);
  size_t base = rgcd_debug_live_objects();
  rgcd_queue_t q = rgcd_queue_create("source_eof", RGCD_QUEUE_SERIAL);
  CHECK(q != NULL);

  /* Pipe: 100 bytes, then the writer closes (before the source exists). */
  {
    int p[2];
    CHECK(pipe(p) == 0);
    char data[100];
    memset(data, 'x', sizeof data);
    CHECK_EQ(write(p[1], data, sizeof data), 100);
    CHECK(close(p[1]) == 0);
    static struct reader r;
    start_reader(&r, p[0], q);
    check_eof_once(&r, 100, "pipe");
    stop_reader(&r);
    close(p[0]);
  }

  /* Socket: 50 bytes, the source starts, 30 more, then the peer shuts down writing. */
  {
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    char data[50];
    memset(data, 'y', sizeof data);
    CHECK_EQ(write(sv[1], data, 50), 50);
    static struct reader r;
    start_reader(&r, sv[0], q);
    sleep_ms(20);
    CHECK_EQ(write(sv[1], data, 30), 30);
    CHECK(shutdown(sv[1], SHUT_WR) == 0);
    check_eof_once(&r, 80, "socket half-close");

    /* The writing direction still works. */
    static struct writer w;
    w.fd = sv[0];
    w.src = rgcd_source_create(RGCD_SOURCE_TYPE_WRITE, (uintptr_t)sv[0], 0, q);
    CHECK(w.src != NULL);
    CHECK_OK(rgcd_set_context(w.src, &w));
    CHECK_OK(rgcd_source_set_event_handler_f(w.src, on_write));
    CHECK_OK(rgcd_activate(w.src));
    WAIT_UNTIL(atomic_load(&w.fired) == 3, 10000);
    char got[13] = {0};
    size_t have = 0;
    while (have < 12) {
      ssize_t n = read(sv[1], got + have, 12 - have);
      CHECK(n > 0);
      have += (size_t)n;
    }
    CHECK(strcmp(got, "pongpongpong") == 0);
    CHECK_EQ(atomic_load(&w.errors), 0);
    CHECK_EQ(atomic_load(&r.eofs), 1);
    CHECK_OK(rgcd_release(w.src));
    stop_reader(&r);
    close(sv[0]);
    close(sv[1]);
  }

  CHECK_OK(rgcd_release(q));
  check_quiet_and_freed(base, "source_eof");
  return 0;
}
