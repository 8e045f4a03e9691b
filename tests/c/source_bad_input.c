/* source_bad_input: every misuse of the source API is reported (NULL or a status code, with
 * a message in rgcd_last_error()), a handler passed to a failed call never runs, and a
 * DATA_ADD source still works end to end afterwards. */
#include "check.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <sys/socket.h>

static atomic_int must_not_run_calls;
static void must_not_run(void *ctx) {
  (void)ctx;
  atomic_fetch_add(&must_not_run_calls, 1);
}

static void bump(void *ctx) {
  atomic_fetch_add((atomic_int *)ctx, 1);
}

static atomic_int events, cancels;
static atomic_ullong total;
static rgcd_source_t good;
static void on_event(void *ctx) {
  (void)ctx;
  atomic_fetch_add(&total, rgcd_source_get_data(good));
  atomic_fetch_add(&events, 1);
}
static void on_cancel(void *ctx) {
  (void)ctx;
  atomic_fetch_add(&cancels, 1);
}

static int fd_to_close = -1;
static void close_fd(void *ctx) {
  (void)ctx;
  close(fd_to_close);
  atomic_fetch_add(&cancels, 1);
}

/* A constructor call that must fail: NULL and a message. */
#define CHECK_CREATE_FAILS(type, handle, mask, queue) \
  CHECK_NULL_ERR(rgcd_source_create((type), (uintptr_t)(handle), (uintptr_t)(mask), (queue)))

int main(void) {
  start_watchdog(100);
  rgcd_queue_t q = rgcd_queue_create("source_bad_input.q", RGCD_QUEUE_SERIAL);
  rgcd_group_t g = rgcd_group_create();
  CHECK(q != NULL && g != NULL);

  /* Invalid fds for READ and WRITE: a closed fd, -1, and a huge value. */
  int closed_fd = 12345;
  while (fcntl(closed_fd, F_GETFD) != -1) closed_fd++; /* make sure it is not open */
  const rgcd_source_type_t fd_types[] = {RGCD_SOURCE_TYPE_READ, RGCD_SOURCE_TYPE_WRITE};
  for (int i = 0; i < 2; i++) {
    CHECK_CREATE_FAILS(fd_types[i], closed_fd, 0, q);
    CHECK_CREATE_FAILS(fd_types[i], (uintptr_t)-1, 0, q);
    CHECK_CREATE_FAILS(fd_types[i], (uintptr_t)1 << 40, 0, q);
  }

  /* Unknown types. */
  CHECK_CREATE_FAILS(99, 0, 0, q);
  CHECK_CREATE_FAILS(0, 0, 0, q);
  CHECK_CREATE_FAILS(UINT32_MAX, 0, 0, NULL);

  /* Bad masks (read/write/data/signal take 0; timer 0 or RGCD_TIMER_STRICT; proc only the
   * RGCD_PROC_* bits). */
  int sv[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  CHECK_CREATE_FAILS(RGCD_SOURCE_TYPE_READ, sv[0], 1, q);
  CHECK_CREATE_FAILS(RGCD_SOURCE_TYPE_WRITE, sv[0], 0x80, q);
  CHECK_CREATE_FAILS(RGCD_SOURCE_TYPE_DATA_ADD, 0, 1, q);
  CHECK_CREATE_FAILS(RGCD_SOURCE_TYPE_DATA_OR, 0, 2, q);
  CHECK_CREATE_FAILS(RGCD_SOURCE_TYPE_DATA_REPLACE, 0, 4, q);
  CHECK_CREATE_FAILS(RGCD_SOURCE_TYPE_SIGNAL, SIGUSR1, 1, q);
  CHECK_CREATE_FAILS(RGCD_SOURCE_TYPE_TIMER, 0, 2, q);
  CHECK_CREATE_FAILS(RGCD_SOURCE_TYPE_PROC, getpid(), 1, q);

  /* A handle for a type that takes none. */
  CHECK_CREATE_FAILS(RGCD_SOURCE_TYPE_DATA_ADD, 1, 0, q);
  CHECK_CREATE_FAILS(RGCD_SOURCE_TYPE_TIMER, 1, 0, q);

  /* Bad signal numbers. */
  CHECK_CREATE_FAILS(RGCD_SOURCE_TYPE_SIGNAL, 0, 0, q);
  CHECK_CREATE_FAILS(RGCD_SOURCE_TYPE_SIGNAL, SIGKILL, 0, q);
  CHECK_CREATE_FAILS(RGCD_SOURCE_TYPE_SIGNAL, SIGSTOP, 0, q);
  CHECK_CREATE_FAILS(RGCD_SOURCE_TYPE_SIGNAL, 65, 0, q);
  CHECK_CREATE_FAILS(RGCD_SOURCE_TYPE_SIGNAL, (uintptr_t)-1, 0, q);

  /* Something that is not a queue as the queue. */
  CHECK_CREATE_FAILS(RGCD_SOURCE_TYPE_DATA_ADD, 0, 0, (rgcd_queue_t)(void *)g);

  /* Valid sources to misuse: a READ source and a TIMER source. */
  rgcd_source_t rd = rgcd_source_create(RGCD_SOURCE_TYPE_READ, (uintptr_t)sv[0], 0, q);
  rgcd_source_t tm = rgcd_source_create(RGCD_SOURCE_TYPE_TIMER, 0, 0, q);
  CHECK(rd != NULL && tm != NULL);

  /* NULL event handler. */
  CHECK_ERR(rgcd_source_set_event_handler_f(rd, NULL), RGCD_EINVAL);
  CHECK_ERR(rgcd_source_set_event_handler_f(tm, NULL), RGCD_EINVAL);
  /* NULL cancel/registration handlers just clear them. */
  CHECK_OK(rgcd_source_set_cancel_handler_f(tm, NULL));
  CHECK_OK(rgcd_source_set_registration_handler_f(tm, NULL));

  /* Timer-only and data-only calls on the wrong kind of source. */
  CHECK_ERR(rgcd_source_set_timer(rd, deadline_ms(10), 10 * RGCD_NSEC_PER_MSEC, 0), RGCD_ENOTSUP);
  CHECK_ERR(rgcd_source_merge_data(tm, 1), RGCD_ENOTSUP);
  CHECK_ERR(rgcd_source_merge_data(rd, 1), RGCD_ENOTSUP);

  /* "Negative" interval or leeway. */
  CHECK_ERR(rgcd_source_set_timer(tm, deadline_ms(10), (uint64_t)-5, 0), RGCD_EINVAL);
  CHECK_ERR(rgcd_source_set_timer(tm, deadline_ms(10), 10 * RGCD_NSEC_PER_MSEC, (uint64_t)-5),
            RGCD_EINVAL);
  CHECK_ERR(rgcd_source_set_timer(tm, deadline_ms(10), (uint64_t)INT64_MAX + 1, 0), RGCD_EINVAL);
  /* ... while FOREVER (one-shot) and INT64_MAX are fine. */
  CHECK_OK(rgcd_source_set_timer(tm, RGCD_TIME_FOREVER, RGCD_TIME_FOREVER, 0));
  CHECK_OK(rgcd_source_set_timer(tm, RGCD_TIME_FOREVER, (uint64_t)INT64_MAX, (uint64_t)INT64_MAX));

  /* NULL source to every source call. */
  CHECK_ERR(rgcd_source_set_event_handler_f(NULL, must_not_run), RGCD_EINVAL);
  CHECK_ERR(rgcd_source_set_cancel_handler_f(NULL, must_not_run), RGCD_EINVAL);
  CHECK_ERR(rgcd_source_set_registration_handler_f(NULL, must_not_run), RGCD_EINVAL);
  CHECK_ERR(rgcd_source_cancel(NULL), RGCD_EINVAL);
  CHECK_ERR(rgcd_source_testcancel(NULL), RGCD_EINVAL);
  CHECK_ERR(rgcd_source_merge_data(NULL, 1), RGCD_EINVAL);
  CHECK_ERR(rgcd_source_set_timer(NULL, deadline_ms(10), 1000, 0), RGCD_EINVAL);
  CHECK_EQ(rgcd_source_get_data(NULL), 0);
  CHECK_EQ(rgcd_source_get_handle(NULL), 0);
  CHECK_EQ(rgcd_source_get_mask(NULL), 0);

  /* A queue (and a group) where a source is expected. */
  rgcd_source_t not_sources[] = {(rgcd_source_t)(void *)q, (rgcd_source_t)(void *)g};
  for (int i = 0; i < 2; i++) {
    rgcd_source_t ns = not_sources[i];
    CHECK_ERR(rgcd_source_set_event_handler_f(ns, must_not_run), RGCD_ETYPE);
    CHECK_ERR(rgcd_source_set_cancel_handler_f(ns, must_not_run), RGCD_ETYPE);
    CHECK_ERR(rgcd_source_set_registration_handler_f(ns, must_not_run), RGCD_ETYPE);
    CHECK_ERR(rgcd_source_cancel(ns), RGCD_ETYPE);
    CHECK_ERR(rgcd_source_testcancel(ns), RGCD_ETYPE);
    CHECK_ERR(rgcd_source_merge_data(ns, 1), RGCD_ETYPE);
    CHECK_ERR(rgcd_source_set_timer(ns, deadline_ms(10), 1000, 0), RGCD_ETYPE);
    CHECK_EQ(rgcd_source_get_data(ns), 0);
    CHECK_EQ(rgcd_source_get_handle(ns), 0);
    CHECK_EQ(rgcd_source_get_mask(ns), 0);
  }
  /* A global queue too. */
  rgcd_source_t gq = (rgcd_source_t)(void *)rgcd_get_global_queue(RGCD_QOS_DEFAULT, 0);
  CHECK_ERR(rgcd_source_cancel(gq), RGCD_ETYPE);
  CHECK_ERR(rgcd_source_merge_data(gq, 1), RGCD_ETYPE);

  /* The queue and group are unharmed. */
  CHECK_OK(rgcd_group_wait(g, RGCD_TIME_NOW));
  atomic_int ran = 0;
  CHECK_OK(rgcd_sync_f(q, &ran, bump));
  CHECK_EQ(atomic_load(&ran), 1);

  /* Clean up the misused sources properly: activate (handlers set), cancel, wait. */
  CHECK_OK(rgcd_source_set_event_handler_f(rd, on_event));
  fd_to_close = sv[0];
  CHECK_OK(rgcd_source_set_cancel_handler_f(rd, close_fd));
  CHECK_OK(rgcd_source_set_event_handler_f(tm, on_event));
  CHECK_OK(rgcd_source_set_cancel_handler_f(tm, on_cancel));
  CHECK_OK(rgcd_activate(rd));
  CHECK_OK(rgcd_activate(tm));
  CHECK_OK(rgcd_source_cancel(rd));
  CHECK_OK(rgcd_source_cancel(tm));
  WAIT_UNTIL(atomic_load(&cancels) == 2, 20000);
  CHECK_EQ(atomic_load(&events), 0);
  CHECK_OK(rgcd_release(rd));
  CHECK_OK(rgcd_release(tm));
  CHECK(close(sv[1]) == 0);

  /* After all that, a DATA_ADD source works end to end. */
  good = rgcd_source_create(RGCD_SOURCE_TYPE_DATA_ADD, 0, 0, q);
  CHECK(good != NULL);
  CHECK_OK(rgcd_source_set_event_handler_f(good, on_event));
  CHECK_OK(rgcd_source_set_cancel_handler_f(good, on_cancel));
  CHECK_OK(rgcd_activate(good));
  for (uintptr_t v = 1; v <= 10; v++) CHECK_OK(rgcd_source_merge_data(good, v));
  WAIT_UNTIL(atomic_load(&total) == 55, 20000);
  CHECK_OK(rgcd_source_cancel(good));
  WAIT_UNTIL(atomic_load(&cancels) == 3, 20000);
  sleep_ms(100);
  CHECK_EQ(atomic_load(&total), 55);
  CHECK_EQ(atomic_load(&cancels), 3);
  CHECK_OK(rgcd_release(good));

  CHECK_EQ(atomic_load(&must_not_run_calls), 0); /* no handler of a failed call ever ran */
  CHECK_OK(rgcd_release(g));
  CHECK_OK(rgcd_release(q));
  return 0;
}
