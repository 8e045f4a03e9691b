package rgcd

// #include <stdlib.h>
// #include "shim.h"
import "C"

import (
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// QoS is a quality-of-service class, with libdispatch's values. Work of a higher class is
// served first; background work runs at a lower OS priority.
type QoS uint32

// The QoS classes.
const (
	QoSUserInteractive QoS = C.RGCD_QOS_USER_INTERACTIVE
	QoSUserInitiated   QoS = C.RGCD_QOS_USER_INITIATED
	QoSDefault         QoS = C.RGCD_QOS_DEFAULT
	QoSUtility         QoS = C.RGCD_QOS_UTILITY
	QoSBackground      QoS = C.RGCD_QOS_BACKGROUND
	QoSUnspecified     QoS = C.RGCD_QOS_UNSPECIFIED
)

// Forever, as a timeout, waits without limit (any negative duration does).
const Forever time.Duration = -1

// A Queue runs functions: a serial queue one at a time in the order they were submitted, a
// concurrent queue several at once. Every queue's work runs on rgcd's one shared pool of
// threads (or, for Sync, on the caller's).
//
// Methods may be called from any goroutine. Close releases the queue; work already submitted
// still runs. A Queue must not be used after (or concurrently with) its Close: methods then
// return ErrClosed.
type Queue struct {
	handle
	batch *batchQueue // global queues: Async and Group.Go go through it (batch.go)
}

type queueConfig struct {
	concurrent bool
	inactive   bool
	qos        QoS
	target     *Queue
}

// An Option configures NewQueue.
type Option func(*queueConfig)

// Concurrent makes the queue concurrent: its functions run in parallel, barriers alone.
func Concurrent() Option { return func(c *queueConfig) { c.concurrent = true } }

// Inactive creates the queue inactive: nothing runs on it until Activate.
func Inactive() Option { return func(c *queueConfig) { c.inactive = true } }

// WithQoS sets the queue's QoS class (it then targets that class's global queue).
func WithQoS(q QoS) Option { return func(c *queueConfig) { c.qos = q } }

// WithTarget makes the queue's work run as part of target's.
func WithTarget(target *Queue) Option { return func(c *queueConfig) { c.target = target } }

// NewQueue creates a queue, serial unless Concurrent is given. The label names it in
// Label, debuggers and crash reports.
func NewQueue(label string, opts ...Option) (*Queue, error) {
	var cfg queueConfig
	for _, o := range opts {
		o(&cfg)
	}
	attr := C.rgcd_queue_attr_t(C.RGCD_QUEUE_SERIAL)
	if cfg.concurrent {
		attr |= C.RGCD_QUEUE_CONCURRENT
	}
	if cfg.inactive {
		attr |= C.RGCD_QUEUE_INACTIVE
	}
	attr |= C.rgcd_queue_attr_t(cfg.qos) << C.RGCD_QUEUE_QOS_SHIFT
	var target C.rgcd_queue_t
	if cfg.target != nil {
		if target = cfg.target.c(); target == nil {
			return nil, ErrClosed
		}
	}
	cl := C.CString(label)
	defer C.free(unsafe.Pointer(cl))
	var msg *C.char
	h := C.rgcd_go_queue_create(cl, attr, target, &msg)
	runtime.KeepAlive(cfg.target)
	if h == nil {
		return nil, &Error{Op: "NewQueue", Status: ErrInvalid, Message: takeMsg(msg)}
	}
	q := new(Queue)
	setHandle(&q.handle, q, unsafe.Pointer(h))
	return q, nil
}

var (
	globals   sync.Map   // QoS -> *Queue
	globalsMu sync.Mutex // serialises Global's creation of a *Queue
)

// Global returns the global concurrent queue of a QoS class. Global queues are shared by the
// whole process and never closed (Close does nothing).
func Global(qos QoS) *Queue {
	if q, ok := globals.Load(qos); ok {
		return q.(*Queue)
	}
	var msg *C.char
	h := C.rgcd_go_global_queue(C.intptr_t(qos), &msg)
	if h == nil {
		panic(&Error{Op: "Global", Status: ErrInvalid, Message: takeMsg(msg)})
	}
	globalsMu.Lock()
	defer globalsMu.Unlock()
	if q, ok := globals.Load(qos); ok {
		return q.(*Queue)
	}
	q := &Queue{handle: handle{borrowed: true}, batch: newBatchQueue(h)}
	q.p.Store((*byte)(unsafe.Pointer(h)))
	actual, _ := globals.LoadOrStore(qos, q)
	return actual.(*Queue)
}

var mainQueue = sync.OnceValue(func() *Queue {
	q := &Queue{handle: handle{borrowed: true}}
	q.p.Store((*byte)(unsafe.Pointer(C.rgcd_get_main_queue())))
	return q
})

// Main returns the main queue: serial, its work run on the main thread by RunMain.
func Main() *Queue { return mainQueue() }

// RunMain runs the main queue's work on the calling thread, forever (dispatch_main). It must
// be called from the main goroutine locked to the main thread (call runtime.LockOSThread in
// an init function of package main). End the program with os.Exit from some work item.
// It returns only on misuse.
func RunMain() error {
	return check("RunMain", C.rgcd_go_res{status: C.rgcd_main()})
}

func (q *Queue) c() C.rgcd_queue_t { return C.rgcd_queue_t(q.ptr()) }

// cHandle passes an rgcd handle (C memory) to the shim as an integer.
func cHandle(p unsafe.Pointer) C.uintptr_t { return C.uintptr_t(uintptr(p)) }

// Close releases the queue. Work submitted before still runs. Closing twice, or closing a
// global queue, does nothing.
func (q *Queue) Close() error { return q.close("Queue.Close") }

func (q *Queue) submit(op string, code C.int, g *Group, delay time.Duration, v any) error {
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
	slot := slotPut(v)
	r := C.rgcd_go_submit(code, cHandle(unsafe.Pointer(h)), cHandle(unsafe.Pointer(gh)),
		C.uintptr_t(slot), C.int64_t(delay))
	runtime.KeepAlive(q)
	runtime.KeepAlive(g)
	if r.status < 0 {
		slotFree(slot)
		return check(op, r)
	}
	return nil
}

// Async submits f to run on the queue and returns at once. On a global queue f waits in a
// Go-side queue that rgcd items drain in batches; a function that blocks does not hold up
// the others.
func (q *Queue) Async(f func()) error {
	if q.batch != nil {
		q.batch.push(f, nil)
		return nil
	}
	return q.submit("Queue.Async", C.RGCD_GO_ASYNC, nil, 0, f)
}

// BarrierAsync submits f as a barrier: on a concurrent queue it runs after the work submitted
// before it, alone, and work submitted after it waits for it. On a serial or global queue it
// is Async.
func (q *Queue) BarrierAsync(f func()) error {
	return q.submit("Queue.BarrierAsync", C.RGCD_GO_BARRIER_ASYNC, nil, 0, f)
}

// After submits f to run on the queue once d has passed (with d <= 0, at once). Like every
// rgcd timer it may run up to a tenth of d late (at most 1 ms), which lets timers due close
// together fire together; on a global queue, functions due within the same small window
// (a quarter of that leeway at most) share one timer (see after.go).
func (q *Queue) After(d time.Duration, f func()) error {
	if d < 0 {
		d = 0
	}
	if q.batch != nil {
		if took, err := q.batch.after(q, d, f); took {
			return err
		}
	}
	return q.submit("Queue.After", C.RGCD_GO_AFTER, nil, d, f)
}

func (q *Queue) sync(op string, code C.int, f func()) error {
	h := q.c()
	if h == nil {
		return ErrClosed
	}
	c := syncCallPool.Get().(*syncCall)
	c.f = f
	slot := slotPut(c)
	r := C.rgcd_go_submit(code, cHandle(unsafe.Pointer(h)), 0, C.uintptr_t(slot), 0)
	runtime.KeepAlive(q)
	slotFree(slot)
	p := c.panicked
	*c = syncCall{}
	syncCallPool.Put(c)
	if err := check(op, r); err != nil {
		return err
	}
	p.repanic()
	return nil
}

// Sync runs f on the queue and returns after it ran: on the calling thread whenever the
// queue is free, else after the work queued before it. A panic in f propagates to the
// caller. Sync onto a serial queue that is running the caller (directly or through its
// targets) returns an error matching ErrDeadlock, and f does not run.
func (q *Queue) Sync(f func()) error { return q.sync("Queue.Sync", C.RGCD_GO_SYNC, f) }

// BarrierSync is Sync as a barrier (alone on a concurrent queue).
func (q *Queue) BarrierSync(f func()) error {
	return q.sync("Queue.BarrierSync", C.RGCD_GO_BARRIER_SYNC, f)
}

// Apply calls f(i) for every i in [0, n) in parallel, on the queue (a serial queue: one after
// another), the calling thread taking part, and returns when all calls have returned. The
// first panic in f propagates to the caller after all calls returned.
func (q *Queue) Apply(n int, f func(i int)) error {
	return apply("Queue.Apply", n, q, f)
}

// Apply calls f(i) for every i in [0, n) in parallel on the shared pool, the calling thread
// taking part, and returns when all calls have returned. The first panic in f propagates to
// the caller after all calls returned.
func Apply(n int, f func(i int)) {
	if err := apply("Apply", n, nil, f); err != nil {
		panic(err)
	}
}

func apply(op string, n int, q *Queue, f func(int)) error {
	if n < 0 {
		return &Error{Op: op, Status: ErrInvalid, Message: "negative iteration count"}
	}
	var h C.rgcd_queue_t
	if q != nil {
		if h = q.c(); h == nil {
			return ErrClosed
		}
	}
	c := &applyCall{f: f}
	slot := slotPut(c)
	r := C.rgcd_go_apply(C.size_t(n), h, C.uintptr_t(slot))
	runtime.KeepAlive(q)
	slotFree(slot)
	if err := check(op, r); err != nil {
		return err
	}
	c.panicked.Load().repanic()
	return nil
}

// Suspend stops the queue from starting new work until a matching Resume. Nests.
func (q *Queue) Suspend() error { return q.object("Queue.Suspend", C.RGCD_GO_SUSPEND) }

// Resume undoes one Suspend (or activates an inactive queue that is not suspended).
func (q *Queue) Resume() error { return q.object("Queue.Resume", C.RGCD_GO_RESUME) }

// Activate starts a queue created Inactive. Activating an active queue does nothing.
func (q *Queue) Activate() error { return q.object("Queue.Activate", C.RGCD_GO_ACTIVATE) }

// SetTarget makes the queue's work run as part of target's (nil: the default global queue).
// It takes effect at once on an inactive or idle queue, else after the work queued before.
func (q *Queue) SetTarget(target *Queue) error {
	h := q.ptr()
	if h == nil {
		return ErrClosed
	}
	var t C.rgcd_queue_t
	if target != nil {
		if t = target.c(); t == nil {
			return ErrClosed
		}
	}
	err := check("Queue.SetTarget", C.rgcd_go_set_target(h, t))
	runtime.KeepAlive(q)
	runtime.KeepAlive(target)
	return err
}

// Label returns the label the queue was created with ("" once closed).
func (q *Queue) Label() string {
	h := q.c()
	if h == nil {
		return ""
	}
	l := C.GoString(C.rgcd_queue_get_label(h))
	runtime.KeepAlive(q)
	return l
}

// QoS returns the QoS class the queue was created with.
func (q *Queue) QoS() QoS {
	h := q.c()
	if h == nil {
		return QoSUnspecified
	}
	v := QoS(C.rgcd_queue_get_qos_class(h, nil))
	runtime.KeepAlive(q)
	return v
}

// CurrentLabel returns the label of the queue running the caller ("" outside any queue).
func CurrentLabel() string { return C.GoString(C.rgcd_queue_get_label(nil)) }
