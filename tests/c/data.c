/* data: immutable buffers made of regions. Create (copied, taken over with free, borrowed, or
 * with a destructor function run once on a queue when the bytes are no longer needed), concat
 * and subrange without copying (the regions point into the same memory), create_map (the same
 * object when contiguous, a copy when not), copy_region, apply (in order, stopping early),
 * size, the empty object, bad input; then every object is freed and each destructor ran once. */
#include "check.h"

#include <stdatomic.h>
#include <stdbool.h>

static atomic_int destructed;
static rgcd_queue_t destructor_queue;
static atomic_int on_right_queue;

static void destructor(void *ctx) {
  if (strcmp(rgcd_queue_get_label(NULL), "data.destructors") == 0) atomic_fetch_add(&on_right_queue, 1);
  free(ctx);
  atomic_fetch_add(&destructed, 1);
}

struct collect {
  char buf[64];
  size_t len, regions, stop_after;
  size_t offsets[8];
  const void *ptrs[8];
};

static bool collect(void *ctx, rgcd_data_t region, size_t offset, const void *buffer, size_t size) {
  struct collect *c = ctx;
  CHECK(region != NULL && rgcd_data_get_size(region) >= size);
  CHECK(offset == c->len);
  memcpy(c->buf + c->len, buffer, size);
  c->len += size;
  c->offsets[c->regions] = offset;
  c->ptrs[c->regions] = buffer;
  c->regions++;
  return c->stop_after == 0 || c->regions < c->stop_after;
}

static void contents(rgcd_data_t d, const char *want) {
  struct collect c = {0};
  CHECK_EQ(rgcd_data_apply_f(d, &c, collect), 1);
  CHECK_EQ(c.len, strlen(want));
  CHECK(memcmp(c.buf, want, c.len) == 0);
  CHECK_EQ(rgcd_data_get_size(d), strlen(want));
}

int main(void) {
  start_watchdog(60);
  size_t base = rgcd_debug_live_objects();
  destructor_queue = rgcd_queue_create("data.destructors", RGCD_QUEUE_SERIAL);
  CHECK(destructor_queue != NULL);

  /* Copied: the caller's buffer can change after. */
  char stack[] = "hello ";
  rgcd_data_t a = rgcd_data_create(stack, 6, RGCD_DATA_DESTRUCTOR_DEFAULT);
  CHECK(a != NULL);
  stack[0] = 'X';
  contents(a, "hello ");

  /* Taken over (free), and with a destructor function on a queue. */
  char *heap = malloc(5);
  memcpy(heap, "world", 5);
  rgcd_data_t b = rgcd_data_create(heap, 5, RGCD_DATA_DESTRUCTOR_FREE);
  char *mine = malloc(3);
  memcpy(mine, "!!!", 3);
  rgcd_data_t c = rgcd_data_create_f(mine, 3, destructor_queue, mine, destructor);
  static const char fixed[] = "static";
  rgcd_data_t s = rgcd_data_create(fixed, 6, RGCD_DATA_DESTRUCTOR_NONE);
  CHECK(b != NULL && c != NULL && s != NULL);

  /* Concat shares the bytes: the regions point into b's and c's buffers. */
  rgcd_data_t ab = rgcd_data_create_concat(a, b);
  rgcd_data_t abc = rgcd_data_create_concat(ab, c);
  contents(abc, "hello world!!!");
  struct collect col = {0};
  CHECK_EQ(rgcd_data_apply_f(abc, &col, collect), 1);
  CHECK_EQ(col.regions, 3);
  CHECK(col.ptrs[1] == heap && col.ptrs[2] == mine);
  CHECK_EQ(col.offsets[2], 11);

  /* Stopping early. */
  struct collect stop = {.stop_after = 2};
  CHECK_EQ(rgcd_data_apply_f(abc, &stop, collect), 0);
  CHECK_EQ(stop.regions, 2);

  /* Subranges: inside one region, across regions, clipped, past the end. */
  rgcd_data_t sub = rgcd_data_create_subrange(abc, 4, 5);
  contents(sub, "o wor");
  struct collect sc = {0};
  rgcd_data_apply_f(sub, &sc, collect);
  CHECK_EQ(sc.regions, 2);
  CHECK(sc.ptrs[1] == heap);
  rgcd_data_t tail = rgcd_data_create_subrange(abc, 12, 100);
  contents(tail, "!!");
  CHECK(rgcd_data_create_subrange(abc, 14, 1) == rgcd_data_empty());

  /* Map: contiguous data maps to itself; a composite to a new copy. */
  const void *p = NULL;
  size_t n = 0;
  rgcd_data_t m1 = rgcd_data_create_map(b, &p, &n);
  CHECK(m1 == b && p == heap && n == 5);
  rgcd_data_t m2 = rgcd_data_create_map(abc, &p, &n);
  CHECK(m2 != abc && n == 14 && memcmp(p, "hello world!!!", 14) == 0);

  /* copy_region: the region holding a location, and where it starts. */
  size_t off = 99;
  rgcd_data_t r = rgcd_data_copy_region(abc, 7, &off);
  CHECK(r != NULL && off == 6);
  contents(r, "world");
  CHECK_NULL_ERR(rgcd_data_copy_region(abc, 14, &off));

  /* The empty object: borrowed, size 0, no regions. */
  rgcd_data_t e = rgcd_data_empty();
  CHECK_EQ(rgcd_data_get_size(e), 0);
  CHECK_OK(rgcd_retain(e));
  CHECK_OK(rgcd_release(e));
  CHECK_OK(rgcd_release(e));
  CHECK(rgcd_data_create(NULL, 0, RGCD_DATA_DESTRUCTOR_DEFAULT) == e);
  CHECK(rgcd_data_create_concat(e, a) == a); /* +1 on a */
  CHECK_OK(rgcd_release(a));
  contents(e, "");

  /* Bad input. */
  CHECK_NULL_ERR(rgcd_data_create(NULL, 4, RGCD_DATA_DESTRUCTOR_DEFAULT));
  CHECK_NULL_ERR(rgcd_data_create(stack, 4, 99));
  CHECK_NULL_ERR(rgcd_data_create_f(stack, 4, NULL, NULL, NULL));
  CHECK_NULL_ERR(rgcd_data_create_concat(a, NULL));
  CHECK_NULL_ERR(rgcd_data_create_subrange((rgcd_data_t)destructor_queue, 0, 1));
  CHECK_ERR(rgcd_data_apply_f(a, NULL, NULL), RGCD_EINVAL);
  CHECK_ERR(rgcd_set_context(a, stack), RGCD_ENOTSUP);
  CHECK_ERR(rgcd_suspend(a), RGCD_ENOTSUP);

  /* The destructor runs once, on its queue, after the last object using the bytes goes. */
  rgcd_data_t objs[] = {a, b, c, s, ab, abc, sub, m1, m2, r};
  for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++) CHECK_OK(rgcd_release(objs[i]));
  sleep_ms(20);
  CHECK_EQ(atomic_load(&destructed), 0); /* `tail` still uses c's bytes */
  CHECK_OK(rgcd_release(tail));
  WAIT_UNTIL(atomic_load(&destructed) == 1, 10000);
  CHECK_EQ(atomic_load(&on_right_queue), 1);
  CHECK_OK(rgcd_release(destructor_queue));
  check_quiet_and_freed(base, "data");
  CHECK_EQ(atomic_load(&destructed), 1);
  return 0;
}
