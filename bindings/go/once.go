package rgcd

// #include "shim.h"
import "C"

import (
	"sync/atomic"
	"unsafe"
)

// Once runs a function exactly once (rgcd_once_f). The zero value is ready to use; a Once
// must not be copied after first use.
type Once struct {
	pred atomic.Int64 // rgcd_once_t: 0, then ~0 once done
}

// Do calls f if and only if Do is being called for the first time on o. Concurrent callers
// return only after f has returned. A panic in f propagates to the caller that ran it; o
// then counts as done.
func (o *Once) Do(f func()) {
	if o.pred.Load() == -1 {
		return
	}
	c := &syncCall{f: f}
	slot := slotPut(c)
	C.rgcd_go_once((*C.rgcd_once_t)(unsafe.Pointer(&o.pred)), C.uintptr_t(slot))
	slotFree(slot)
	c.panicked.repanic()
}
