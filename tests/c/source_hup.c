/* source_hup: a read source on a socket whose peer is closed reports the end of file once
 * (one event with data == 0) and is then quiet until cancelled: no re-delivery, no spinning,
 * also when the hang-up happens while the handler's queue is blocked. Data written before
 * the close is delivered first (data == bytes available), then EOF. The cancel handler closes
 * the fd. */
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/socket.h>

struct src {
  rgcd_source_t src;
  int fd;
  int read_data;            /* read what data says is available; cancel at EOF */
  long sleep_ms;            /* each call sleeps this long (idle handler, not CPU) */
  atomic_int cancel_after;  /* > 0: cancel from the handler once calls reach it */
  atomic_int calls;
  atomic_int nonzero_data;  /* EOF-only source: calls with data != 0 */
  atomic_long first_data;
  atomic_long bytes;
  atomic_int eof_seen;
  atomic_int io_error;
  atomic_int in_handler;
  atomic_int overlap;
  atomic_int cancelled;
  atomic_int closed_ok;
  atomic_int calls_at_cancel;
};

static void on_read(void *ctx) {
  struct src *s = ctx;
  if (atomic_fetch_add(&s->in_handler, 1) != 0) atomic_fetch_add(&s->overlap, 1);
  long data = (long)rgcd_source_get_data(s->src);
  long unset = -1;
  atomic_compare_exchange_strong(&s->first_data, &unset, data);
  int n = atomic_fetch_add(&s->calls, 1) + 1;
  if (s->read_data) {
    if (data > 0) {
      char buf[256];
      ssize_t r = read(s->fd, buf, sizeof buf);
      if (r > 0)
        atomic_fetch_add(&s->bytes, r);
      else
        atomic_fetch_add(&s->io_error, 1);
    } else {
      char c;
      ssize_t r = read(s->fd, &c, 1);
      if (r == 0)
        atomic_fetch_add(&s->eof_seen, 1);
      else
        atomic_fetch_add(&s->io_error, 1);
      if (rgcd_source_cancel(s->src) != RGCD_OK) atomic_fetch_add(&s->io_error, 1);
    }
  } else {
    if (data != 0) atomic_fetch_add(&s->nonzero_data, 1);
    int limit = atomic_load(&s->cancel_after);
    if (limit > 0 && n >= limit && rgcd_source_cancel(s->src) != RGCD_OK)
      atomic_fetch_add(&s->io_error, 1);
  }
  if (s->sleep_ms > 0) sleep_ms(s->sleep_ms);
  atomic_fetch_sub(&s->in_handler, 1);
}

static void on_cancel(void *ctx) {
  struct src *s = ctx;
  if (atomic_load(&s->in_handler) != 0) atomic_fetch_add(&s->overlap, 1);
  atomic_store(&s->calls_at_cancel, atomic_load(&s->calls));
  if (close(s->fd) == 0) atomic_fetch_add(&s->closed_ok, 1);
  atomic_fetch_add(&s->cancelled, 1);
}

static void make_source(struct src *s, int fd, rgcd_queue_t q) {
  s->fd = fd;
  atomic_store(&s->first_data, -1);
  int fl = fcntl(fd, F_GETFL);
  CHECK(fl >= 0);
  CHECK(fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0);
  s->src = rgcd_source_create(RGCD_SOURCE_TYPE_READ, (uintptr_t)fd, 0, q);
  CHECK(s->src != NULL);
  CHECK_OK(rgcd_set_context(s->src, s));
  CHECK_OK(rgcd_source_set_event_handler_f(s->src, on_read));
  CHECK_OK(rgcd_source_set_cancel_handler_f(s->src, on_cancel));
}

static void wait_cancelled(struct src *s) {
  WAIT_UNTIL(atomic_load(&s->cancelled) == 1, 20000);
  sleep_ms(50);
  CHECK_EQ(atomic_load(&s->cancelled), 1);
  CHECK_EQ(atomic_load(&s->closed_ok), 1);
  CHECK_EQ(atomic_load(&s->calls), atomic_load(&s->calls_at_cancel));
  CHECK_EQ(atomic_load(&s->overlap), 0);
  CHECK_EQ(atomic_load(&s->io_error), 0);
  CHECK_OK(rgcd_release(s->src));
}

/* CPU time the whole process used during `ms` milliseconds of the main thread sleeping. */
static uint64_t cpu_during_sleep(long ms) {
  uint64_t c0 = process_cpu_ns();
  sleep_ms(ms);
  return process_cpu_ns() - c0;
}

static rgcd_semaphore_t unblock;
static atomic_int blocker_running;
static void blocker(void *ctx) {
  (void)ctx;
  atomic_store(&blocker_running, 1);
  rgcd_semaphore_wait(unblock, deadline_ms(30000));
  atomic_store(&blocker_running, 0);
}

#define CPU_LIMIT_NS (50ull * 1000000ull)

int main(void) {
  start_watchdog(100);
  rgcd_queue_t q = rgcd_queue_create("source_hup.serial", RGCD_QUEUE_SERIAL);
  rgcd_queue_t global = rgcd_get_global_queue(RGCD_QOS_DEFAULT, 0);
  unblock = rgcd_semaphore_create(0);
  CHECK(q != NULL && global != NULL && unblock != NULL);

  /* 1. Peer closed before the source exists: one EOF, then nothing (and no CPU) while the
   * source stays active. */
  {
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(close(sv[1]) == 0);
    static struct src s = {.sleep_ms = 0};
    make_source(&s, sv[0], q);
    CHECK_OK(rgcd_activate(s.src));
    WAIT_UNTIL(atomic_load(&s.calls) >= 1, 20000);
    CHECK_EQ(atomic_load(&s.first_data), 0);
    uint64_t cpu_a = cpu_during_sleep(300);
    printf("source_hup: %d EOF deliveries; %.1f ms CPU in the 300 ms after\n",
           atomic_load(&s.calls), (double)cpu_a / 1e6);
    CHECK_EQ(atomic_load(&s.calls), 1);
    CHECK(cpu_a < CPU_LIMIT_NS);
    CHECK_OK(rgcd_source_cancel(s.src));
    wait_cancelled(&s);
    CHECK_EQ(atomic_load(&s.calls), 1);
    CHECK_EQ(atomic_load(&s.nonzero_data), 0);
  }

  /* 2. The peer closes while the source watches and its serial queue is blocked: the EOF
   * waits (no CPU meanwhile) and is delivered once after the queue is unblocked. */
  {
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    static struct src s = {.sleep_ms = 0};
    make_source(&s, sv[0], q);
    CHECK_OK(rgcd_activate(s.src));
    sleep_ms(50);
    CHECK_EQ(atomic_load(&s.calls), 0); /* nothing to read, peer open */
    CHECK_OK(rgcd_async_f(q, NULL, blocker));
    WAIT_UNTIL(atomic_load(&blocker_running), 20000);
    CHECK(close(sv[1]) == 0);
    uint64_t cpu_b = cpu_during_sleep(300);
    CHECK_EQ(atomic_load(&s.calls), 0);
    rgcd_semaphore_signal(unblock);
    WAIT_UNTIL(!atomic_load(&blocker_running), 20000);
    WAIT_UNTIL(atomic_load(&s.calls) >= 1, 20000);
    uint64_t cpu_c = cpu_during_sleep(300);
    printf("source_hup: %.1f ms CPU in 300 ms with the handler's queue blocked, %.1f ms in "
           "the 300 ms after the EOF\n",
           (double)cpu_b / 1e6, (double)cpu_c / 1e6);
    CHECK(cpu_b < CPU_LIMIT_NS);
    CHECK(cpu_c < CPU_LIMIT_NS);
    CHECK_EQ(atomic_load(&s.calls), 1);
    CHECK_OK(rgcd_source_cancel(s.src));
    wait_cancelled(&s);
    CHECK_EQ(atomic_load(&s.first_data), 0);
    CHECK_EQ(atomic_load(&s.nonzero_data), 0);
  }

  /* 3. Data written before the close comes first (data == 3), then EOF (data == 0). */
  {
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK_EQ(write(sv[1], "abc", 3), 3);
    CHECK(close(sv[1]) == 0);
    static struct src s = {.read_data = 1};
    make_source(&s, sv[0], q);
    CHECK_OK(rgcd_activate(s.src));
    wait_cancelled(&s);
    CHECK_EQ(atomic_load(&s.first_data), 3);
    CHECK_EQ(atomic_load(&s.bytes), 3);
    CHECK_EQ(atomic_load(&s.eof_seen), 1);
  }

  CHECK_OK(rgcd_release(unblock));
  CHECK_OK(rgcd_release(q));
  return 0;
}
