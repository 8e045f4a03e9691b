/* after_timing: rgcd_after_f never fires before its deadline and fires exactly once;
 * RGCD_TIME_FOREVER never fires; a wall-clock deadline (rgcd_walltime) works too. */
#include "check.h"

#include <stdatomic.h>

struct timer {
  int64_t delay_ms;
  uint64_t start_mono;  /* CLOCK_MONOTONIC when the deadline was computed */
  uint64_t start_wall;  /* CLOCK_REALTIME likewise, for the wall-clock case */
  rgcd_time_t deadline; /* what was passed to rgcd_after_f */
  int walltime;
  atomic_int fired;
  uint64_t fired_mono;
  uint64_t fired_wall;
  rgcd_time_t fired_rgcd; /* rgcd_time(NOW, 0) when the work ran */
  int label_ok;
  const char *expect_label;
};

static rgcd_semaphore_t fired_sem;

static void on_fire(void *ctx) {
  struct timer *t = ctx;
  t->fired_mono = now_ns();
  t->fired_wall = wall_ns();
  t->fired_rgcd = rgcd_time(RGCD_TIME_NOW, 0);
  if (t->expect_label != NULL) {
    const char *label = rgcd_queue_get_label(NULL);
    t->label_ok = label != NULL && strcmp(label, t->expect_label) == 0;
  } else {
    t->label_ok = 1;
  }
  atomic_fetch_add(&t->fired, 1);
  rgcd_semaphore_signal(fired_sem);
}

static void never(void *ctx) {
  atomic_fetch_add((atomic_int *)ctx, 1);
}

#define TIMERS 8

int main(void) {
  start_watchdog(100);
  fired_sem = rgcd_semaphore_create(0);
  CHECK(fired_sem != NULL);
  rgcd_queue_t global = rgcd_get_global_queue(RGCD_QOS_DEFAULT, 0);
  rgcd_queue_t serial = rgcd_queue_create("after_timing.serial", RGCD_QUEUE_SERIAL);
  CHECK(global != NULL && serial != NULL);

  static struct timer timers[TIMERS] = {
      {.delay_ms = 0},  {.delay_ms = 1},   {.delay_ms = 10},
      {.delay_ms = 50}, {.delay_ms = 120}, {.delay_ms = 30, .expect_label = "after_timing.serial"},
      {.delay_ms = 60, .walltime = 1},     {.delay_ms = 5, .walltime = 1},
  };
  for (int i = 0; i < TIMERS; i++) {
    struct timer *t = &timers[i];
    t->start_mono = now_ns();
    t->start_wall = wall_ns();
    int64_t delta = t->delay_ms * (int64_t)RGCD_NSEC_PER_MSEC;
    t->deadline = t->walltime ? rgcd_walltime(NULL, delta) : rgcd_time(RGCD_TIME_NOW, delta);
    rgcd_queue_t q = t->expect_label != NULL ? serial : global;
    CHECK_OK(rgcd_after_f(t->deadline, q, t, on_fire));
  }

  atomic_int forever_ran = 0;
  CHECK_OK(rgcd_after_f(RGCD_TIME_FOREVER, global, &forever_ran, never));

  rgcd_time_t deadline = deadline_ms(30000);
  for (int i = 0; i < TIMERS; i++) CHECK_OK(rgcd_semaphore_wait(fired_sem, deadline));
  sleep_ms(200);

  for (int i = 0; i < TIMERS; i++) {
    struct timer *t = &timers[i];
    uint64_t want = (uint64_t)t->delay_ms * 1000000ull;
    printf("after_timing: %s %3lld ms timer fired after %.2f ms\n",
           t->walltime ? "walltime " : "monotonic", (long long)t->delay_ms,
           (double)(t->fired_mono - t->start_mono) / 1e6);
    CHECK_EQ(atomic_load(&t->fired), 1);
    CHECK(t->label_ok);
    if (t->walltime) {
      /* On the wall clock, allowing 1 ms for the clock's own granularity. */
      CHECK(t->fired_wall + 1000000ull >= t->start_wall + want);
    } else {
      /* On rgcd's clock exactly; on CLOCK_MONOTONIC allowing 1 ms of skew between clocks. */
      CHECK(t->fired_rgcd >= t->deadline);
      CHECK(t->fired_mono + 1000000ull >= t->start_mono + want);
    }
  }
  CHECK_EQ(atomic_load(&forever_ran), 0);

  /* A deadline already in the past fires promptly, once. */
  struct timer past = {.delay_ms = 0};
  past.deadline = rgcd_time(RGCD_TIME_NOW, -(int64_t)RGCD_NSEC_PER_SEC);
  CHECK_OK(rgcd_after_f(past.deadline, global, &past, on_fire));
  CHECK_OK(rgcd_semaphore_wait(fired_sem, deadline_ms(30000)));
  sleep_ms(50);
  CHECK_EQ(atomic_load(&past.fired), 1);
  CHECK_EQ(atomic_load(&forever_ran), 0);

  CHECK_OK(rgcd_release(serial));
  CHECK_OK(rgcd_release(fired_sem));
  return 0;
}
