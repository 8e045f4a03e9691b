/* rgcd.h must be self-contained, idempotent and warning-free as strict C99
 * (-std=c99 -Wall -Wextra -Wpedantic -Werror), and so must the libdispatch
 * compatibility header that builds on it. Built and linked by CTest. */
#include <rgcd.h>
#include <rgcd.h>
#include <dispatch/dispatch.h>
#include <dispatch/private.h>

int main(void) {
    rgcd_time_t later = rgcd_time(RGCD_TIME_NOW, (int64_t)RGCD_NSEC_PER_SEC);
    dispatch_time_t also_later = dispatch_time(DISPATCH_TIME_NOW, (int64_t)NSEC_PER_SEC);
    return (later != RGCD_TIME_FOREVER && also_later != DISPATCH_TIME_FOREVER) ? 0 : 1;
}
