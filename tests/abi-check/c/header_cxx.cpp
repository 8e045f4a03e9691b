// rgcd.h must compile on its own, twice, as strict C++11.
#include "rgcd.h"
#include "rgcd.h"

extern "C" int rgcd_abi_check_cxx(void);
extern "C" int rgcd_abi_check_cxx(void) {
    rgcd_queue_t q = nullptr;
    (void)q;
    return q == nullptr ? RGCD_OK : RGCD_EINVAL;
}
