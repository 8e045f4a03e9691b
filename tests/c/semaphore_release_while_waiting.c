/* semaphore_release_while_waiting: a thread blocked in rgcd_semaphore_wait holds its own
 * reference, so another thread may release the last reference while it waits.
 *
 * Each round: the main thread holds both references of a fresh semaphore (value 0); thread
 * A waits on it (10 s deadline) through one of them. The main thread signals; when the
 * signal says it woke a waiter (A was counted as waiting), the main thread at once releases
 * both references, while A is still inside its wait, and A must return 0 without touching
 * freed memory (run it under valgrind to see that: the optional argument sets the number
 * of rounds). When the signal found no waiter, A had not started waiting yet: the main
 * thread then joins A before releasing, as the handle must be live when a call starts. */
#include "check.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

struct round {
  rgcd_semaphore_t sema;
  atomic_int armed;
  int result;
};

static void *waiter(void *arg) {
  struct round *r = arg;
  atomic_store(&r->armed, 1);
  r->result = rgcd_semaphore_wait(r->sema, deadline_ms(10000));
  return NULL;
}

static uint32_t xorshift(uint32_t *state) {
  uint32_t x = *state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return *state = x;
}

int main(int argc, char **argv) {
  start_watchdog(110);
  int rounds = argc > 1 ? atoi(argv[1]) : 2000;
  CHECK(rounds > 0);
  uint32_t rng = 0x9e3779b9u;
  int released_while_waiting = 0;

  for (int i = 0; i < rounds; i++) {
    struct round r = {.sema = rgcd_semaphore_create(0), .result = -100};
    CHECK(r.sema != NULL);
    CHECK_OK(rgcd_retain(r.sema)); /* both references are the main thread's */
    pthread_t a;
    CHECK_EQ(pthread_create(&a, NULL, waiter, &r), 0);
    while (atomic_load(&r.armed) == 0) {
      sched_yield();
    }
    /* From 0 to ~50 us: sometimes A is still on its way into the wait, mostly it sleeps. */
    spin(xorshift(&rng) % 20000);
    int woke = rgcd_semaphore_signal(r.sema);
    CHECK(woke == 0 || woke == 1);
    if (woke == 1) {
      /* A is counted as a waiter: drop every reference while it waits. */
      CHECK_OK(rgcd_release(r.sema));
      CHECK_OK(rgcd_release(r.sema));
      released_while_waiting++;
      CHECK_EQ(pthread_join(a, NULL), 0);
    } else {
      CHECK_EQ(pthread_join(a, NULL), 0);
      CHECK_OK(rgcd_release(r.sema));
      CHECK_OK(rgcd_release(r.sema));
    }
    if (r.result != 0) {
      fprintf(stderr, "round %d: the wait returned %d, not 0 (%s)\n", i, r.result,
              woke == 1 ? "released while waiting" : "released after the wait");
      exit(1);
    }
  }
  /* The case under test happened (the signal found A waiting in most rounds). */
  CHECK(released_while_waiting > 0);
  printf("%d of %d rounds released the semaphore while a thread waited on it\n",
         released_while_waiting, rounds);
  return 0;
}
