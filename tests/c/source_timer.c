/* source_timer: timer sources fire as armed. A repeating timer counts every interval in its
 * data (never more intervals than have elapsed; intervals that pass while the handler is
 * busy are merged into the next call, not lost); a one-shot fires exactly once; re-arming
 * works from inside the handler and from outside; a start of RGCD_TIME_FOREVER (or no
 * rgcd_source_set_timer at all) never fires; RGCD_TIMER_STRICT timers fire; two timers with
 * overlapping leeway windows both fire. No timer fires before its start. */
#include "check.h"

#include <stdatomic.h>

#define MS ((uint64_t)RGCD_NSEC_PER_MSEC)

struct tmr {
  rgcd_source_t src;
  atomic_ullong start;    /* current first deadline on rgcd's clock (0: not checked) */
  uint64_t interval;      /* for the over-count check; 0 = one-shot */
  long stall_first_ms;    /* the first handler call sleeps this long */
  int rearm_inside;       /* the first handler call re-arms a one-shot 20 ms later */
  atomic_int calls;
  atomic_ullong sum;      /* sum of rgcd_source_get_data over all calls */
  atomic_ullong max_data;
  atomic_int zero_data;   /* calls that saw data == 0 */
  atomic_int early;       /* calls that ran before `start` */
  atomic_int overcount;   /* calls after which sum > intervals elapsed since start */
  atomic_int rearm_failed;
  atomic_int cancelled;
};

static void on_timer(void *ctx) {
  struct tmr *t = ctx;
  uintptr_t data = rgcd_source_get_data(t->src);
  rgcd_time_t now = rgcd_time(RGCD_TIME_NOW, 0);
  rgcd_time_t start = atomic_load(&t->start);
  if (data == 0) atomic_fetch_add(&t->zero_data, 1);
  if (start != 0 && now < start) atomic_fetch_add(&t->early, 1);
  unsigned long long sum = atomic_fetch_add(&t->sum, data) + data;
  if (data > atomic_load(&t->max_data)) atomic_store(&t->max_data, data);
  if (t->interval != 0 && start != 0 && now >= start &&
      sum > (now - start) / t->interval + 1)
    atomic_fetch_add(&t->overcount, 1);
  int n = atomic_fetch_add(&t->calls, 1) + 1;
  if (n == 1 && t->stall_first_ms > 0) sleep_ms(t->stall_first_ms);
  if (n == 1 && t->rearm_inside) {
    rgcd_time_t next = rgcd_time(RGCD_TIME_NOW, 20 * (int64_t)MS);
    atomic_store(&t->start, next);
    if (rgcd_source_set_timer(t->src, next, RGCD_TIME_FOREVER, 0) != RGCD_OK)
      atomic_fetch_add(&t->rearm_failed, 1);
  }
}

static void on_cancel(void *ctx) {
  struct tmr *t = ctx;
  atomic_fetch_add(&t->cancelled, 1);
}

static void noop(void *ctx) {
  (void)ctx;
}

static void make_timer(struct tmr *t, uintptr_t mask, rgcd_queue_t q) {
  t->src = rgcd_source_create(RGCD_SOURCE_TYPE_TIMER, 0, mask, q);
  CHECK(t->src != NULL);
  CHECK_EQ(rgcd_source_get_mask(t->src), mask);
  CHECK_EQ(rgcd_source_get_handle(t->src), 0);
  CHECK_OK(rgcd_set_context(t->src, t));
  CHECK_OK(rgcd_source_set_event_handler_f(t->src, on_timer));
  CHECK_OK(rgcd_source_set_cancel_handler_f(t->src, on_cancel));
}

/* Common checks for every timer, then cancel it and wait for its cancel handler. */
static void finish(struct tmr *t, const char *what) {
  CHECK_EQ(atomic_load(&t->early), 0);
  CHECK_EQ(atomic_load(&t->zero_data), 0);
  CHECK_EQ(atomic_load(&t->overcount), 0);
  CHECK_EQ(atomic_load(&t->rearm_failed), 0);
  CHECK_OK(rgcd_source_cancel(t->src));
  CHECK_EQ(rgcd_source_testcancel(t->src), 1);
  WAIT_UNTIL(atomic_load(&t->cancelled) == 1, 20000);
  int calls = atomic_load(&t->calls);
  sleep_ms(50);
  CHECK_EQ(atomic_load(&t->calls), calls); /* nothing after the cancel handler */
  CHECK_EQ(atomic_load(&t->cancelled), 1);
  printf("source_timer: %-28s %3d calls, data sum %llu, max data %llu\n", what, calls,
         (unsigned long long)atomic_load(&t->sum), (unsigned long long)atomic_load(&t->max_data));
  CHECK_OK(rgcd_release(t->src));
}

int main(void) {
  start_watchdog(100);
  rgcd_queue_t q = rgcd_queue_create("source_timer.q", RGCD_QUEUE_SERIAL);
  rgcd_queue_t global = rgcd_get_global_queue(RGCD_QOS_DEFAULT, 0);
  CHECK(q != NULL && global != NULL);

  /* 1. A repeating 10 ms timer, armed before activation. */
  {
    static struct tmr t = {.interval = 10 * MS};
    make_timer(&t, 0, q);
    rgcd_time_t start = rgcd_time(RGCD_TIME_NOW, 10 * (int64_t)MS);
    atomic_store(&t.start, start);
    CHECK_OK(rgcd_source_set_timer(t.src, start, 10 * MS, 1 * MS));
    CHECK_OK(rgcd_activate(t.src));
    WAIT_UNTIL(atomic_load(&t.calls) >= 10, 30000);
    rgcd_time_t until = start + 300 * MS;
    rgcd_time_t now = rgcd_time(RGCD_TIME_NOW, 0);
    if (now < until) sleep_ms((long)((until - now) / MS) + 1);
    int calls = atomic_load(&t.calls);
    unsigned long long sum = atomic_load(&t.sum);
    rgcd_time_t after = rgcd_time(RGCD_TIME_NOW, 0);
    unsigned long long elapsed_intervals = (after - start) / (10 * MS) + 1;
    printf("source_timer: repeating: %d calls, %llu intervals counted, %llu elapsed\n", calls,
           sum, elapsed_intervals);
    CHECK(calls >= 10);
    CHECK(sum >= (unsigned long long)calls); /* every call counts at least one interval */
    CHECK(sum <= elapsed_intervals);         /* and never more than have passed */
    if (after - start < 400 * MS) CHECK(calls <= 40);
    finish(&t, "repeating 10 ms");
  }

  /* 2. Intervals that pass while the handler is busy are counted in the next call's data:
   * the first call sleeps 100 ms (about ten intervals). */
  {
    static struct tmr t = {.interval = 10 * MS, .stall_first_ms = 100};
    make_timer(&t, 0, q);
    CHECK_OK(rgcd_activate(t.src)); /* armed after activation this time */
    rgcd_time_t start = rgcd_time(RGCD_TIME_NOW, 10 * (int64_t)MS);
    atomic_store(&t.start, start);
    CHECK_OK(rgcd_source_set_timer(t.src, start, 10 * MS, 0));
    /* By the third call, the intervals that passed during the stall have been delivered
     * (in the second call, or in the third if the second one's data was taken when it was
     * scheduled): at least 1 + 10, and some call carried several intervals. */
    WAIT_UNTIL(atomic_load(&t.calls) >= 3, 30000);
    CHECK(atomic_load(&t.max_data) >= 2);
    CHECK(atomic_load(&t.sum) >= 11);
    finish(&t, "stalled handler");
  }

  /* 3. A one-shot timer (interval FOREVER) fires exactly once; also on the wall clock. */
  {
    static struct tmr t = {0};
    make_timer(&t, 0, global);
    rgcd_time_t start = rgcd_time(RGCD_TIME_NOW, 20 * (int64_t)MS);
    atomic_store(&t.start, start);
    CHECK_OK(rgcd_source_set_timer(t.src, start, RGCD_TIME_FOREVER, 0));
    CHECK_OK(rgcd_activate(t.src));
    WAIT_UNTIL(atomic_load(&t.calls) == 1, 30000);
    sleep_ms(200);
    CHECK_EQ(atomic_load(&t.calls), 1);
    CHECK_EQ(atomic_load(&t.sum), 1);
    finish(&t, "one-shot");

    static struct tmr w = {0};
    make_timer(&w, 0, global);
    CHECK_OK(rgcd_source_set_timer(w.src, rgcd_walltime(NULL, 20 * (int64_t)MS),
                                   RGCD_TIME_FOREVER, 0));
    CHECK_OK(rgcd_activate(w.src));
    WAIT_UNTIL(atomic_load(&w.calls) == 1, 30000);
    sleep_ms(200);
    CHECK_EQ(atomic_load(&w.calls), 1);
    CHECK_EQ(atomic_load(&w.sum), 1);
    finish(&w, "one-shot (wall clock)");
  }

  /* 4. Re-armed from inside its handler: a one-shot whose first call arms another one-shot
   * 20 ms later fires exactly twice. */
  {
    static struct tmr t = {.rearm_inside = 1};
    make_timer(&t, 0, q);
    rgcd_time_t start = rgcd_time(RGCD_TIME_NOW, 10 * (int64_t)MS);
    atomic_store(&t.start, start);
    CHECK_OK(rgcd_source_set_timer(t.src, start, RGCD_TIME_FOREVER, 0));
    CHECK_OK(rgcd_activate(t.src));
    WAIT_UNTIL(atomic_load(&t.calls) == 2, 30000);
    sleep_ms(200);
    CHECK_EQ(atomic_load(&t.calls), 2);
    CHECK_EQ(atomic_load(&t.sum), 2);
    finish(&t, "re-armed inside");
  }

  /* 5. Re-armed from outside: a repeating timer is disarmed (start FOREVER) and stops, then
   * re-armed as a one-shot and fires once more. */
  {
    static struct tmr t = {.interval = 10 * MS};
    make_timer(&t, 0, q);
    rgcd_time_t start = rgcd_time(RGCD_TIME_NOW, 10 * (int64_t)MS);
    atomic_store(&t.start, start);
    CHECK_OK(rgcd_source_set_timer(t.src, start, 10 * MS, 0));
    CHECK_OK(rgcd_activate(t.src));
    WAIT_UNTIL(atomic_load(&t.calls) >= 3, 30000);
    CHECK_OK(rgcd_source_set_timer(t.src, RGCD_TIME_FOREVER, 10 * MS, 0));
    /* A fire already in flight may still be delivered: let it (the handlers run on q, so
     * two round trips through q flush a delivery that was queued or re-queued). */
    sleep_ms(100);
    CHECK_OK(rgcd_sync_f(q, NULL, noop));
    CHECK_OK(rgcd_sync_f(q, NULL, noop));
    int calls = atomic_load(&t.calls);
    sleep_ms(200);
    CHECK_EQ(atomic_load(&t.calls), calls); /* disarmed */
    t.interval = 0; /* one-shot from now on: no over-count check against the old start */
    rgcd_time_t again = rgcd_time(RGCD_TIME_NOW, 20 * (int64_t)MS);
    atomic_store(&t.start, again);
    CHECK_OK(rgcd_source_set_timer(t.src, again, RGCD_TIME_FOREVER, 0));
    WAIT_UNTIL(atomic_load(&t.calls) == calls + 1, 30000);
    sleep_ms(200);
    CHECK_EQ(atomic_load(&t.calls), calls + 1);
    finish(&t, "re-armed outside");
  }

  /* 6. A start of RGCD_TIME_FOREVER never fires, and neither does a timer never armed. */
  {
    static struct tmr t = {0};
    make_timer(&t, 0, q);
    CHECK_OK(rgcd_source_set_timer(t.src, RGCD_TIME_FOREVER, 10 * MS, 0));
    CHECK_OK(rgcd_activate(t.src));
    static struct tmr u = {0};
    make_timer(&u, 0, q);
    CHECK_OK(rgcd_activate(u.src));
    sleep_ms(300);
    CHECK_EQ(atomic_load(&t.calls), 0);
    CHECK_EQ(atomic_load(&u.calls), 0);
    finish(&t, "start FOREVER");
    finish(&u, "never armed");
  }

  /* 7. A strict timer fires (one-shot and repeating). */
  {
    static struct tmr t = {0};
    make_timer(&t, RGCD_TIMER_STRICT, q);
    rgcd_time_t start = rgcd_time(RGCD_TIME_NOW, 15 * (int64_t)MS);
    atomic_store(&t.start, start);
    CHECK_OK(rgcd_source_set_timer(t.src, start, RGCD_TIME_FOREVER, 0));
    CHECK_OK(rgcd_activate(t.src));
    WAIT_UNTIL(atomic_load(&t.calls) == 1, 30000);
    sleep_ms(100);
    CHECK_EQ(atomic_load(&t.calls), 1);
    finish(&t, "strict one-shot");

    static struct tmr r = {.interval = 5 * MS};
    make_timer(&r, RGCD_TIMER_STRICT, global);
    start = rgcd_time(RGCD_TIME_NOW, 5 * (int64_t)MS);
    atomic_store(&r.start, start);
    CHECK_OK(rgcd_source_set_timer(r.src, start, 5 * MS, 0));
    CHECK_OK(rgcd_activate(r.src));
    WAIT_UNTIL(atomic_load(&r.calls) >= 5, 30000);
    finish(&r, "strict repeating 5 ms");
  }

  /* 8. Two one-shots whose leeway windows overlap both fire, once each, neither early
   * (whether they were coalesced is not observable and not asserted). */
  {
    static struct tmr a = {0}, b = {0};
    make_timer(&a, 0, q);
    make_timer(&b, 0, global);
    rgcd_time_t sa = rgcd_time(RGCD_TIME_NOW, 50 * (int64_t)MS);
    rgcd_time_t sb = sa + 10 * MS;
    atomic_store(&a.start, sa);
    atomic_store(&b.start, sb);
    CHECK_OK(rgcd_source_set_timer(a.src, sa, RGCD_TIME_FOREVER, 30 * MS));
    CHECK_OK(rgcd_source_set_timer(b.src, sb, RGCD_TIME_FOREVER, 30 * MS));
    CHECK_OK(rgcd_activate(a.src));
    CHECK_OK(rgcd_activate(b.src));
    WAIT_UNTIL(atomic_load(&a.calls) == 1 && atomic_load(&b.calls) == 1, 30000);
    sleep_ms(200);
    CHECK_EQ(atomic_load(&a.calls), 1);
    CHECK_EQ(atomic_load(&b.calls), 1);
    finish(&a, "leeway pair (a)");
    finish(&b, "leeway pair (b)");
  }

  CHECK_OK(rgcd_release(q));
  return 0;
}
