/* time_arith: rgcd_time / rgcd_walltime arithmetic. FOREVER stays FOREVER, huge deltas
 * saturate to FOREVER, the monotonic clock never goes back, wall-clock values are encoded
 * apart from monotonic ones (libdispatch's encoding: the top bit set), and both kinds work
 * as deadlines. */
#include "check.h"

int main(void) {
  start_watchdog(100);
  const int64_t sec = (int64_t)RGCD_NSEC_PER_SEC;

  /* FOREVER absorbs every delta. */
  const int64_t deltas[] = {0, 1, -1, sec, -sec, INT64_MAX, INT64_MIN};
  for (size_t i = 0; i < sizeof deltas / sizeof deltas[0]; i++)
    CHECK(rgcd_time(RGCD_TIME_FOREVER, deltas[i]) == RGCD_TIME_FOREVER);

  /* Huge deltas saturate instead of wrapping. */
  CHECK(rgcd_time(RGCD_TIME_NOW, INT64_MAX) == RGCD_TIME_FOREVER);
  CHECK(rgcd_time(rgcd_time(RGCD_TIME_NOW, 0), INT64_MAX) == RGCD_TIME_FOREVER);
  CHECK(rgcd_time((rgcd_time_t)1 << 62, INT64_MAX) == RGCD_TIME_FOREVER);
  CHECK(rgcd_time(rgcd_time(RGCD_TIME_NOW, INT64_MAX / 2), INT64_MAX / 2 + 2) ==
        RGCD_TIME_FOREVER);
  CHECK(rgcd_walltime(NULL, INT64_MAX) == RGCD_TIME_FOREVER);

  /* Monotonic: never decreasing, and it follows real time. */
  rgcd_time_t prev = rgcd_time(RGCD_TIME_NOW, 0);
  CHECK(prev != RGCD_TIME_NOW && prev != RGCD_TIME_FOREVER);
  CHECK((int64_t)prev > 0);
  for (int i = 0; i < 100000; i++) {
    rgcd_time_t t = rgcd_time(RGCD_TIME_NOW, 0);
    CHECK(t >= prev);
    prev = t;
  }
  uint64_t m0 = now_ns();
  rgcd_time_t r0 = rgcd_time(RGCD_TIME_NOW, 0);
  sleep_ms(20);
  rgcd_time_t r1 = rgcd_time(RGCD_TIME_NOW, 0);
  uint64_t m1 = now_ns();
  CHECK(r1 - r0 >= 20 * RGCD_NSEC_PER_MSEC);
  CHECK(r1 - r0 <= m1 - m0 + RGCD_NSEC_PER_MSEC); /* same rate as CLOCK_MONOTONIC */

  /* Deltas on an absolute monotonic value are plain addition. */
  CHECK(rgcd_time(r0, 1000) == r0 + 1000);
  CHECK(rgcd_time(r0, sec) == r0 + (rgcd_time_t)sec);
  CHECK(rgcd_time(r0, -1000) == r0 - 1000);
  rgcd_time_t later = rgcd_time(RGCD_TIME_NOW, sec);
  CHECK(later >= r1 + (rgcd_time_t)sec);
  /* Going below zero clamps to something no later than the start, never FOREVER. */
  rgcd_time_t low = rgcd_time(1000, -5000);
  CHECK(low <= 1000);

  /* Wall-clock encoding: distinct from monotonic values, top bit set, not FOREVER. */
  rgcd_time_t w0 = rgcd_walltime(NULL, 0);
  CHECK(w0 != RGCD_TIME_FOREVER);
  CHECK((int64_t)w0 < 0);
  CHECK(w0 != rgcd_time(RGCD_TIME_NOW, 0));
  rgcd_time_t wn = rgcd_time(RGCD_WALLTIME_NOW, 0);
  CHECK(wn != RGCD_TIME_FOREVER && (int64_t)wn < 0);
  /* One second later on the wall clock is about one second away in the encoding. */
  rgcd_time_t w1 = rgcd_walltime(NULL, sec);
  int64_t gap = (int64_t)(w1 - w0);
  if (gap < 0) gap = -gap;
  CHECK(gap >= sec && gap < 2 * sec);
  /* An explicit timespec gives the same encoding as NULL + delta. */
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  rgcd_time_t from_ts = rgcd_walltime(&ts, sec);
  rgcd_time_t from_null = rgcd_walltime(NULL, sec);
  int64_t skew = (int64_t)(from_null - from_ts);
  if (skew < 0) skew = -skew;
  CHECK(skew < sec / 2);

  /* Both kinds work as deadlines: a wait times out at them, not before. */
  rgcd_semaphore_t s = rgcd_semaphore_create(0);
  CHECK(s != NULL);
  uint64_t t0 = now_ns();
  CHECK_EQ(rgcd_semaphore_wait(s, rgcd_time(RGCD_TIME_NOW, 30 * RGCD_NSEC_PER_MSEC)),
           RGCD_TIMED_OUT);
  CHECK(now_ns() - t0 + RGCD_NSEC_PER_MSEC >= 30 * RGCD_NSEC_PER_MSEC);
  uint64_t wall0 = wall_ns();
  CHECK_EQ(rgcd_semaphore_wait(s, rgcd_walltime(NULL, 30 * RGCD_NSEC_PER_MSEC)),
           RGCD_TIMED_OUT);
  CHECK(wall_ns() - wall0 + RGCD_NSEC_PER_MSEC >= 30 * RGCD_NSEC_PER_MSEC);
  /* Deadlines in the past time out at once (the watchdog catches a hang). */
  CHECK_EQ(rgcd_semaphore_wait(s, rgcd_walltime(NULL, -sec)), RGCD_TIMED_OUT);
  CHECK_EQ(rgcd_semaphore_wait(s, rgcd_time(RGCD_TIME_NOW, -sec)), RGCD_TIMED_OUT);
  CHECK_EQ(rgcd_semaphore_wait(s, r0), RGCD_TIMED_OUT);
  /* A group accepts a wall-clock deadline too. */
  rgcd_group_t g = rgcd_group_create();
  CHECK(g != NULL);
  CHECK_OK(rgcd_group_enter(g));
  CHECK_EQ(rgcd_group_wait(g, rgcd_walltime(NULL, 10 * RGCD_NSEC_PER_MSEC)), RGCD_TIMED_OUT);
  CHECK_OK(rgcd_group_leave(g));
  CHECK_OK(rgcd_group_wait(g, rgcd_walltime(NULL, 10 * sec)));
  /* A signal before a far deadline is taken. */
  CHECK_EQ(rgcd_semaphore_signal(s), 0);
  CHECK_OK(rgcd_semaphore_wait(s, rgcd_walltime(NULL, 10 * sec)));

  CHECK_OK(rgcd_release(g));
  CHECK_OK(rgcd_release(s));
  return 0;
}
