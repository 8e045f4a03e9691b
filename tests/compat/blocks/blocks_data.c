/* dispatch_data through <dispatch/dispatch.h> with blocks (clang -fblocks): dispatch_data_create
 * with the DEFAULT (copy), FREE and a block destructor (run once, on the queue given, after
 * the last object using the bytes is released), concat, subrange, create_map, copy_region,
 * dispatch_data_apply (in order, stopping early) and dispatch_data_empty. */
#define _POSIX_C_SOURCE 200809L
#include <dispatch/dispatch.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../compat_check.h"

int main(void)
{
    dispatch_queue_t q = dispatch_queue_create("compat.data", NULL);
    CHECK(q != NULL, "queue");
    __block atomic_int destroyed = 0;

    char text[] = "abc";
    dispatch_data_t a = dispatch_data_create(text, 3, NULL, DISPATCH_DATA_DESTRUCTOR_DEFAULT);
    text[0] = 'X'; /* copied: a does not change */
    char *heap = malloc(3);
    memcpy(heap, "def", 3);
    dispatch_data_t b = dispatch_data_create(heap, 3, NULL, DISPATCH_DATA_DESTRUCTOR_FREE);
    char *mine = malloc(4);
    memcpy(mine, "ghij", 4);
    dispatch_data_t c = dispatch_data_create(mine, 4, q, ^{
        free(mine);
        atomic_fetch_add(&destroyed, 1);
    });
    CHECK(a && b && c, "dispatch_data_create");

    dispatch_data_t ab = dispatch_data_create_concat(a, b);
    dispatch_data_t abc = dispatch_data_create_concat(ab, c);
    CHECK(dispatch_data_get_size(abc) == 10, "size");

    char joined_buf[16] = {0};
    char *joined = joined_buf;
    __block size_t regions = 0;
    bool all = dispatch_data_apply(abc, ^bool(dispatch_data_t region, size_t offset, const void *buf, size_t size) {
        (void)region;
        memcpy(joined + offset, buf, size);
        regions++;
        return true;
    });
    CHECK(all && regions == 3 && strcmp(joined, "abcdefghij") == 0, "apply visits every region in order");
    __block size_t visited = 0;
    all = dispatch_data_apply(abc, ^bool(dispatch_data_t region, size_t offset, const void *buf, size_t size) {
        (void)region, (void)offset, (void)buf, (void)size;
        return ++visited < 2;
    });
    CHECK(!all && visited == 2, "apply stops when the block returns false");

    dispatch_data_t sub = dispatch_data_create_subrange(abc, 2, 6);
    const void *p = NULL;
    size_t n = 0;
    dispatch_data_t map = dispatch_data_create_map(sub, &p, &n);
    CHECK(n == 6 && memcmp(p, "cdefgh", 6) == 0, "subrange + map");
    size_t off = 0;
    dispatch_data_t region = dispatch_data_copy_region(abc, 5, &off);
    CHECK(region && off == 3 && dispatch_data_get_size(region) == 3, "copy_region");
    CHECK(dispatch_data_get_size(dispatch_data_empty) == 0, "dispatch_data_empty");
    CHECK(dispatch_data_create_subrange(abc, 50, 1) == dispatch_data_empty, "past the end is empty");

    dispatch_release(a);
    dispatch_release(b);
    dispatch_release(ab);
    dispatch_release(sub);
    dispatch_release(map);
    dispatch_release(region);
    dispatch_release(c);
    sleep_ms(20);
    CHECK(destroyed == 0, "the block destructor waits for the last object using the bytes");
    dispatch_release(abc);
    for (int i = 0; i < 10000 && destroyed == 0; i++)
        sleep_ms(1);
    CHECK(destroyed == 1, "the block destructor ran once");
    dispatch_release(q);
    return 0;
}
