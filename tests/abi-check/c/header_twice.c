/* rgcd.h must compile on its own, twice, as strict C99. */
#include "rgcd.h"
#include "rgcd.h"

int rgcd_abi_check_c(void);
int rgcd_abi_check_c(void) {
    rgcd_time_t t = RGCD_TIME_FOREVER;
    rgcd_function_t f = 0;
    rgcd_once_t once = 0;
    (void)f;
    (void)once;
    return t == RGCD_TIME_FOREVER ? RGCD_OK : RGCD_EINVAL;
}
