/* stale_handles: a handle used after its last release is reported (RGCD_ETYPE), even when
 * new objects of the same kind are created at once — both allocators rgcd uses hand the most
 * recently freed block out first, so without rgcd's quarantine the old handle would name a
 * new object, and a second release would destroy someone else's queue. Checked for every
 * object kind: release A; create N more; then a second release of A, and a call that would
 * submit work or change state through A, fail with RGCD_ETYPE; the N new objects still work
 * and are freed once each. Also: A stays detectable after a few dozen other objects of its
 * kind were destroyed on the same thread (fewer than the quarantine's 64). Data objects and
 * I/O channels were freed at once before (no quarantine): a second release read freed
 * memory (found by Miri; the memcheck run of this test shows it too). */
#include "check.h"

#include <fcntl.h>
#include <stdatomic.h>

#define N 1000
#define CHURN 32 /* other objects destroyed between the release and the stale use */

static atomic_int must_not_run_calls;
static void must_not_run(void *ctx) {
  (void)ctx;
  atomic_fetch_add(&must_not_run_calls, 1);
}

static atomic_int ran;
static void count(void *ctx) {
  (void)ctx;
  atomic_fetch_add(&ran, 1);
}

enum kind { SERIAL, CONCURRENT, GROUP, SEMAPHORE, SOURCE, DATA, IO, NKINDS };
static const char *const names[NKINDS] = {"serial queue", "concurrent queue", "group",
                                          "semaphore", "source", "data", "I/O channel"};
static int devnull = -1; /* the fd of the I/O channels (each closes nothing: no cleanup) */

static void *create(enum kind k) {
  switch (k) {
  case SERIAL: return rgcd_queue_create("stale.serial", RGCD_QUEUE_SERIAL);
  case CONCURRENT: return rgcd_queue_create("stale.concurrent", RGCD_QUEUE_CONCURRENT);
  case GROUP: return rgcd_group_create();
  case SEMAPHORE: return rgcd_semaphore_create(0);
  case SOURCE: return rgcd_source_create(RGCD_SOURCE_TYPE_DATA_ADD, 0, 0, NULL);
  case DATA: return rgcd_data_create("abcd", 4, RGCD_DATA_DESTRUCTOR_DEFAULT);
  case IO: return rgcd_io_create(RGCD_IO_STREAM, devnull, NULL, NULL, NULL);
  default: return NULL;
  }
}

/* A call through a stale handle that would act on a live object of kind k. */
static void check_stale(enum kind k, void *stale) {
  switch (k) {
  case SERIAL:
  case CONCURRENT:
    CHECK_ERR(rgcd_async_f(stale, NULL, must_not_run), RGCD_ETYPE);
    CHECK_ERR(rgcd_sync_f(stale, NULL, must_not_run), RGCD_ETYPE);
    CHECK_ERR(rgcd_suspend(stale), RGCD_ETYPE);
    break;
  case GROUP:
    CHECK_ERR(rgcd_group_enter(stale), RGCD_ETYPE);
    CHECK_ERR(rgcd_group_async_f(stale, rgcd_get_global_queue(0, 0), NULL, must_not_run),
              RGCD_ETYPE);
    break;
  case SEMAPHORE:
    CHECK_ERR(rgcd_semaphore_signal(stale), RGCD_ETYPE);
    CHECK_ERR(rgcd_semaphore_wait(stale, RGCD_TIME_NOW), RGCD_ETYPE);
    break;
  case SOURCE:
    CHECK_ERR(rgcd_source_merge_data(stale, 1), RGCD_ETYPE);
    CHECK_ERR(rgcd_source_cancel(stale), RGCD_ETYPE);
    break;
  case DATA:
    CHECK(rgcd_data_create_concat(stale, stale) == NULL);
    CHECK_EQ(rgcd_data_get_size(stale), 0);
    break;
  case IO: CHECK_ERR(rgcd_io_close(stale, 0), RGCD_ETYPE); break;
  default: break;
  }
  CHECK_ERR(rgcd_retain(stale), RGCD_ETYPE);
  CHECK_ERR(rgcd_set_context(stale, &ran), RGCD_ETYPE);
  CHECK_ERR(rgcd_release(stale), RGCD_ETYPE);
  CHECK(strstr(rgcd_last_error(), "released already") != NULL);
}

/* The object works as a new one of its kind should. */
static void check_works(enum kind k, void *o) {
  switch (k) {
  case SERIAL:
  case CONCURRENT: CHECK_OK(rgcd_sync_f(o, NULL, count)); break;
  case GROUP:
    CHECK_OK(rgcd_group_wait(o, RGCD_TIME_NOW));
    CHECK_OK(rgcd_group_enter(o));
    CHECK_OK(rgcd_group_leave(o));
    break;
  case SEMAPHORE:
    CHECK_OK(rgcd_semaphore_signal(o));
    CHECK_OK(rgcd_semaphore_wait(o, RGCD_TIME_NOW));
    break;
  case SOURCE: CHECK_EQ(rgcd_source_testcancel(o), 0); break;
  case DATA: CHECK_EQ(rgcd_data_get_size(o), 4); break;
  case IO: CHECK_EQ(rgcd_io_get_descriptor(o), devnull); break;
  default: break;
  }
}

static void *fresh[N];

static void run(enum kind k) {
  size_t base = rgcd_debug_live_objects();
  int ran_before = atomic_load(&ran);

  /* Released, then N more created at once. */
  void *a = create(k);
  CHECK(a != NULL);
  CHECK_OK(rgcd_release(a));
  for (int i = 0; i < N; i++) {
    fresh[i] = create(k);
    CHECK(fresh[i] != NULL);
  }
  int reused = 0;
  for (int i = 0; i < N; i++) reused += fresh[i] == a;
  CHECK_EQ(reused, 0); /* the released memory was not handed out again */
  check_stale(k, a);
  for (int i = 0; i < N; i++) check_works(k, fresh[i]);
  if (k == SERIAL || k == CONCURRENT) CHECK_EQ(atomic_load(&ran) - ran_before, N);
  for (int i = 0; i < N; i++) {
    if (k == SOURCE) CHECK_OK(rgcd_source_cancel(fresh[i]));
    CHECK_OK(rgcd_release(fresh[i]));
  }

  /* Released, then CHURN others of the kind created and destroyed on this thread. */
  a = create(k);
  CHECK(a != NULL);
  CHECK_OK(rgcd_release(a));
  /* The quarantine counts every object destroyed on the thread: the last release of a
   * channel destroys a few internal ones too, so fewer channels fit. */
  int churn = k == IO ? CHURN / 4 : CHURN;
  for (int i = 0; i < churn; i++) {
    void *o = create(k);
    CHECK(o != NULL && o != a);
    check_works(k, o);
    if (k == SOURCE) CHECK_OK(rgcd_source_cancel(o));
    CHECK_OK(rgcd_release(o));
  }
  check_stale(k, a);

  uint64_t end = now_ns() + 10000000000ull;
  while (rgcd_debug_live_objects() > base && now_ns() < end) sleep_ms(1);
  if (rgcd_debug_live_objects() != base) {
    fprintf(stderr, "%s: %zu objects alive, expected %zu\n", names[k],
            (size_t)rgcd_debug_live_objects(), base);
    exit(1);
  }
}

int main(void) {
  start_watchdog(60);
  devnull = open("/dev/null", O_RDWR);
  CHECK(devnull >= 0);
  for (int k = 0; k < NKINDS; k++) run((enum kind)k);
  sleep_ms(50);
  CHECK_EQ(atomic_load(&must_not_run_calls), 0);
  return 0;
}
