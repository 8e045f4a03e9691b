/* source_registration: registrations that fail, and fd numbers reused.
 * - Signals 32 and 33 (kept by the C library) are refused at create; SIGRTMIN is accepted.
 * - A read source whose fd was closed after create fails to activate with RGCD_EINVAL and a
 *   message, and then behaves as cancelled: its cancel handler runs once, its registration
 *   and event handlers never.
 * - A read source whose fd is closed without cancelling it (a misuse) does not make the next
 *   source on the same fd number deaf: the new one gets its events, the stale one never.
 * Then everything is freed and the process is quiet. Same scenarios as
 * registration_failure_cancels / fd_closed_without_cancel_then_reused in
 * tests/source_lifecycle.rs. */
#include "check.h"

#include <stdatomic.h>

struct counts {
  atomic_int events, cancels, registrations;
  atomic_long bytes;
  int fd;
};

static void on_event(void *ctx) {
  struct counts *c = ctx;
  char buf[64];
  ssize_t n = read(c->fd, buf, sizeof buf);
  if (n > 0) atomic_fetch_add(&c->bytes, n);
  atomic_fetch_add(&c->events, 1);
}
static void on_cancel(void *ctx) { atomic_fetch_add(&((struct counts *)ctx)->cancels, 1); }
static void on_registration(void *ctx) {
  atomic_fetch_add(&((struct counts *)ctx)->registrations, 1);
}

static rgcd_source_t reader(struct counts *c, int fd, rgcd_queue_t q) {
  c->fd = fd;
  rgcd_source_t s = rgcd_source_create(RGCD_SOURCE_TYPE_READ, (uintptr_t)fd, 0, q);
  CHECK(s != NULL);
  CHECK_OK(rgcd_set_context(s, c));
  CHECK_OK(rgcd_source_set_event_handler_f(s, on_event));
  CHECK_OK(rgcd_source_set_cancel_handler_f(s, on_cancel));
  CHECK_OK(rgcd_source_set_registration_handler_f(s, on_registration));
  return s;
}

int main(void) {
  start_watchdog(60);
  size_t base = rgcd_debug_live_objects();
  rgcd_queue_t q = rgcd_queue_create("source_registration", RGCD_QUEUE_SERIAL);
  CHECK(q != NULL);

  /* Signals the C library keeps. */
  CHECK_NULL_ERR(rgcd_source_create(RGCD_SOURCE_TYPE_SIGNAL, 32, 0, q));
  CHECK_NULL_ERR(rgcd_source_create(RGCD_SOURCE_TYPE_SIGNAL, 33, 0, q));
  rgcd_source_t rt = rgcd_source_create(RGCD_SOURCE_TYPE_SIGNAL, (uintptr_t)SIGRTMIN, 0, q);
  CHECK(rt != NULL);
  CHECK_OK(rgcd_release(rt)); /* never activated: freed at once */

  /* Registration fails at activate. */
  {
    int p[2];
    CHECK(pipe(p) == 0);
    static struct counts c;
    rgcd_source_t s = reader(&c, p[0], q);
    close(p[0]);
    close(p[1]);
    CHECK_ERR(rgcd_activate(s), RGCD_EINVAL);
    printf("source_registration: activate on a closed fd: %s\n", rgcd_last_error());
    WAIT_UNTIL(atomic_load(&c.cancels) == 1, 10000);
    CHECK_EQ(rgcd_source_testcancel(s), 1);
    sleep_ms(20);
    CHECK_EQ(atomic_load(&c.cancels), 1);
    CHECK_EQ(atomic_load(&c.registrations), 0);
    CHECK_EQ(atomic_load(&c.events), 0);
    CHECK_OK(rgcd_release(s));
  }

  /* An fd closed without cancel, its number reused. */
  {
    int p[2];
    CHECK(pipe(p) == 0);
    static struct counts stale;
    rgcd_source_t old = reader(&stale, p[0], q);
    CHECK_OK(rgcd_activate(old));
    WAIT_UNTIL(atomic_load(&stale.registrations) == 1, 10000);
    int fd = p[0];
    close(p[0]); /* misuse: the source still watches it */
    close(p[1]);
    sleep_ms(20);
    int stale_events = atomic_load(&stale.events);
    int p2[2];
    CHECK(pipe(p2) == 0);
    CHECK_EQ(p2[0], fd); /* the lowest free number comes back */
    static struct counts fresh;
    rgcd_source_t s = reader(&fresh, p2[0], q);
    CHECK_OK(rgcd_activate(s));
    CHECK_EQ(write(p2[1], "hello", 5), 5);
    WAIT_UNTIL(atomic_load(&fresh.bytes) == 5, 10000);
    CHECK_EQ(atomic_load(&stale.events), stale_events);
    CHECK_OK(rgcd_source_cancel(old));
    CHECK_OK(rgcd_source_cancel(s));
    WAIT_UNTIL(atomic_load(&stale.cancels) == 1 && atomic_load(&fresh.cancels) == 1, 10000);
    CHECK_EQ(atomic_load(&stale.events), stale_events);
    CHECK_OK(rgcd_release(old));
    CHECK_OK(rgcd_release(s));
    close(p2[0]);
    close(p2[1]);
  }

  CHECK_OK(rgcd_release(q));
  check_quiet_and_freed(base, "source_registration");
  return 0;
}
