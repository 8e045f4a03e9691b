/* source_signal: a SIGNAL source counts deliveries of its signal. Signals sent one at a time
 * (waiting for each) are seen with data == 1 each; a burst sent while the handler cannot run
 * is merged, the total of data equal to the number sent. The source sees the signal even
 * though the program set SIG_IGN, two sources for one signal both see it, and once the last
 * source is cancelled the program's SIG_IGN disposition is back in place. The test blocks no
 * signal. */
#include "check.h"

#include <stdatomic.h>

struct src {
  rgcd_source_t src;
  atomic_int registered;
  atomic_int calls;
  atomic_long sum;
  atomic_long last;
  atomic_int zero_data;
  atomic_int early;        /* event handler before the registration handler */
  atomic_int cancelled;
};

static void on_register(void *ctx) {
  struct src *s = ctx;
  atomic_fetch_add(&s->registered, 1);
}

static void on_signal(void *ctx) {
  struct src *s = ctx;
  if (atomic_load(&s->registered) == 0) atomic_fetch_add(&s->early, 1);
  long data = (long)rgcd_source_get_data(s->src);
  if (data == 0) atomic_fetch_add(&s->zero_data, 1);
  atomic_store(&s->last, data);
  atomic_fetch_add(&s->sum, data);
  atomic_fetch_add(&s->calls, 1);
}

static void on_cancel(void *ctx) {
  struct src *s = ctx;
  atomic_fetch_add(&s->cancelled, 1);
}

static void start_source(struct src *s, rgcd_queue_t q) {
  s->src = rgcd_source_create(RGCD_SOURCE_TYPE_SIGNAL, SIGUSR1, 0, q);
  CHECK(s->src != NULL);
  CHECK_EQ(rgcd_source_get_handle(s->src), SIGUSR1);
  CHECK_EQ(rgcd_source_get_mask(s->src), 0);
  CHECK_OK(rgcd_set_context(s->src, s));
  CHECK_OK(rgcd_source_set_registration_handler_f(s->src, on_register));
  CHECK_OK(rgcd_source_set_event_handler_f(s->src, on_signal));
  CHECK_OK(rgcd_source_set_cancel_handler_f(s->src, on_cancel));
  CHECK_OK(rgcd_activate(s->src));
  /* Once registered, the source is watching: signals sent from now on are seen. */
  WAIT_UNTIL(atomic_load(&s->registered) == 1, 20000);
}

static void cancel_source(struct src *s) {
  CHECK_OK(rgcd_source_cancel(s->src));
  WAIT_UNTIL(atomic_load(&s->cancelled) == 1, 20000);
  int calls = atomic_load(&s->calls);
  sleep_ms(50);
  CHECK_EQ(atomic_load(&s->cancelled), 1);
  CHECK_EQ(atomic_load(&s->calls), calls);
  CHECK_EQ(atomic_load(&s->registered), 1);
  CHECK_EQ(atomic_load(&s->early), 0);
  CHECK_EQ(atomic_load(&s->zero_data), 0);
  CHECK_OK(rgcd_release(s->src));
}

static rgcd_semaphore_t unblock;
static atomic_int blocker_running;
static void blocker(void *ctx) {
  (void)ctx;
  atomic_store(&blocker_running, 1);
  rgcd_semaphore_wait(unblock, deadline_ms(30000));
  atomic_store(&blocker_running, 0);
}

static void send_sigusr1(void) {
  CHECK(kill(getpid(), SIGUSR1) == 0);
}

int main(void) {
  start_watchdog(100);
  CHECK(signal(SIGUSR1, SIG_IGN) != SIG_ERR);
  rgcd_queue_t q = rgcd_queue_create("source_signal.serial", RGCD_QUEUE_SERIAL);
  rgcd_queue_t global = rgcd_get_global_queue(RGCD_QOS_DEFAULT, 0);
  unblock = rgcd_semaphore_create(0);
  CHECK(q != NULL && global != NULL && unblock != NULL);

  static struct src s;
  start_source(&s, q);
  sleep_ms(50);
  CHECK_EQ(atomic_load(&s.calls), 0); /* no signal, no event */

  /* 1. One at a time: data == 1 each time. */
  for (int i = 1; i <= 5; i++) {
    send_sigusr1();
    WAIT_UNTIL(atomic_load(&s.calls) == i, 20000);
    CHECK_EQ(atomic_load(&s.last), 1);
    CHECK_EQ(atomic_load(&s.sum), i);
  }

  /* 2. A burst of 3 while the handler's queue is blocked: merged, none lost. */
  CHECK_OK(rgcd_async_f(q, NULL, blocker));
  WAIT_UNTIL(atomic_load(&blocker_running), 20000);
  for (int i = 0; i < 3; i++) {
    send_sigusr1();
    sleep_ms(20);
  }
  sleep_ms(50);
  CHECK_EQ(atomic_load(&s.calls), 5); /* the handler could not run */
  rgcd_semaphore_signal(unblock);
  WAIT_UNTIL(atomic_load(&s.sum) >= 8, 20000);
  sleep_ms(100);
  printf("source_signal: burst of 3 seen in %d handler call(s)\n", atomic_load(&s.calls) - 5);
  CHECK_EQ(atomic_load(&s.sum), 8);
  CHECK(atomic_load(&s.calls) >= 6 && atomic_load(&s.calls) <= 8);

  /* 3. A second source for the same signal: both see it; cancelling it leaves the first
   * one working (and the signal still caught, not ignored). */
  static struct src t;
  start_source(&t, global);
  send_sigusr1();
  WAIT_UNTIL(atomic_load(&s.sum) == 9 && atomic_load(&t.sum) == 1, 20000);
  cancel_source(&t);
  send_sigusr1();
  WAIT_UNTIL(atomic_load(&s.sum) == 10, 20000);
  sleep_ms(50);
  CHECK_EQ(atomic_load(&s.sum), 10);
  CHECK_EQ(atomic_load(&t.sum), 1);

  /* 4. After the last source is cancelled, SIG_IGN is back: the signal is ignored (the
   * process survives it) and nothing is delivered. */
  cancel_source(&s);
  struct sigaction old;
  memset(&old, 0, sizeof old);
  CHECK(sigaction(SIGUSR1, NULL, &old) == 0);
  CHECK(!(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_IGN);
  send_sigusr1();
  sleep_ms(50);
  CHECK_EQ(atomic_load(&s.sum), 10);

  CHECK_OK(rgcd_release(unblock));
  CHECK_OK(rgcd_release(q));
  return 0;
}
