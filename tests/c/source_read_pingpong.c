/* source_read_pingpong: read sources on many sockets at once. 256 socketpairs, both ends
 * with a read source on one shared concurrent queue, each pair bouncing one byte back and
 * forth 40 times (about 10,000 bounces in all); then one pair on the global queue bouncing
 * 10,000 times. Nothing is lost or duplicated (bytes received per end == bytes its peer
 * sent), a source's handler never overlaps itself, and after cancelling every source each
 * cancel handler runs exactly once and closes its fd. */
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/socket.h>

struct pair;

struct end {
  int fd;
  rgcd_source_t src;
  struct pair *pair;
  atomic_long received;
  atomic_long sent;
  atomic_int in_handler;
  atomic_int overlap;
  atomic_int calls;
  atomic_int empty_calls;   /* calls that found nothing to read (not an error, reported) */
  atomic_int io_error;
  atomic_int cancelled;
  atomic_int closed_ok;
};

struct pair {
  struct end end[2];
  long target;              /* bytes to receive in all on this pair */
  atomic_long bounces;      /* bytes received so far on this pair */
};

static atomic_int pairs_done;
static atomic_int closing;   /* set before the sources are cancelled: EOF is then expected */
static atomic_int ends_closed;

static void on_readable(void *ctx) {
  struct end *e = ctx;
  struct pair *p = e->pair;
  if (atomic_fetch_add(&e->in_handler, 1) != 0) atomic_fetch_add(&e->overlap, 1);
  atomic_fetch_add(&e->calls, 1);
  int got = 0;
  for (;;) {
    char buf[64];
    ssize_t n = read(e->fd, buf, sizeof buf);
    if (n > 0) {
      got = 1;
      for (ssize_t i = 0; i < n; i++) {
        atomic_fetch_add(&e->received, 1);
        long b = atomic_fetch_add(&p->bounces, 1) + 1;
        if (b < p->target) {
          char c = 'x';
          if (write(e->fd, &c, 1) == 1)
            atomic_fetch_add(&e->sent, 1);
          else
            atomic_fetch_add(&e->io_error, 1);
        } else if (b == p->target) {
          atomic_fetch_add(&pairs_done, 1);
        }
      }
      continue;
    }
    if (n == 0) {
      if (!atomic_load(&closing)) atomic_fetch_add(&e->io_error, 1); /* unexpected EOF */
      break;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) atomic_fetch_add(&e->io_error, 1);
    break;
  }
  if (!got) atomic_fetch_add(&e->empty_calls, 1);
  atomic_fetch_sub(&e->in_handler, 1);
}

static void on_cancel(void *ctx) {
  struct end *e = ctx;
  if (atomic_load(&e->in_handler) != 0) atomic_fetch_add(&e->overlap, 1);
  if (close(e->fd) == 0) atomic_fetch_add(&e->closed_ok, 1);
  atomic_fetch_add(&e->cancelled, 1);
  atomic_fetch_add(&ends_closed, 1);
}

static void set_nonblocking(int fd) {
  int fl = fcntl(fd, F_GETFL);
  CHECK(fl >= 0);
  CHECK(fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0);
}

static void run(int npairs, long target, rgcd_queue_t q, const char *what) {
  struct pair *pairs = calloc((size_t)npairs, sizeof *pairs);
  CHECK(pairs != NULL);
  atomic_store(&pairs_done, 0);
  atomic_store(&closing, 0);
  atomic_store(&ends_closed, 0);

  for (int i = 0; i < npairs; i++) {
    struct pair *p = &pairs[i];
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    p->target = target;
    for (int k = 0; k < 2; k++) {
      struct end *e = &p->end[k];
      e->fd = sv[k];
      e->pair = p;
      set_nonblocking(e->fd);
      e->src = rgcd_source_create(RGCD_SOURCE_TYPE_READ, (uintptr_t)e->fd, 0, q);
      CHECK(e->src != NULL);
      CHECK_EQ(rgcd_source_get_handle(e->src), e->fd);
      CHECK_OK(rgcd_set_context(e->src, e));
      CHECK_OK(rgcd_source_set_event_handler_f(e->src, on_readable));
      CHECK_OK(rgcd_source_set_cancel_handler_f(e->src, on_cancel));
      CHECK_OK(rgcd_activate(e->src));
    }
  }

  uint64_t t0 = now_ns();
  for (int i = 0; i < npairs; i++) {
    struct end *e = &pairs[i].end[0];
    char c = 'x';
    CHECK_EQ(write(e->fd, &c, 1), 1);
    atomic_fetch_add(&e->sent, 1);
  }
  WAIT_UNTIL(atomic_load(&pairs_done) == npairs, 90000);
  uint64_t t1 = now_ns();
  sleep_ms(50); /* nothing more arrives */

  long calls = 0, empty = 0;
  for (int i = 0; i < npairs; i++) {
    struct pair *p = &pairs[i];
    struct end *a = &p->end[0], *b = &p->end[1];
    CHECK_EQ(atomic_load(&p->bounces), target);
    CHECK_EQ(atomic_load(&a->received) + atomic_load(&b->received), target);
    CHECK_EQ(atomic_load(&a->sent) + atomic_load(&b->sent), target);
    CHECK_EQ(atomic_load(&a->sent), atomic_load(&b->received));
    CHECK_EQ(atomic_load(&b->sent), atomic_load(&a->received));
    for (int k = 0; k < 2; k++) {
      CHECK_EQ(atomic_load(&p->end[k].io_error), 0);
      CHECK_EQ(atomic_load(&p->end[k].overlap), 0);
      CHECK_EQ(rgcd_source_testcancel(p->end[k].src), 0);
      calls += atomic_load(&p->end[k].calls);
      empty += atomic_load(&p->end[k].empty_calls);
    }
  }
  printf("source_read_pingpong: %s: %d pair(s) x %ld bounces in %.1f ms "
         "(%ld handler calls, %ld found nothing to read)\n",
         what, npairs, target, (double)(t1 - t0) / 1e6, calls, empty);

  atomic_store(&closing, 1);
  for (int i = 0; i < npairs; i++)
    for (int k = 0; k < 2; k++) CHECK_OK(rgcd_source_cancel(pairs[i].end[k].src));
  WAIT_UNTIL(atomic_load(&ends_closed) == 2 * npairs, 30000);
  sleep_ms(50);
  CHECK_EQ(atomic_load(&ends_closed), 2 * npairs);
  for (int i = 0; i < npairs; i++)
    for (int k = 0; k < 2; k++) {
      struct end *e = &pairs[i].end[k];
      CHECK_EQ(atomic_load(&e->cancelled), 1);
      CHECK_EQ(atomic_load(&e->closed_ok), 1);
      CHECK_EQ(atomic_load(&e->overlap), 0);
      CHECK_EQ(atomic_load(&e->io_error), 0);
      CHECK_EQ(rgcd_source_testcancel(e->src), 1);
      CHECK_OK(rgcd_release(e->src));
    }
  free(pairs);
}

#define PAIRS 256

int main(void) {
  start_watchdog(110);

  /* 512 fds for the sockets, plus whatever rgcd itself uses. */
  struct rlimit rl;
  CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 2 * PAIRS + 256) {
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > 4096 ? 4096 : rl.rlim_max;
    CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
    CHECK(rl.rlim_cur >= 2 * PAIRS + 256);
  }

  rgcd_queue_t conc = rgcd_queue_create("source_read_pingpong.concurrent", RGCD_QUEUE_CONCURRENT);
  rgcd_queue_t global = rgcd_get_global_queue(RGCD_QOS_DEFAULT, 0);
  CHECK(conc != NULL && global != NULL);

  run(PAIRS, 40, conc, "many pairs");
  run(1, 10000, global, "one pair");

  CHECK_OK(rgcd_release(conc));
  return 0;
}
