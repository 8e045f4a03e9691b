package rgcd

// #include "shim.h"
import "C"

import (
	"runtime"
	"sync/atomic"
	"unsafe"
)

// A queue's function ring.
//
// Async, BarrierAsync and Group.Go onto a queue created by NewQueue do not put the function
// in the shared slot table: it goes into a ring of the queue's own, and rgcd gets an item
// whose context names the ring rather than the function. Each such item takes the oldest
// function from the ring when it runs. That holds because the ring is filled in the order
// in which its items reach rgcd (the producer holds ringMu from writing the cell to
// submitting the item) and because every item takes exactly one function: on a serial queue
// the k-th item therefore runs the k-th function; on a concurrent queue the items that
// started have taken exactly the functions submitted before them, which is what barriers
// need. A full ring (or a queue whose ring could not be set up) falls back to the slot
// table.
//
// Why: with the slot table, a function handed from one worker to another (a ping-pong
// between two serial queues) costs several cache-line transfers — the shard's free-stack
// head on both sides, the slot's line, the stack's link — while a ring's producer side
// stays with the thread that submits to that queue and its consumer side with the one that
// drains it.
//
// The ring lives in the rings table (slots.go) so that C holds only its number (plus one,
// as the queue's rgcd context); the queue's rgcd finalizer, which runs after the queue's
// last work, frees it.

const (
	ringBits = 7
	ringSize = 1 << ringBits
	ringMask = ringSize - 1
)

type ringCell struct {
	f   func()
	seq atomic.Uint64 // pos: free for the producer at pos; pos+1: holds the function of pos
}

type funcRing struct {
	head  atomic.Uint64 // next position a consumer takes
	_     [56]byte
	tail  uint64 // next position the producer fills (under Queue.ringMu)
	ctx   uintptr
	_     [48]byte
	cells [ringSize]ringCell
}

// submitRing submits f to q through the queue's ring as op (RGCD_GO_ASYNC,
// RGCD_GO_BARRIER_ASYNC or RGCD_GO_GROUP_ASYNC with g).
func (q *Queue) submitRing(op string, code C.int, g *Group, f func()) error {
	h := q.c()
	if h == nil {
		return ErrClosed
	}
	var gh C.rgcd_group_t
	if g != nil {
		if gh = g.c(); gh == nil {
			return ErrClosed
		}
	}
	q.ringMu.Lock()
	r := q.ring
	if r == nil {
		if q.ringOff {
			q.ringMu.Unlock()
			return q.submit(op, code, g, 0, f)
		}
		if r = q.newRing(h); r == nil {
			q.ringMu.Unlock()
			return q.submit(op, code, g, 0, f)
		}
	}
	pos := r.tail
	c := &r.cells[pos&ringMask]
	if c.seq.Load() != pos { // full: the consumer of pos-ringSize has not taken it yet
		q.ringMu.Unlock()
		return q.submit(op, code, g, 0, f)
	}
	c.f = f
	c.seq.Store(pos + 1)
	// Handles go as integers: a pointer argument would cost a cgocheck per call.
	res := C.rgcd_go_ring_submit(code, C.uintptr_t(uintptr(unsafe.Pointer(h))),
		C.uintptr_t(uintptr(unsafe.Pointer(gh))), C.uintptr_t(r.ctx))
	if res.status < 0 {
		c.f = nil
		c.seq.Store(pos)
	} else {
		r.tail = pos + 1
	}
	q.ringMu.Unlock()
	runtime.KeepAlive(q)
	runtime.KeepAlive(g)
	return check(op, res)
}

// newRing creates q's ring and makes rgcd free it with the queue (under ringMu). nil: the
// queue's context could not be set; the queue then uses the slot table.
func (q *Queue) newRing(h C.rgcd_queue_t) *funcRing {
	r := new(funcRing)
	for i := range r.cells {
		r.cells[i].seq.Store(uint64(i))
	}
	id := rings.put(r)
	r.ctx = id + 1 // a NULL context would disable the finalizer
	if C.rgcd_go_ring_attach(h, C.uintptr_t(r.ctx)) < 0 {
		rings.free(id)
		q.ringOff = true
		return nil
	}
	q.ring = r
	return r
}

//export rgcdGoRing
func rgcdGoRing(ctx C.uintptr_t) {
	r := rings.get(uintptr(ctx) - 1).(*funcRing)
	pos := r.head.Add(1) - 1
	c := &r.cells[pos&ringMask]
	// The cell was filled before the item reached rgcd; the load orders it for the race
	// detector and the memory model alike.
	for i := 0; c.seq.Load() != pos+1; i++ {
		snooze(i)
	}
	f := c.f
	c.f = nil
	c.seq.Store(pos + ringSize)
	runAsync(f)
}

//export rgcdGoRingFree
func rgcdGoRingFree(ctx C.uintptr_t) {
	rings.free(uintptr(ctx) - 1)
}
