/* source_cancel: cancelling a source is asynchronous and final. After rgcd_source_cancel
 * returns no event handler starts; one already running finishes first; the cancel handler
 * then runs exactly once, after the last event handler returned. This holds when cancelling
 * from inside the event handler, from another thread while the handler runs, before
 * activation (the cancel handler then runs once the source is activated; the event handler
 * never does), when cancelling twice, and when the last reference is released right after
 * cancelling. rgcd_source_testcancel says 0 before and 1 after. */
#include "check.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

struct src {
  rgcd_source_t src;
  long sleep_ms;            /* each event handler call sleeps this long */
  int cancel_in_handler;    /* the first event handler call cancels the source */
  int cancel_in_cancel;     /* the cancel handler cancels again */
  atomic_int calls;
  atomic_int in_handler;    /* event handlers running now */
  atomic_int overlap;       /* event handler calls that found another one running */
  atomic_int handler_done;  /* event handler calls that returned */
  atomic_int inner_status;  /* results of calls made from inside handlers (0 = all ok) */
  atomic_int zero_data;     /* event handler calls that saw data 0 (nothing merged) */
  atomic_int cancelled;     /* cancel handler calls */
  atomic_int cancel_early;  /* the cancel handler found an event handler running or unfinished */
  atomic_int calls_after_cancel; /* event handler calls that started after the cancel handler */
};

static void on_event(void *ctx) {
  struct src *s = ctx;
  if (atomic_fetch_add(&s->in_handler, 1) != 0) atomic_fetch_add(&s->overlap, 1);
  if (atomic_load(&s->cancelled) != 0) atomic_fetch_add(&s->calls_after_cancel, 1);
  int n = atomic_fetch_add(&s->calls, 1) + 1;
  if (rgcd_source_get_data(s->src) == 0) atomic_fetch_add(&s->zero_data, 1);
  if (s->cancel_in_handler && n == 1) {
    if (rgcd_source_testcancel(s->src) != 0) atomic_fetch_add(&s->inner_status, 1);
    if (rgcd_source_cancel(s->src) != RGCD_OK) atomic_fetch_add(&s->inner_status, 1);
    if (rgcd_source_testcancel(s->src) != 1) atomic_fetch_add(&s->inner_status, 1);
  }
  if (s->sleep_ms > 0) sleep_ms(s->sleep_ms);
  atomic_fetch_add(&s->handler_done, 1);
  atomic_fetch_sub(&s->in_handler, 1);
}

static void on_cancel(void *ctx) {
  struct src *s = ctx;
  if (atomic_load(&s->in_handler) != 0 ||
      atomic_load(&s->handler_done) != atomic_load(&s->calls))
    atomic_fetch_add(&s->cancel_early, 1);
  if (rgcd_source_testcancel(s->src) != 1) atomic_fetch_add(&s->inner_status, 1);
  if (s->cancel_in_cancel && rgcd_source_cancel(s->src) != RGCD_OK)
    atomic_fetch_add(&s->inner_status, 1);
  atomic_fetch_add(&s->cancelled, 1);
}

static void make_source(struct src *s, rgcd_queue_t q) {
  s->src = rgcd_source_create(RGCD_SOURCE_TYPE_DATA_ADD, 0, 0, q);
  CHECK(s->src != NULL);
  CHECK_OK(rgcd_set_context(s->src, s));
  CHECK_OK(rgcd_source_set_event_handler_f(s->src, on_event));
  CHECK_OK(rgcd_source_set_cancel_handler_f(s->src, on_cancel));
}

/* After the cancel handler ran: nothing else runs, every invariant held. */
static void check_settled(struct src *s, const char *what) {
  WAIT_UNTIL(atomic_load(&s->cancelled) == 1, 20000);
  int calls = atomic_load(&s->calls);
  /* The source must stay deaf: merges after the cancel handler are ignored. */
  for (int i = 0; i < 100; i++) (void)rgcd_source_merge_data(s->src, 1);
  sleep_ms(100);
  printf("source_cancel: %-34s %d event handler call(s)\n", what, calls);
  CHECK_EQ(atomic_load(&s->calls), calls);
  CHECK_EQ(atomic_load(&s->cancelled), 1);
  CHECK_EQ(atomic_load(&s->cancel_early), 0);
  CHECK_EQ(atomic_load(&s->calls_after_cancel), 0);
  CHECK_EQ(atomic_load(&s->overlap), 0);
  CHECK_EQ(atomic_load(&s->inner_status), 0);
  CHECK_EQ(atomic_load(&s->zero_data), 0);
  CHECK_EQ(rgcd_source_testcancel(s->src), 1);
}

struct merger {
  struct src *s;
  atomic_int stop;
  long merges;
};

static void *merge_until_stopped(void *arg) {
  struct merger *m = arg;
  while (!atomic_load(&m->stop)) {
    (void)rgcd_source_merge_data(m->s->src, 1);
    m->merges++;
    if (m->merges % 64 == 0) sched_yield();
  }
  return NULL;
}

int main(void) {
  start_watchdog(100);
  rgcd_queue_t serial = rgcd_queue_create("source_cancel.serial", RGCD_QUEUE_SERIAL);
  rgcd_queue_t conc = rgcd_queue_create("source_cancel.concurrent", RGCD_QUEUE_CONCURRENT);
  rgcd_queue_t global = rgcd_get_global_queue(RGCD_QOS_DEFAULT, 0);
  CHECK(serial != NULL && conc != NULL && global != NULL);

  /* 1. Cancel from inside the event handler, while another thread keeps merging. */
  for (int round = 0; round < 2; round++) {
    static struct src s1[2];
    struct src *s = &s1[round];
    s->cancel_in_handler = 1;
    s->sleep_ms = 20; /* keep the handler running while merges pile up */
    make_source(s, round == 0 ? serial : conc);
    CHECK_OK(rgcd_activate(s->src));
    CHECK_EQ(rgcd_source_testcancel(s->src), 0);
    struct merger m = {.s = s};
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, merge_until_stopped, &m), 0);
    WAIT_UNTIL(atomic_load(&s->cancelled) == 1, 20000);
    sleep_ms(50); /* merges continue after the cancel handler ran */
    atomic_store(&m.stop, 1);
    CHECK_EQ(pthread_join(th, NULL), 0);
    check_settled(s, round == 0 ? "cancel inside handler (serial)" : "cancel inside handler (conc.)");
    CHECK_EQ(atomic_load(&s->calls), 1);
    CHECK_OK(rgcd_release(s->src));
  }

  /* 2. Cancel from another thread while the handler runs (it sleeps 50 ms): the cancel
   * handler starts only after the event handler returned, and no event handler follows. */
  {
    static struct src s = {.sleep_ms = 50};
    make_source(&s, global);
    CHECK_OK(rgcd_activate(s.src));
    CHECK_OK(rgcd_source_merge_data(s.src, 1));
    WAIT_UNTIL(atomic_load(&s.calls) == 1, 20000);
    CHECK_OK(rgcd_source_cancel(s.src));
    CHECK_EQ(rgcd_source_testcancel(s.src), 1);
    for (int i = 0; i < 10; i++) (void)rgcd_source_merge_data(s.src, 1);
    check_settled(&s, "cancel while handler runs");
    CHECK_EQ(atomic_load(&s.calls), 1);
    CHECK_OK(rgcd_release(s.src));
  }

  /* 2b. The same with a stream of events: cancel lands at an arbitrary point. */
  for (int round = 0; round < 20; round++) {
    static struct src sr[20];
    struct src *s = &sr[round];
    s->sleep_ms = round % 3; /* 0, 1 or 2 ms per call */
    make_source(s, round % 2 ? global : conc);
    CHECK_OK(rgcd_activate(s->src));
    struct merger m = {.s = s};
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, merge_until_stopped, &m), 0);
    sleep_ms(5 + round);
    CHECK_OK(rgcd_source_cancel(s->src));
    atomic_store(&m.stop, 1);
    CHECK_EQ(pthread_join(th, NULL), 0);
    WAIT_UNTIL(atomic_load(&s->cancelled) == 1, 20000);
    CHECK_EQ(atomic_load(&s->cancel_early), 0);
    CHECK_EQ(atomic_load(&s->calls_after_cancel), 0);
    CHECK_EQ(atomic_load(&s->overlap), 0);
    CHECK_EQ(atomic_load(&s->inner_status), 0);
    CHECK_EQ(atomic_load(&s->zero_data), 0);
    CHECK_OK(rgcd_release(s->src));
  }

  /* 3. Cancel before activation: the cancel handler waits for activation, then runs once;
   * the event handler never runs, not even for data merged before the cancel. */
  {
    static struct src s = {0};
    make_source(&s, serial);
    CHECK_EQ(rgcd_source_testcancel(s.src), 0);
    CHECK_OK(rgcd_source_merge_data(s.src, 5)); /* pending, the source is inactive */
    CHECK_OK(rgcd_source_cancel(s.src));
    CHECK_EQ(rgcd_source_testcancel(s.src), 1);
    sleep_ms(100);
    CHECK_EQ(atomic_load(&s.cancelled), 0); /* not before activation */
    CHECK_EQ(atomic_load(&s.calls), 0);
    CHECK_OK(rgcd_activate(s.src));
    check_settled(&s, "cancel before activation");
    CHECK_EQ(atomic_load(&s.calls), 0);
    CHECK_OK(rgcd_release(s.src));
  }

  /* 4. testcancel before and after; cancelling twice (and again from the cancel handler)
   * is fine and still runs the cancel handler once. */
  {
    static struct src s = {.cancel_in_cancel = 1};
    make_source(&s, serial);
    CHECK_EQ(rgcd_source_testcancel(s.src), 0);
    CHECK_OK(rgcd_activate(s.src));
    CHECK_EQ(rgcd_source_testcancel(s.src), 0);
    CHECK_OK(rgcd_source_merge_data(s.src, 1));
    WAIT_UNTIL(atomic_load(&s.calls) == 1, 20000);
    CHECK_EQ(rgcd_source_testcancel(s.src), 0);
    CHECK_OK(rgcd_source_cancel(s.src));
    CHECK_EQ(rgcd_source_testcancel(s.src), 1);
    CHECK_OK(rgcd_source_cancel(s.src));
    CHECK_EQ(rgcd_source_testcancel(s.src), 1);
    check_settled(&s, "cancel twice");
    CHECK_OK(rgcd_source_cancel(s.src)); /* and after the cancel handler ran */
    sleep_ms(50);
    CHECK_EQ(atomic_load(&s.cancelled), 1);
    CHECK_EQ(atomic_load(&s.calls), 1);
    CHECK_OK(rgcd_release(s.src));
  }

  /* 5. Releasing the last reference right after cancel: the cancel handler still runs,
   * once (the source keeps itself alive until then). */
  {
    static struct src s = {.sleep_ms = 20};
    make_source(&s, global);
    CHECK_OK(rgcd_activate(s.src));
    CHECK_OK(rgcd_source_merge_data(s.src, 1));
    WAIT_UNTIL(atomic_load(&s.calls) == 1, 20000);
    CHECK_OK(rgcd_source_cancel(s.src));
    CHECK_OK(rgcd_release(s.src));
    WAIT_UNTIL(atomic_load(&s.cancelled) == 1, 20000);
    sleep_ms(100);
    CHECK_EQ(atomic_load(&s.cancelled), 1);
    CHECK_EQ(atomic_load(&s.calls), 1);
    CHECK_EQ(atomic_load(&s.cancel_early), 0);
    CHECK_EQ(atomic_load(&s.inner_status), 0);
  }

  CHECK_OK(rgcd_release(serial));
  CHECK_OK(rgcd_release(conc));
  return 0;
}
