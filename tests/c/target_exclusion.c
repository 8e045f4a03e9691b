/* target_exclusion: two serial queues that target one serial queue never run at the same
 * time, and each keeps its own FIFO order. */
#include "check.h"

#include <stdatomic.h>

#define ITEMS_PER_QUEUE 3000

struct child {
  rgcd_queue_t queue;
  int next; /* the sequence number the next item must carry; only its queue touches it */
};

struct item {
  struct child *child;
  int seq;
};

static struct child children[2];
static struct item items[2][ITEMS_PER_QUEUE];
static atomic_int in_flight;
static atomic_int overlaps;
static atomic_int fifo_violations;
static atomic_int remaining = 2 * ITEMS_PER_QUEUE;
static rgcd_semaphore_t all_done;

static void work(void *ctx) {
  struct item *it = ctx;
  if (atomic_fetch_add(&in_flight, 1) != 0) atomic_fetch_add(&overlaps, 1);
  if (it->child->next != it->seq) atomic_fetch_add(&fifo_violations, 1);
  it->child->next = it->seq + 1;
  spin(2000);
  atomic_fetch_sub(&in_flight, 1);
  if (atomic_fetch_sub(&remaining, 1) == 1) rgcd_semaphore_signal(all_done);
}

int main(void) {
  start_watchdog(100);
  all_done = rgcd_semaphore_create(0);
  CHECK(all_done != NULL);
  rgcd_queue_t target = rgcd_queue_create("target_exclusion.target", RGCD_QUEUE_SERIAL);
  CHECK(target != NULL);
  children[0].queue =
      rgcd_queue_create_with_target("target_exclusion.a", RGCD_QUEUE_SERIAL, target);
  /* The second child gets its target the other way: created inactive, targeted, activated. */
  children[1].queue =
      rgcd_queue_create("target_exclusion.b", RGCD_QUEUE_SERIAL | RGCD_QUEUE_INACTIVE);
  CHECK(children[0].queue != NULL && children[1].queue != NULL);
  CHECK_OK(rgcd_set_target_queue(children[1].queue, target));
  CHECK_OK(rgcd_activate(children[1].queue));

  for (int i = 0; i < ITEMS_PER_QUEUE; i++) {
    for (int c = 0; c < 2; c++) {
      items[c][i].child = &children[c];
      items[c][i].seq = i;
      CHECK_OK(rgcd_async_f(children[c].queue, &items[c][i], work));
    }
  }

  CHECK_OK(rgcd_semaphore_wait(all_done, deadline_ms(60000)));
  CHECK_EQ(atomic_load(&overlaps), 0);
  CHECK_EQ(atomic_load(&fifo_violations), 0);
  CHECK_EQ(children[0].next, ITEMS_PER_QUEUE);
  CHECK_EQ(children[1].next, ITEMS_PER_QUEUE);

  CHECK_OK(rgcd_release(children[0].queue));
  CHECK_OK(rgcd_release(children[1].queue));
  CHECK_OK(rgcd_release(target));
  CHECK_OK(rgcd_release(all_done));
  return 0;
}
