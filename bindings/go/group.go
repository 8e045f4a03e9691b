package rgcd

// #include "shim.h"
import "C"

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// A Group tracks a set of functions (or any work bracketed by Enter and Leave) so that one
// can wait for all of them or be notified when they are done.
type Group struct {
	handle
	raw    C.rgcd_group_t // the handle, kept after Close for unhold (see batch.go)
	goRefs atomic.Int64   // functions of the group queued on a batch queue or running
	enters atomic.Int64   // Enter calls not yet balanced by Leave
	goMu   sync.Mutex     // serialises hold's enter from zero
}

// NewGroup creates an empty group.
func NewGroup() (*Group, error) {
	var msg *C.char
	h := C.rgcd_go_group_create(&msg)
	if h == nil {
		return nil, &Error{Op: "NewGroup", Status: ErrNoMemory, Message: takeMsg(msg)}
	}
	g := &Group{raw: h}
	setHandle(&g.handle, g, unsafe.Pointer(h))
	return g, nil
}

func (g *Group) c() C.rgcd_group_t { return C.rgcd_group_t(g.ptr()) }

// Close releases the group. Work in it still runs. Closing twice does nothing.
func (g *Group) Close() error { return g.close("Group.Close") }

// Go submits f to q (nil: the default global queue) as part of the group.
func (g *Group) Go(q *Queue, f func()) error {
	if q == nil {
		q = Global(QoSDefault)
	}
	if q.batch != nil {
		if g.c() == nil {
			return ErrClosed
		}
		if err := g.hold(&g.goRefs); err != nil {
			return err
		}
		q.batch.push(f, g)
		return nil
	}
	return q.submit("Group.Go", C.RGCD_GO_GROUP_ASYNC, g, 0, f)
}

// Notify submits f to q (nil: the default global queue) once the group is empty (at once if
// it is empty now).
func (g *Group) Notify(q *Queue, f func()) error {
	if q == nil {
		q = Global(QoSDefault)
	}
	return q.submit("Group.Notify", C.RGCD_GO_GROUP_NOTIFY, g, 0, f)
}

// Enter counts one more piece of outstanding work; balance it with Leave.
//
// Enter and Leave count on the Go side: only the first Enter of a run (from zero) and the
// Leave that brings the count back to zero call into rgcd.
func (g *Group) Enter() error {
	if g.c() == nil {
		return ErrClosed
	}
	return g.hold(&g.enters)
}

// Leave marks one piece of work done. Without a matching Enter it returns an error matching
// ErrState and changes nothing. A Leave balancing an Enter made before Close still counts.
func (g *Group) Leave() error {
	for {
		n := g.enters.Load()
		if n <= 0 {
			break
		}
		if g.enters.CompareAndSwap(n, n-1) {
			if n == 1 {
				C.rgcd_go_group_drop(g.raw)
			}
			return nil
		}
	}
	h := g.c()
	if h == nil {
		return ErrClosed
	}
	st := C.rgcd_group_leave(h)
	runtime.KeepAlive(g)
	if st < 0 {
		return &Error{Op: "Group.Leave", Status: Status(st), Message: "leave without a matching enter"}
	}
	return nil
}

// Wait waits until the group is empty or timeout passes (a negative timeout, such as
// Forever, waits without limit) and reports whether the group is empty.
func (g *Group) Wait(timeout time.Duration) bool {
	h := g.c()
	if h == nil {
		return false
	}
	st := C.rgcd_go_group_wait(h, C.int64_t(timeout))
	runtime.KeepAlive(g)
	return st == 0
}

// WaitContext waits until the group is empty (nil) or ctx is done (ctx.Err()).
func (g *Group) WaitContext(ctx context.Context) error {
	if g.Wait(0) {
		return nil
	}
	if ctx.Done() == nil {
		if !g.Wait(Forever) {
			return ErrClosed
		}
		return nil
	}
	done := make(chan struct{})
	if err := g.Notify(nil, func() { close(done) }); err != nil {
		return err
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
