/* fifo_many_queues: 1,000,000 tasks over 1,000 serial queues and the global queues.
 * Every task runs exactly once, and each serial queue runs its tasks in FIFO order. */
#include "check.h"

#include <stdatomic.h>

#define TASKS 1000000u
#define SERIAL_QUEUES 1000u
#define GLOBAL_EVERY 10u /* every 10th task goes to a global queue */

struct serial_state {
  rgcd_queue_t queue;
  uint32_t next;      /* the sequence number the next task must carry; only its queue writes it */
  uint32_t submitted; /* how many tasks were submitted to it */
};

struct task {
  uint32_t index;
  uint32_t queue; /* index into serials, or UINT32_MAX for a global queue */
  uint32_t seq;
};

static struct serial_state serials[SERIAL_QUEUES];
static struct task *tasks;
static _Atomic unsigned char *runs;
static atomic_uint remaining = TASKS;
static atomic_uint global_ran;
static atomic_uint fifo_violations;
static rgcd_semaphore_t all_done;

static void finish(void) {
  if (atomic_fetch_sub(&remaining, 1) == 1) rgcd_semaphore_signal(all_done);
}

static void serial_task(void *ctx) {
  struct task *t = ctx;
  struct serial_state *s = &serials[t->queue];
  if (s->next != t->seq) atomic_fetch_add(&fifo_violations, 1);
  s->next = t->seq + 1;
  atomic_fetch_add_explicit(&runs[t->index], 1, memory_order_relaxed);
  finish();
}

static void global_task(void *ctx) {
  struct task *t = ctx;
  atomic_fetch_add_explicit(&runs[t->index], 1, memory_order_relaxed);
  atomic_fetch_add(&global_ran, 1);
  finish();
}

int main(void) {
  start_watchdog(100);
  tasks = calloc(TASKS, sizeof *tasks);
  runs = calloc(TASKS, sizeof *runs);
  CHECK(tasks != NULL && runs != NULL);
  all_done = rgcd_semaphore_create(0);
  CHECK(all_done != NULL);

  for (uint32_t i = 0; i < SERIAL_QUEUES; i++) {
    char label[32];
    snprintf(label, sizeof label, "fifo.%u", i);
    serials[i].queue = rgcd_queue_create(label, RGCD_QUEUE_SERIAL);
    CHECK(serials[i].queue != NULL);
  }
  const intptr_t classes[] = {RGCD_QOS_USER_INTERACTIVE, RGCD_QOS_USER_INITIATED,
                              RGCD_QOS_DEFAULT, RGCD_QOS_UTILITY, RGCD_QOS_BACKGROUND};
  rgcd_queue_t globals[5];
  for (int i = 0; i < 5; i++) {
    globals[i] = rgcd_get_global_queue(classes[i], 0);
    CHECK(globals[i] != NULL);
  }

  uint32_t global_submitted = 0;
  uint32_t next_serial = 0;
  uint64_t t0 = now_ns();
  for (uint32_t i = 0; i < TASKS; i++) {
    struct task *t = &tasks[i];
    t->index = i;
    if (i % GLOBAL_EVERY == GLOBAL_EVERY - 1) {
      t->queue = UINT32_MAX;
      CHECK_OK(rgcd_async_f(globals[global_submitted % 5], t, global_task));
      global_submitted++;
    } else {
      struct serial_state *s = &serials[next_serial];
      t->queue = next_serial;
      t->seq = s->submitted++;
      next_serial = (next_serial + 1) % SERIAL_QUEUES;
      CHECK_OK(rgcd_async_f(s->queue, t, serial_task));
    }
  }

  CHECK_OK(rgcd_semaphore_wait(all_done, deadline_ms(60000)));
  printf("fifo_many_queues: %u tasks in %.1f ms\n", TASKS, (double)(now_ns() - t0) / 1e6);

  CHECK_EQ(atomic_load(&fifo_violations), 0);
  CHECK_EQ(atomic_load(&global_ran), global_submitted);
  for (uint32_t i = 0; i < TASKS; i++) {
    if (atomic_load_explicit(&runs[i], memory_order_relaxed) != 1) {
      fprintf(stderr, "task %u ran %u times\n", i, (unsigned)atomic_load(&runs[i]));
      CHECK(0);
    }
  }
  for (uint32_t i = 0; i < SERIAL_QUEUES; i++) {
    /* Ordered after every task: each task's finish() is part of one atomic RMW chain. */
    CHECK_EQ(serials[i].next, serials[i].submitted);
    CHECK_OK(rgcd_release(serials[i].queue));
  }
  CHECK_OK(rgcd_release(all_done));
  free(tasks);
  free((void *)runs);
  return 0;
}
