package rgcd

// #include "shim.h"
import "C"

import (
	"runtime"
	"sync/atomic"
	"unsafe"
)

// handle is the part every rgcd object shares: the C handle (nil once closed) and the
// cleanup that releases it if the Go object is garbage collected without Close.
type handle struct {
	p        atomic.Pointer[byte]
	cleanup  runtime.Cleanup
	borrowed bool // global and main queues: never released
}

func releaseHandle(p unsafe.Pointer) { C.rgcd_release(C.rgcd_object_t(p)) }

// set stores a new +1 handle; owner is the Go object whose collection releases it.
func setHandle[T any](h *handle, owner *T, p unsafe.Pointer) {
	h.p.Store((*byte)(p))
	h.cleanup = runtime.AddCleanup(owner, releaseHandle, p)
}

func (h *handle) ptr() unsafe.Pointer { return unsafe.Pointer(h.p.Load()) }

// close releases the handle once; later calls do nothing.
func (h *handle) close(op string) error {
	if h.borrowed {
		return nil
	}
	p := h.p.Swap(nil)
	if p == nil {
		return nil
	}
	h.cleanup.Stop()
	return check(op, C.rgcd_go_object(C.RGCD_GO_RELEASE, unsafe.Pointer(p)))
}

// object calls a generic object operation (RGCD_GO_*).
func (h *handle) object(op string, code C.int) error {
	p := h.ptr()
	if p == nil {
		return ErrClosed
	}
	return check(op, C.rgcd_go_object(code, p))
}

// LiveObjects returns how many rgcd objects (queues other than the global and main queues,
// groups, semaphores and sources) exist in the process now, Go's and any C code's. Objects
// are freed asynchronously after their last release when work still holds them; tests poll
// it until it is back to an earlier value.
func LiveObjects() int { return int(C.rgcd_debug_live_objects()) }

// PoolThreads returns the number of rgcd worker threads alive now.
func PoolThreads() int { return int(C.rgcd_pool_thread_count()) }
