package rgcd

// #include "shim.h"
import "C"

import (
	"sync"
	"time"
)

// Coalesced After on the global queues.
//
// A timer costs rgcd an entry in its heap and, when it fires, a C→Go callback, which costs
// more than most functions it would run. rgcd fires a timer anywhere in [deadline,
// deadline+leeway] (leeway: a tenth of the delay, at most 1 ms) and fires timers whose
// windows overlap together; After on a global queue goes one step further on the Go side:
// functions whose deadlines fall in the same short window share one rgcd timer. The window
// (the quantum) is a power of two no larger than a quarter of the leeway; the shared timer is
// set for the window's end, so no function runs before its own deadline, and one runs at most
// a quantum later than an rgcd timer of its own would have.
//
// When the shared timer fires, its functions go onto the global queue's Go-side queue
// (batch.go) and the callback drains it as a drainer does: a function that blocks gets the
// rest another drainer. Serial and concurrent queues keep one rgcd timer per function, which
// keeps After ordered with the queue's other work exactly as rgcd orders it.

// minQuantum: below this, a timer has a window of its own (delays under about 650 µs).
const minQuantum = 1 << 14 // ns

// afterBuckets holds the shared timers of one global queue, keyed by their deadline.
type afterBuckets struct {
	mu sync.Mutex
	m  map[int64][]func()
}

// clockBase pairs rgcd's clock (CLOCK_MONOTONIC nanoseconds, an rgcd_time_t) with Go's
// monotonic clock (the same clock), read once.
var clockBase = sync.OnceValues(func() (int64, time.Time) {
	return int64(C.rgcd_time(C.RGCD_TIME_NOW, 0)), time.Now()
})

// monotonicNow is rgcd's "now" (an absolute rgcd_time_t), read through Go's clock.
func monotonicNow() int64 {
	c, g := clockBase()
	return c + int64(time.Since(g))
}

// quantum is the window of a delay of d: a power of two, at most a quarter of rgcd's leeway
// for d; 0 when that would be below minQuantum.
func quantum(d time.Duration) int64 {
	leeway := min(int64(d)/10, int64(time.Millisecond))
	q := int64(minQuantum)
	if leeway/4 < q {
		return 0
	}
	for q*2 <= leeway/4 {
		q *= 2
	}
	return q
}

// windowEnd is the end of the window of length w (a power of two) that holds deadline: the
// shared timer's deadline, never before deadline and less than w after it.
func windowEnd(deadline, w int64) int64 { return (deadline + w - 1) &^ (w - 1) }

// after schedules f on global queue q (whose batch queue is b) d from now, sharing a timer
// with the functions due in the same window. It reports whether it took f (false: the delay
// is too short to share a timer; the caller gives f a timer of its own).
func (b *batchQueue) after(q *Queue, d time.Duration, f func()) (bool, error) {
	w := quantum(d)
	if w == 0 {
		return false, nil
	}
	if q.c() == nil {
		return true, ErrClosed
	}
	deadline := monotonicNow() + int64(d)
	at := windowEnd(deadline, w)
	b.timers.mu.Lock()
	if b.timers.m == nil {
		b.timers.m = make(map[int64][]func())
	}
	fs, shared := b.timers.m[at]
	b.timers.m[at] = append(fs, f)
	b.timers.mu.Unlock()
	if shared {
		return true, nil
	}
	if err := q.submit("Queue.After", C.RGCD_GO_AFTER_AT, nil, time.Duration(at), func() { b.fire(at) }); err != nil {
		// The handle was checked above and a global queue's is never released: not reached.
		panic(err)
	}
	return true, nil
}

// fire runs when the shared timer due at `at` fires: its functions join the Go-side queue,
// and this callback drains it.
func (b *batchQueue) fire(at int64) {
	b.timers.mu.Lock()
	fs := b.timers.m[at]
	delete(b.timers.m, at)
	b.timers.mu.Unlock()
	for _, f := range fs {
		b.q.push(f, nil)
	}
	b.drainQueued()
}
