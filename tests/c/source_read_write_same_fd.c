/* source_read_write_same_fd: several sources on one fd are independent. A read source and a
 * write source on the same socket: the write source fires (data >= 1); cancelling one of
 * them leaves the other delivering (in both orders); both cancel handlers run exactly once,
 * and the fd is closed only after both ran. Two read sources on one fd both fire, and
 * cancelling one leaves the other working. */
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/socket.h>

struct shared_fd {
  int fd;
  atomic_int refs;     /* sources still using fd; the cancel handler that drops the last closes it */
  atomic_int closes;
};

struct src {
  rgcd_source_t src;
  struct shared_fd *sfd;
  atomic_int consume;  /* read sources: read what is available (else only count) */
  atomic_int calls;
  atomic_long first_data; /* data of the first call (-1 before it) */
  atomic_int bad_data;    /* write sources: calls with data < 1 */
  atomic_long bytes;
  atomic_int io_error;
  atomic_int in_handler;
  atomic_int overlap;
  atomic_int cancelled;
  atomic_int calls_at_cancel;
};

static void drop_ref(struct shared_fd *s) {
  if (atomic_fetch_sub(&s->refs, 1) == 1) {
    if (close(s->fd) == 0) atomic_fetch_add(&s->closes, 1);
  }
}

static void on_read(void *ctx) {
  struct src *s = ctx;
  if (atomic_fetch_add(&s->in_handler, 1) != 0) atomic_fetch_add(&s->overlap, 1);
  long data = (long)rgcd_source_get_data(s->src);
  long unset = -1;
  atomic_compare_exchange_strong(&s->first_data, &unset, data);
  atomic_fetch_add(&s->calls, 1);
  if (atomic_load(&s->consume)) {
    for (;;) {
      char buf[256];
      ssize_t n = read(s->sfd->fd, buf, sizeof buf);
      if (n > 0) {
        atomic_fetch_add(&s->bytes, n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) atomic_fetch_add(&s->io_error, 1);
      break;
    }
  } else {
    sleep_ms(1); /* level-triggered: keep re-deliveries of unread data at a modest pace */
  }
  atomic_fetch_sub(&s->in_handler, 1);
}

static void on_write(void *ctx) {
  struct src *s = ctx;
  if (atomic_fetch_add(&s->in_handler, 1) != 0) atomic_fetch_add(&s->overlap, 1);
  long data = (long)rgcd_source_get_data(s->src);
  long unset = -1;
  atomic_compare_exchange_strong(&s->first_data, &unset, data);
  if (data < 1) atomic_fetch_add(&s->bad_data, 1);
  atomic_fetch_add(&s->calls, 1);
  sleep_ms(1); /* a writable socket stays writable: fires again and again */
  atomic_fetch_sub(&s->in_handler, 1);
}

static void on_cancel(void *ctx) {
  struct src *s = ctx;
  if (atomic_load(&s->in_handler) != 0) atomic_fetch_add(&s->overlap, 1);
  atomic_store(&s->calls_at_cancel, atomic_load(&s->calls));
  atomic_fetch_add(&s->cancelled, 1);
  drop_ref(s->sfd);
}

static void make_source(struct src *s, rgcd_source_type_t type, struct shared_fd *sfd,
                        rgcd_queue_t q) {
  s->sfd = sfd;
  atomic_store(&s->first_data, -1);
  s->src = rgcd_source_create(type, (uintptr_t)sfd->fd, 0, q);
  CHECK(s->src != NULL);
  CHECK_EQ(rgcd_source_get_handle(s->src), sfd->fd);
  CHECK_OK(rgcd_set_context(s->src, s));
  CHECK_OK(rgcd_source_set_event_handler_f(
      s->src, type == RGCD_SOURCE_TYPE_WRITE ? on_write : on_read));
  CHECK_OK(rgcd_source_set_cancel_handler_f(s->src, on_cancel));
}

static void make_pair(int sv[2]) {
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  for (int k = 0; k < 2; k++) {
    int fl = fcntl(sv[k], F_GETFL);
    CHECK(fl >= 0);
    CHECK(fcntl(sv[k], F_SETFL, fl | O_NONBLOCK) == 0);
  }
}

static void send_bytes(int fd, const char *s) {
  size_t n = strlen(s);
  CHECK_EQ(write(fd, s, n), (ssize_t)n);
}

static int fd_is_open(int fd) {
  return fcntl(fd, F_GETFD) != -1;
}

/* Cancel `s` and wait for its cancel handler; afterwards no event handler runs. */
static void cancel_and_wait(struct src *s) {
  CHECK_OK(rgcd_source_cancel(s->src));
  WAIT_UNTIL(atomic_load(&s->cancelled) == 1, 20000);
  CHECK_EQ(atomic_load(&s->overlap), 0);
}

static void check_quiet(struct src *s) {
  CHECK_EQ(atomic_load(&s->cancelled), 1);
  CHECK_EQ(atomic_load(&s->calls), atomic_load(&s->calls_at_cancel));
  CHECK_EQ(atomic_load(&s->overlap), 0);
}

int main(void) {
  start_watchdog(100);
  rgcd_queue_t qr = rgcd_queue_create("source_rw_same_fd.read", RGCD_QUEUE_SERIAL);
  rgcd_queue_t qw = rgcd_queue_create("source_rw_same_fd.write", RGCD_QUEUE_SERIAL);
  rgcd_queue_t global = rgcd_get_global_queue(RGCD_QOS_DEFAULT, 0);
  CHECK(qr != NULL && qw != NULL && global != NULL);

  /* 1. A read and a write source on one socket; cancel the write source first (round 0) or
   * the read source first (round 1). */
  for (int round = 0; round < 2; round++) {
    int sv[2];
    make_pair(sv);
    static struct shared_fd sfds[2];
    static struct src rds[2], wrs[2];
    struct shared_fd *sfd = &sfds[round];
    struct src *r = &rds[round], *w = &wrs[round];
    sfd->fd = sv[0];
    atomic_store(&sfd->refs, 2);
    make_source(r, RGCD_SOURCE_TYPE_READ, sfd, qr);
    make_source(w, RGCD_SOURCE_TYPE_WRITE, sfd, round == 0 ? qw : global);
    atomic_store(&r->consume, 1);
    CHECK_OK(rgcd_activate(r->src));
    CHECK_OK(rgcd_activate(w->src));

    send_bytes(sv[1], "ab");
    WAIT_UNTIL(atomic_load(&r->bytes) == 2, 20000);
    WAIT_UNTIL(atomic_load(&w->calls) >= 1, 20000);
    CHECK(atomic_load(&w->first_data) >= 1);
    CHECK(atomic_load(&r->first_data) >= 1);

    if (round == 0) {
      cancel_and_wait(w);
      CHECK(fd_is_open(sv[0])); /* the read source still uses it */
      for (int i = 1; i <= 3; i++) {
        send_bytes(sv[1], "0123456789");
        WAIT_UNTIL(atomic_load(&r->bytes) == 2 + 10 * i, 20000);
      }
      check_quiet(w);
      cancel_and_wait(r);
    } else {
      cancel_and_wait(r);
      CHECK(fd_is_open(sv[0])); /* the write source still uses it */
      int calls = atomic_load(&w->calls);
      WAIT_UNTIL(atomic_load(&w->calls) >= calls + 3, 20000); /* still firing */
      send_bytes(sv[1], "more");
      sleep_ms(50);
      check_quiet(r);
      CHECK_EQ(atomic_load(&r->bytes), 2); /* the cancelled read source did not read */
      cancel_and_wait(w);
    }
    sleep_ms(50);
    check_quiet(r);
    check_quiet(w);
    CHECK_EQ(atomic_load(&w->bad_data), 0);
    CHECK_EQ(atomic_load(&r->io_error), 0);
    CHECK_EQ(atomic_load(&sfd->refs), 0);
    CHECK_EQ(atomic_load(&sfd->closes), 1);
    printf("source_read_write_same_fd: round %d: read %ld bytes in %d calls, write source "
           "fired %d times\n",
           round, (long)atomic_load(&r->bytes), atomic_load(&r->calls), atomic_load(&w->calls));
    CHECK_OK(rgcd_release(r->src));
    CHECK_OK(rgcd_release(w->src));
    CHECK(close(sv[1]) == 0);
  }

  /* 2. Two read sources on one fd both fire; after cancelling one, the other keeps
   * delivering. */
  {
    int sv[2];
    make_pair(sv);
    static struct shared_fd sfd;
    static struct src r1, r2;
    sfd.fd = sv[0];
    atomic_store(&sfd.refs, 2);
    make_source(&r1, RGCD_SOURCE_TYPE_READ, &sfd, qr);
    make_source(&r2, RGCD_SOURCE_TYPE_READ, &sfd, global);
    CHECK_OK(rgcd_activate(r1.src));
    CHECK_OK(rgcd_activate(r2.src));

    send_bytes(sv[1], "!"); /* neither handler reads it yet */
    WAIT_UNTIL(atomic_load(&r1.calls) >= 1 && atomic_load(&r2.calls) >= 1, 20000);
    CHECK_EQ(atomic_load(&r1.first_data), 1);
    CHECK_EQ(atomic_load(&r2.first_data), 1);
    char c;
    CHECK_EQ(read(sv[0], &c, 1), 1); /* drain it here */
    CHECK_EQ(c, '!');

    cancel_and_wait(&r1);
    CHECK(fd_is_open(sv[0]));
    atomic_store(&r2.consume, 1);
    send_bytes(sv[1], "xyz");
    WAIT_UNTIL(atomic_load(&r2.bytes) == 3, 20000);
    send_bytes(sv[1], "uvw");
    WAIT_UNTIL(atomic_load(&r2.bytes) == 6, 20000);
    check_quiet(&r1);
    cancel_and_wait(&r2);
    sleep_ms(50);
    check_quiet(&r1);
    check_quiet(&r2);
    CHECK_EQ(atomic_load(&r2.io_error), 0);
    CHECK_EQ(atomic_load(&sfd.refs), 0);
    CHECK_EQ(atomic_load(&sfd.closes), 1);
    CHECK_OK(rgcd_release(r1.src));
    CHECK_OK(rgcd_release(r2.src));
    CHECK(close(sv[1]) == 0);
  }

  CHECK_OK(rgcd_release(qr));
  CHECK_OK(rgcd_release(qw));
  return 0;
}
