package rgcd

// #include <stdlib.h>
// #include "shim.h"
import "C"

import (
	"errors"
	"unsafe"
)

// Status is an rgcd status code (the RGCD_E* constants of rgcd.h). The negative codes are
// errors and are matched with errors.Is: errors.Is(err, rgcd.ErrDeadlock).
type Status int

// The statuses rgcd reports.
const (
	ErrInvalid      Status = C.RGCD_EINVAL  // a bad argument
	ErrType         Status = C.RGCD_ETYPE   // a handle of the wrong type
	ErrState        Status = C.RGCD_ESTATE  // an unbalanced call (Leave without Enter, Resume without Suspend)
	ErrDeadlock     Status = C.RGCD_EDEADLK // Sync onto the queue running the caller
	ErrNoMemory     Status = C.RGCD_ENOMEM  // out of memory or threads
	ErrPanic        Status = C.RGCD_EPANIC  // a panic inside rgcd (a bug: please report it)
	ErrNotSupported Status = C.RGCD_ENOTSUP // the operation does not apply to the object
)

// Error returns rgcd's description of the status.
func (s Status) Error() string { return "rgcd: " + C.GoString(C.rgcd_strerror(C.int(s))) }

// ErrClosed is returned by methods called on an object after its Close.
var ErrClosed = errors.New("rgcd: object is closed")

// Error is a failed rgcd call: the operation, rgcd's status and its message.
type Error struct {
	Op      string // the Go method, e.g. "Queue.Sync"
	Status  Status
	Message string // rgcd_last_error() of the failed call
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = C.GoString(C.rgcd_strerror(C.int(e.Status)))
	}
	return "rgcd: " + e.Op + ": " + msg
}

// Unwrap returns the Status, so that errors.Is(err, rgcd.ErrDeadlock) works.
func (e *Error) Unwrap() error { return e.Status }

// takeMsg converts a malloc'ed message from the shim and frees it.
func takeMsg(m *C.char) string {
	if m == nil {
		return ""
	}
	s := C.GoString(m)
	C.free(unsafe.Pointer(m))
	return s
}

// check turns a shim result into an error (nil for success and for RGCD_TIMED_OUT).
func check(op string, r C.rgcd_go_res) error {
	if r.status >= 0 {
		return nil
	}
	return &Error{Op: op, Status: Status(r.status), Message: takeMsg(r.msg)}
}
