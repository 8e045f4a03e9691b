package rgcd

// #include "shim.h"
import "C"

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// A SpecificKey names a queue-specific value (see Queue.SetSpecific). Make keys with
// NewSpecificKey, usually once, in a package-level variable.
type SpecificKey struct{ id uintptr }

var specificIDs atomic.Uintptr

// NewSpecificKey returns a key distinct from every other.
func NewSpecificKey() SpecificKey { return SpecificKey{specificIDs.Add(1)} }

// Values live here under a number that is never reused, passed to rgcd as the value's
// pointer; rgcd's destructor for it deletes the entry. A lookup racing a replacement thus
// finds either value or none, never a stranger's.
var (
	specificVals sync.Map // uintptr -> any
	specificNext atomic.Uintptr
)

// SetSpecific attaches value to the queue under key, replacing any earlier value; nil
// removes it. GetSpecific finds it from work running on the queue or on a queue that
// targets it.
func (q *Queue) SetSpecific(key SpecificKey, value any) error {
	h := q.c()
	if h == nil {
		return ErrClosed
	}
	var n uintptr
	if value != nil {
		n = specificNext.Add(1)
		specificVals.Store(n, value)
	}
	err := check("Queue.SetSpecific", C.rgcd_go_set_specific(h, C.uintptr_t(key.id), C.uintptr_t(n)))
	runtime.KeepAlive(q)
	if err != nil && n != 0 {
		specificVals.Delete(n)
	}
	return err
}

// Specific returns the value the queue holds under key (nil if none).
func (q *Queue) Specific(key SpecificKey) any {
	h := q.c()
	if h == nil {
		return nil
	}
	n := uintptr(C.rgcd_go_queue_get_specific(h, C.uintptr_t(key.id)))
	runtime.KeepAlive(q)
	return specificValue(n)
}

// GetSpecific returns the value under key of the queue running the caller, looked up on
// that queue and then along its targets (nil outside a queue or if none has it).
func GetSpecific(key SpecificKey) any {
	return specificValue(uintptr(C.rgcd_go_get_specific(C.uintptr_t(key.id))))
}

func specificValue(n uintptr) any {
	if n == 0 {
		return nil
	}
	v, _ := specificVals.Load(n)
	return v
}

//export rgcdGoSpecificDone
func rgcdGoSpecificDone(n C.uintptr_t) { specificVals.Delete(uintptr(n)) }
