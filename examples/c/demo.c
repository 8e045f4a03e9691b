/* rgcd demo: fan 64 jobs out over a concurrent queue, at most 4 in flight,
 * fold their results into state owned by a serial queue, take a consistent
 * snapshot with a barrier halfway through, and wait for everything with a
 * deadline.
 *
 *   cc -std=c11 demo.c -Iinclude -Ltarget/release -lrgcd -o demo && ./demo
 */
#define _POSIX_C_SOURCE 200809L
#include <rgcd.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { JOBS = 64, MAX_IN_FLIGHT = 4 };

/* Every rgcd call that can fail is checked: calls return a status (0 ok,
 * RGCD_TIMED_OUT, negative error), constructors a handle or NULL. */
static void fail(const char *what, int status)
{
    fprintf(stderr, "%s failed: %s\n", what,
            status == RGCD_TIMED_OUT ? "timed out" : rgcd_last_error());
    exit(1);
}
#define TRY(call)                          \
    do {                                   \
        int status_ = (call);              \
        if (status_ != 0) {                \
            fail(#call, status_);          \
        }                                  \
    } while (0)

static void *must(void *handle, const char *what)
{
    if (handle == NULL) {
        fail(what, 0);
    }
    return handle;
}

static rgcd_queue_t workers;     /* concurrent: the jobs run here */
static rgcd_queue_t state_queue; /* serial: owns `totals` below */
static rgcd_group_t all_work;    /* every job and every fold */
static rgcd_semaphore_t slots;   /* MAX_IN_FLIGHT permits */

static long results[JOBS];            /* written by job i only, read by the barrier */
static atomic_int in_flight, max_in_flight;

struct totals {
    int jobs;
    long sum;
};
static struct totals totals; /* only touched on state_queue */

static struct {
    int jobs_done;         /* jobs finished when the barrier ran */
    long partial_sum;
} snapshot;                /* written by the barrier, read by later jobs */
static atomic_int saw_snapshot;

/* The "work": length of the Collatz sequence from a seed, plus a short nap. */
static long collatz_steps(long n)
{
    long steps = 0;
    for (; n != 1; steps++) {
        n = (n % 2) ? 3 * n + 1 : n / 2;
    }
    struct timespec nap = {0, 5 * 1000 * 1000};
    nanosleep(&nap, NULL);
    return steps;
}

/* Runs on state_queue: the only place that touches `totals`. */
static void fold(void *ctx)
{
    long *result = ctx;
    totals.jobs += 1;
    totals.sum += *result;
}

static void job(void *ctx)
{
    long *slot = ctx;
    long index = slot - results;

    int now = atomic_fetch_add(&in_flight, 1) + 1;
    int seen = atomic_load(&max_in_flight);
    while (now > seen && !atomic_compare_exchange_weak(&max_in_flight, &seen, now)) {
    }

    if (index >= JOBS / 2 && snapshot.jobs_done > 0) {
        atomic_fetch_add(&saw_snapshot, 1); /* jobs after the barrier see its snapshot */
    }
    *slot = collatz_steps(index * 7919 + 27);

    atomic_fetch_sub(&in_flight, 1);
    TRY(rgcd_group_async_f(all_work, state_queue, slot, fold)); /* still counted in the group */
    int woke = rgcd_semaphore_signal(slots); /* hand the permit back (1: woke a waiter) */
    if (woke < 0) {
        fail("rgcd_semaphore_signal", woke);
    }
}

/* A barrier on `workers`: runs alone, after every earlier job and before any
 * later one, so it sees exactly the first half of the table, fully written. */
static void take_snapshot(void *ctx)
{
    (void)ctx;
    for (int i = 0; i < JOBS; i++) {
        if (results[i] != 0) { /* every job's result is > 0 */
            snapshot.jobs_done += 1;
            snapshot.partial_sum += results[i];
        }
    }
}

static void read_totals(void *ctx)
{
    *(struct totals *)ctx = totals;
}

int main(void)
{
    rgcd_time_t start = rgcd_time(RGCD_TIME_NOW, 0);

    workers = must(rgcd_queue_create("demo.workers", RGCD_QUEUE_CONCURRENT), "create workers");
    state_queue = must(rgcd_queue_create("demo.state", RGCD_QUEUE_SERIAL), "create state queue");
    all_work = must(rgcd_group_create(), "create group");
    slots = must(rgcd_semaphore_create(MAX_IN_FLIGHT), "create semaphore");

    for (int i = 0; i < JOBS; i++) {
        /* Take a permit before submitting: never more than 4 jobs out at once. */
        TRY(rgcd_semaphore_wait(slots, rgcd_time(RGCD_TIME_NOW, 10 * (int64_t)RGCD_NSEC_PER_SEC)));
        if (i == JOBS / 2) {
            /* Between the halves: runs once jobs 0..31 are done, before 32..63 start. */
            TRY(rgcd_barrier_async_f(workers, NULL, take_snapshot));
        }
        TRY(rgcd_group_async_f(all_work, workers, &results[i], job));
    }

    int waited = rgcd_group_wait(all_work, rgcd_time(RGCD_TIME_NOW, 10 * (int64_t)RGCD_NSEC_PER_SEC));
    if (waited < 0) {
        fail("rgcd_group_wait", waited); /* RGCD_TIMED_OUT (1) is reported below */
    }

    struct totals final_totals;
    TRY(rgcd_sync_f(state_queue, &final_totals, read_totals));
    double elapsed_ms = (double)(rgcd_time(RGCD_TIME_NOW, 0) - start) / 1e6;

    printf("rgcd demo\n");
    printf("  group wait:       %s\n", waited == RGCD_TIMED_OUT ? "TIMED OUT" : "all work finished");
    printf("  jobs run:         %d of %d (sum of results %ld)\n", final_totals.jobs, JOBS,
           final_totals.sum);
    printf("  max in flight:    %d (limit %d)\n", atomic_load(&max_in_flight), MAX_IN_FLIGHT);
    printf("  barrier snapshot: %d jobs done, partial sum %ld; seen by %d later jobs\n",
           snapshot.jobs_done, snapshot.partial_sum, atomic_load(&saw_snapshot));
    printf("  elapsed:          %.1f ms on %zu worker threads\n", elapsed_ms,
           rgcd_pool_thread_count());

    TRY(rgcd_release(slots));
    TRY(rgcd_release(all_work));
    TRY(rgcd_release(state_queue));
    TRY(rgcd_release(workers));
    return waited == 0 && final_totals.jobs == JOBS && atomic_load(&max_in_flight) <= MAX_IN_FLIGHT
               ? 0
               : 1;
}
