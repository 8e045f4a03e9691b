package rgcd

// #include "shim.h"
import "C"

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Batched submission to the global queues.
//
// A C→Go callback costs more than most Go functions it would run (the runtime takes a P and
// a global lock on every callback from a thread not currently in a cgo call), so Async and
// Group.Go onto a global queue do not give rgcd one item per function. The function goes
// onto a Go-side queue (funcQueue, one per global queue) and rgcd gets a *drainer*: one work
// item whose callback runs queued functions one after another.
//
// Blocked work never starves the rest: at most one drainer is pending (submitted to rgcd but
// not started yet; the pending flag); a drainer clears the flag when it starts and, before it
// runs each function, submits a new pending drainer if functions are still queued and none is
// pending. So whenever a function runs and others wait, rgcd holds an item that will run
// them, and rgcd's pool decides how many drainers run at once: when a function blocks, rgcd
// starts the pending drainer on another worker, as it would have started the next item. A
// producer submits a drainer after queuing when none is pending (a drainer that started
// clears the flag before it looks at the queue, and the producer looks at the flag after
// queuing: one of the two sees the other). A drainer also returns to rgcd after
// drainBudget, so other work of the same class gets a worker.
//
// Group.Go onto a global queue counts its functions on the Go side (Group.goRefs) and holds
// one rgcd enter (and a reference to the group) while the count is above zero (Group.hold;
// Enter and Leave work the same way on Group.enters). A drainer
// adds up the completions of consecutive functions of one group and subtracts them before it
// runs a function of another group (or none): while it runs a function of the same group,
// that group cannot be empty anyway.

const drainBudget = time.Millisecond

// batchQueue is the Go side of one global queue.
type batchQueue struct {
	q       funcQueue
	pending atomic.Int32 // 1: a drainer is submitted and has not started
	_       [60]byte
	h       C.rgcd_queue_t // the global queue (never released)
	id      uintptr        // index in batchQueues: the drainer's context
	timers  afterBuckets   // After's shared timers (after.go)
}

const maxBatchQueues = 16

var (
	batchQueues   [maxBatchQueues]atomic.Pointer[batchQueue]
	batchQueuesMu sync.Mutex
	batchQueueN   int
)

// newBatchQueue returns the batch queue of global queue h, registering it the first time
// (nil when the table is full: that global queue then gets one rgcd item per function).
func newBatchQueue(h C.rgcd_queue_t) *batchQueue {
	batchQueuesMu.Lock()
	defer batchQueuesMu.Unlock()
	for i := 0; i < batchQueueN; i++ {
		if b := batchQueues[i].Load(); b.h == h {
			return b
		}
	}
	if batchQueueN == maxBatchQueues {
		return nil
	}
	b := &batchQueue{h: h, id: uintptr(batchQueueN)}
	batchQueues[batchQueueN].Store(b)
	batchQueueN++
	return b
}

// push queues f (as part of g, whose goRefs the caller counted) and makes sure a drainer
// will run it.
func (b *batchQueue) push(f func(), g *Group) {
	b.q.push(f, g)
	if b.pending.Load() == 0 && b.pending.CompareAndSwap(0, 1) {
		b.submitDrainer()
	}
}

// submitDrainer gives rgcd a drainer (the caller set pending). rgcd_async_f onto a global
// queue fails only on a bad handle, which a global queue's is not.
func (b *batchQueue) submitDrainer() {
	if st := C.rgcd_go_drain_submit(cHandle(unsafe.Pointer(b.h)), C.uintptr_t(b.id)); st < 0 {
		panic(&Error{Op: "Queue.Async", Status: Status(st), Message: "submitting a drainer failed"})
	}
}

// ensureDrainer submits a drainer if functions are queued and none is pending.
func (b *batchQueue) ensureDrainer() {
	if b.pending.Load() == 0 && !b.q.empty() && b.pending.CompareAndSwap(0, 1) {
		b.submitDrainer()
	}
}

//export rgcdGoDrain
func rgcdGoDrain(id C.uintptr_t) {
	batchQueues[id].Load().drain()
}

func (b *batchQueue) drain() {
	b.pending.Store(0)
	b.drainQueued()
}

// drainQueued runs queued functions as a drainer (for drainBudget at most), making sure a
// drainer is pending while functions wait behind the one running.
func (b *batchQueue) drainQueued() {
	var (
		g     *Group // group of the functions run since the last flush
		done  int64  // how many of them (not yet subtracted from g.goRefs)
		start time.Time
	)
	for n := 0; ; n++ {
		f, fg, ok := b.q.pop()
		if !ok {
			break
		}
		b.ensureDrainer()
		if fg != g {
			if done > 0 {
				g.unhold(&g.goRefs, done)
			}
			g, done = fg, 0
		}
		runAsync(f)
		if g != nil {
			done++
		}
		if n&63 == 0 {
			if n == 0 {
				start = time.Now()
			} else if time.Since(start) > drainBudget {
				break
			}
		}
	}
	if done > 0 {
		g.unhold(&g.goRefs, done)
	}
	b.ensureDrainer()
}

// runAsync runs an asynchronous function, reporting its panic.
func runAsync(f func()) {
	defer recoverAsync()
	f()
}

// hold counts one more unit on n (g.goRefs or g.enters). The first one (from zero) enters
// the rgcd group and retains it, under goMu so that no other caller returns before the
// enter is done.
func (g *Group) hold(n *atomic.Int64) error {
	for {
		v := n.Load()
		if v == 0 {
			break
		}
		if n.CompareAndSwap(v, v+1) {
			return nil
		}
	}
	g.goMu.Lock()
	defer g.goMu.Unlock()
	for {
		v := n.Load()
		if v == 0 {
			// Only this path (under goMu) increments from zero, and nothing decrements from
			// zero: the count stays zero until the Add below.
			h := g.c()
			if h == nil {
				return ErrClosed
			}
			C.rgcd_go_group_hold(h)
			runtime.KeepAlive(g)
			n.Add(1)
			return nil
		}
		if n.CompareAndSwap(v, v+1) {
			return nil
		}
	}
}

// unhold subtracts k units from n; the last one leaves the rgcd group and drops the
// reference hold took.
func (g *Group) unhold(n *atomic.Int64, k int64) {
	if n.Add(-k) == 0 {
		C.rgcd_go_group_drop(g.raw)
	}
}

// funcQueue is an unbounded multi-producer multi-consumer FIFO of (func, group) pairs:
// crossbeam's SegQueue, with Go's garbage collector reclaiming blocks. Indices advance by 2
// (bit 0 of the head index says that the head block has a successor); a block has
// segLap-1 cells, the index after the last one marks a block being installed.
type funcQueue struct {
	headIdx   atomic.Uint64
	headBlock atomic.Pointer[segBlock]
	seenTail  atomic.Uint64 // a tail index some consumer read (tailIdx only grows)
	_         [40]byte
	tailIdx   atomic.Uint64
	tailBlock atomic.Pointer[segBlock]
	_         [48]byte
}

const (
	segLap     = 64
	segCap     = segLap - 1
	segShift   = 1
	segHasNext = 1
)

type segCell struct {
	f     func()
	g     *Group
	ready atomic.Uint32
}

type segBlock struct {
	next  atomic.Pointer[segBlock]
	cells [segCap]segCell
}

func (b *segBlock) waitNext() *segBlock {
	for i := 0; ; i++ {
		if n := b.next.Load(); n != nil {
			return n
		}
		snooze(i)
	}
}

// snooze backs off while another thread finishes a step it has started (install a block,
// write a cell): spin first, then yield the P.
func snooze(i int) {
	if i < 16 {
		for j := 0; j < 1<<i && j < 64; j++ {
			spinHint()
		}
		return
	}
	runtime.Gosched()
}

//go:noinline
func spinHint() {}

func (q *funcQueue) push(f func(), g *Group) {
	tail := q.tailIdx.Load()
	block := q.tailBlock.Load()
	var next *segBlock
	for i := 0; ; {
		offset := (tail >> segShift) % segLap
		if offset == segCap { // another producer is installing the next block
			snooze(i)
			i++
			tail = q.tailIdx.Load()
			block = q.tailBlock.Load()
			continue
		}
		if offset+1 == segCap && next == nil {
			next = new(segBlock)
		}
		if block == nil { // the first push
			nb := new(segBlock)
			if q.tailBlock.CompareAndSwap(nil, nb) {
				q.headBlock.Store(nb)
				block = nb
			} else {
				next = nb
				tail = q.tailIdx.Load()
				block = q.tailBlock.Load()
				continue
			}
		}
		newTail := tail + 1<<segShift
		if q.tailIdx.CompareAndSwap(tail, newTail) {
			if offset+1 == segCap { // filled the block: install the next one
				q.tailBlock.Store(next)
				q.tailIdx.Add(1 << segShift)
				block.next.Store(next)
			}
			c := &block.cells[offset]
			c.f, c.g = f, g
			c.ready.Store(1)
			return
		}
		tail = q.tailIdx.Load()
		block = q.tailBlock.Load()
	}
}

func (q *funcQueue) pop() (func(), *Group, bool) {
	head := q.headIdx.Load()
	block := q.headBlock.Load()
	for i := 0; ; {
		offset := (head >> segShift) % segLap
		if offset == segCap { // another consumer is moving to the next block
			snooze(i)
			i++
			head = q.headIdx.Load()
			block = q.headBlock.Load()
			continue
		}
		newHead := head + 1<<segShift
		if newHead&segHasNext == 0 {
			// Read the producers' tail index only when the one seen last does not show
			// a cell beyond head, so that consumers behind the producers leave its cache
			// line alone.
			tail := q.seenTail.Load()
			if head>>segShift >= tail>>segShift {
				tail = q.tailIdx.Load()
				q.seenTail.Store(tail)
				if head>>segShift == tail>>segShift {
					return nil, nil, false
				}
			}
			if (head>>segShift)/segLap != (tail>>segShift)/segLap {
				newHead |= segHasNext
			}
		}
		if block == nil { // the first push has not installed the block yet
			snooze(i)
			i++
			head = q.headIdx.Load()
			block = q.headBlock.Load()
			continue
		}
		if q.headIdx.CompareAndSwap(head, newHead) {
			if offset+1 == segCap { // took the block's last cell: move to the next block
				next := block.waitNext()
				nextIdx := (newHead &^ segHasNext) + 1<<segShift
				if next.next.Load() != nil {
					nextIdx |= segHasNext
				}
				q.headBlock.Store(next)
				q.headIdx.Store(nextIdx)
			}
			c := &block.cells[offset]
			for j := 0; c.ready.Load() == 0; j++ {
				snooze(j)
			}
			f, g := c.f, c.g
			c.f, c.g = nil, nil
			return f, g, true
		}
		head = q.headIdx.Load()
		block = q.headBlock.Load()
	}
}

// empty reports whether no function is queued (or being queued).
func (q *funcQueue) empty() bool {
	return q.headIdx.Load()>>segShift == q.tailIdx.Load()>>segShift
}
