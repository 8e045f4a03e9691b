// rgcd.h and dispatch/dispatch.h as seen by C++11 (-std=c++11 -Wall -Wextra
// -Wpedantic -Werror): the declarations must compile, and link because they
// have C linkage. Built and linked by CTest.
#include <rgcd.h>
#include <rgcd.h>
#include <dispatch/dispatch.h>
#include <dispatch/private.h>

int main() {
    rgcd_time_t later = rgcd_time(RGCD_TIME_NOW, static_cast<int64_t>(RGCD_NSEC_PER_SEC));
    dispatch_time_t also_later =
        dispatch_time(DISPATCH_TIME_NOW, static_cast<int64_t>(NSEC_PER_SEC));
    return (later != RGCD_TIME_FOREVER && also_later != DISPATCH_TIME_FOREVER) ? 0 : 1;
}
