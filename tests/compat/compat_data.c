/* dispatch_data's function API through <dispatch/dispatch.h> (no blocks): objects made with
 * rgcd_data_create, then dispatch_data_create_concat / _subrange / _map, copy_region,
 * get_size, dispatch_data_empty, and dispatch_retain/release on data. */
#define _POSIX_C_SOURCE 200809L
#include "compat_check.h"

#include <string.h>

int main(void)
{
    dispatch_data_t a = rgcd_data_create("hello ", 6, RGCD_DATA_DESTRUCTOR_DEFAULT);
    dispatch_data_t b = rgcd_data_create("world", 5, RGCD_DATA_DESTRUCTOR_NONE);
    CHECK(a != NULL && b != NULL, "create");
    dispatch_data_t ab = dispatch_data_create_concat(a, b);
    CHECK(dispatch_data_get_size(ab) == 11, "concat size");
    dispatch_data_t sub = dispatch_data_create_subrange(ab, 3, 5);
    const void *p = NULL;
    size_t n = 0;
    dispatch_data_t map = dispatch_data_create_map(sub, &p, &n);
    CHECK(map != NULL && n == 5 && memcmp(p, "lo wo", 5) == 0, "subrange + map");
    size_t off = 0;
    dispatch_data_t r = dispatch_data_copy_region(ab, 8, &off);
    CHECK(r != NULL && off == 6 && dispatch_data_get_size(r) == 5, "copy_region");
    CHECK(dispatch_data_get_size(dispatch_data_empty) == 0, "empty");
    dispatch_retain(a);
    dispatch_release(a);
    dispatch_data_t objs[] = {a, b, ab, sub, map, r};
    for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++)
        dispatch_release(objs[i]);
    return 0;
}
