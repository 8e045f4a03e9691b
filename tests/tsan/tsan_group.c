/* tsan_group: work items each fill their own slot; the caller reads every slot after
 * rgcd_group_wait, and a notification reads them all too (group leave -> wait / notify).
 * Then threads of the caller's own leave a group it entered for them. */
#include "tsan_check.h"

#include <pthread.h>

#define ITEMS 8

static int slots[ITEMS];
static int sum_seen;
static rgcd_semaphore_t notified;

static void fill(void *ctx) {
  int *slot = ctx;
  *slot = (int)(slot - slots) + 1;
}

static void sum(void *ctx) {
  (void)ctx;
  int s = 0;
  for (int i = 0; i < ITEMS; i++) s += slots[i];
  sum_seen = s;
  rgcd_semaphore_signal(notified);
}

struct leaver {
  rgcd_group_t group;
  int value;
};

static void *leave_thread(void *arg) {
  struct leaver *l = arg;
  l->value = 7;
  CHECK(rgcd_group_leave(l->group) == 0);
  return NULL;
}

int main(void) {
  notified = rgcd_semaphore_create(0);
  rgcd_queue_t q = rgcd_get_global_queue(0, 0);
  const int want = ITEMS * (ITEMS + 1) / 2;
  for (int round = 0; round < ROUNDS; round++) {
    rgcd_group_t g = rgcd_group_create();
    for (int i = 0; i < ITEMS; i++) slots[i] = 0;
    for (int i = 0; i < ITEMS; i++) CHECK(rgcd_group_async_f(g, q, &slots[i], fill) == 0);
    CHECK(rgcd_group_notify_f(g, q, NULL, sum) == 0);
    CHECK(rgcd_group_wait(g, RGCD_TIME_FOREVER) == 0);
    int s = 0;
    for (int i = 0; i < ITEMS; i++) s += slots[i];
    CHECK(s == want);
    CHECK(rgcd_semaphore_wait(notified, RGCD_TIME_FOREVER) == 0);
    CHECK(sum_seen == want);
    rgcd_release(g);
  }

  /* Leaves from threads rgcd knows nothing about. */
  rgcd_group_t g = rgcd_group_create();
  struct leaver l[4];
  pthread_t t[4];
  for (int i = 0; i < 4; i++) {
    l[i].group = g;
    l[i].value = 0;
    CHECK(rgcd_group_enter(g) == 0);
  }
  for (int i = 0; i < 4; i++) CHECK(pthread_create(&t[i], NULL, leave_thread, &l[i]) == 0);
  CHECK(rgcd_group_wait(g, RGCD_TIME_FOREVER) == 0);
  for (int i = 0; i < 4; i++) CHECK(l[i].value == 7);
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  rgcd_release(g);
  rgcd_release(notified);
  puts("tsan_group: ok");
  return 0;
}
