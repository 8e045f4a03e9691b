package rgcd

// #include "shim.h"
import "C"

import (
	"runtime"
	"runtime/debug"
	"unsafe"
)

// Data is an immutable byte buffer made of one or more regions of memory owned by rgcd
// (rgcd_data_t). Concat and Subrange share the regions of their operands instead of copying
// bytes. I/O handlers receive Data; Bytes copies it into Go memory.
//
// Close releases it; a finalizer releases a Data dropped without Close. Methods on a closed
// Data return ErrClosed (Len returns 0, Bytes nil). Data may be used from any goroutine.
type Data struct {
	handle
}

// wrapData makes a Go Data of a +1 handle (nil for NULL).
func wrapData(h C.rgcd_data_t) *Data {
	if h == nil {
		return nil
	}
	d := new(Data)
	setHandle(&d.handle, d, unsafe.Pointer(h))
	return d
}

// borrowData wraps a handle rgcd lends to a handler: the Go Data holds a reference of its own.
func borrowData(h C.rgcd_data_t) *Data {
	return wrapData(C.rgcd_go_data_retain(h))
}

// NewData returns a Data holding a copy of b. An empty b gives the empty Data.
func NewData(b []byte) (*Data, error) {
	var msg *C.char
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	h := C.rgcd_go_data_create(p, C.size_t(len(b)), &msg)
	runtime.KeepAlive(b)
	if h == nil {
		return nil, &Error{Op: "NewData", Status: ErrNoMemory, Message: takeMsg(msg)}
	}
	return wrapData(h), nil
}

func (d *Data) c() C.rgcd_data_t { return C.rgcd_data_t(d.ptr()) }

// Len returns the number of bytes.
func (d *Data) Len() int {
	h := d.c()
	if h == nil {
		return 0
	}
	n := C.rgcd_data_get_size(h)
	runtime.KeepAlive(d)
	return int(n)
}

// Bytes returns a copy of the bytes in Go memory (nil after Close; empty, not nil, for the
// empty Data).
func (d *Data) Bytes() []byte {
	h := d.c()
	if h == nil {
		return nil
	}
	b := copyData(h)
	runtime.KeepAlive(d)
	return b
}

// copyData copies the bytes of a live handle into a new slice.
func copyData(h C.rgcd_data_t) []byte {
	n := int(C.rgcd_data_get_size(h))
	b := make([]byte, n)
	if n > 0 {
		b = b[:C.rgcd_go_data_copy(h, unsafe.Pointer(&b[0]), C.size_t(n))]
	}
	return b
}

// Concat returns a new Data: the bytes of d followed by those of other, sharing their
// memory.
func (d *Data) Concat(other *Data) (*Data, error) {
	a, b := d.c(), other.c()
	if a == nil || b == nil {
		return nil, ErrClosed
	}
	var msg *C.char
	h := C.rgcd_go_data_concat(a, b, &msg)
	runtime.KeepAlive(d)
	runtime.KeepAlive(other)
	if h == nil {
		return nil, &Error{Op: "Data.Concat", Status: ErrInvalid, Message: takeMsg(msg)}
	}
	return wrapData(h), nil
}

// Subrange returns a new Data of length bytes of d from offset, clipped to its end (empty
// when offset is past the end), sharing its memory. Negative arguments are ErrInvalid.
func (d *Data) Subrange(offset, length int) (*Data, error) {
	if offset < 0 || length < 0 {
		return nil, &Error{Op: "Data.Subrange", Status: ErrInvalid, Message: "negative offset or length"}
	}
	h := d.c()
	if h == nil {
		return nil, ErrClosed
	}
	var msg *C.char
	r := C.rgcd_go_data_subrange(h, C.size_t(offset), C.size_t(length), &msg)
	runtime.KeepAlive(d)
	if r == nil {
		return nil, &Error{Op: "Data.Subrange", Status: ErrInvalid, Message: takeMsg(msg)}
	}
	return wrapData(r), nil
}

// regionsCall is what a slot holds during Regions.
type regionsCall struct {
	f        func(offset int, b []byte) bool
	panicked *capturedPanic
}

// Regions calls f for each contiguous region of d, in order, on the calling goroutine, with
// the region's offset in d and its bytes, until f returns false. b is rgcd's memory, valid
// only during the call: f must not keep it or modify it (copy what it needs). Regions
// reports whether every region was visited (true for the empty Data, which has none, and
// false after Close). A panic in f propagates to the caller.
func (d *Data) Regions(f func(offset int, b []byte) bool) bool {
	h := d.c()
	if h == nil {
		return false
	}
	call := &regionsCall{f: f}
	slot := slotPut(call)
	r := C.rgcd_go_data_apply(h, C.uintptr_t(slot))
	runtime.KeepAlive(d)
	slotFree(slot)
	call.panicked.repanic()
	return r.status == 1
}

//export rgcdGoDataRegion
func rgcdGoDataRegion(slot C.uintptr_t, offset C.size_t, buf *C.char, size C.size_t) (ok C.bool) {
	c := slotGet(uintptr(slot)).(*regionsCall)
	defer func() {
		if r := recover(); r != nil {
			c.panicked = &capturedPanic{r, debug.Stack()}
			ok = false
		}
	}()
	b := unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(size))
	return C.bool(c.f(int(offset), b[:len(b):len(b)]))
}

// Close releases the Data. Closing twice does nothing.
func (d *Data) Close() error { return d.close("Data.Close") }
