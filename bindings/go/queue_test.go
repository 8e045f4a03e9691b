package rgcd

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func mustQueue(t testing.TB, label string, opts ...Option) *Queue {
	t.Helper()
	q, err := NewQueue(label, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

func mustGroup(t testing.TB) *Group {
	t.Helper()
	g, err := NewGroup()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

func TestSmoke(t *testing.T) {
	q := mustQueue(t, "smoke")
	var n atomic.Int32
	if err := q.Async(func() { n.Add(1) }); err != nil {
		t.Fatal(err)
	}
	if err := q.Sync(func() { n.Add(1) }); err != nil {
		t.Fatal(err)
	}
	if got := n.Load(); got != 2 {
		t.Fatalf("ran %d, want 2", got)
	}
	if q.Label() != "smoke" {
		t.Fatalf("label %q", q.Label())
	}
}

func TestSyncOntoOwnQueueIsDeadlock(t *testing.T) {
	q := mustQueue(t, "deadlock")
	var inner error
	ran := false
	if err := q.Sync(func() { inner = q.Sync(func() { ran = true }) }); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(inner, ErrDeadlock) {
		t.Fatalf("inner Sync: %v, want ErrDeadlock", inner)
	}
	var e *Error
	if !errors.As(inner, &e) || e.Message == "" || e.Op != "Queue.Sync" {
		t.Fatalf("error %#v lacks op or message", inner)
	}
	if ran {
		t.Fatal("the deadlocking function ran")
	}
	// The same from asynchronous work.
	done := make(chan error, 1)
	q.Async(func() { done <- q.Sync(func() {}) })
	select {
	case err := <-done:
		if !errors.Is(err, ErrDeadlock) {
			t.Fatalf("Sync from Async work: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("timed out")
	}
}

func TestMillionTasksThousandSerialQueues(t *testing.T) {
	liveCheck(t)
	const nq, per = 1000, 1000
	queues := make([]*Queue, nq)
	seen := make([][]int32, nq)
	for i := range queues {
		queues[i] = mustQueue(t, "fifo")
		seen[i] = make([]int32, 0, per)
	}
	g := mustGroup(t)
	for j := 0; j < per; j++ {
		for i, q := range queues {
			j := int32(j)
			s := &seen[i]
			if err := g.Go(q, func() { *s = append(*s, j) }); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !g.Wait(2 * time.Minute) {
		t.Fatal("tasks did not finish")
	}
	for i := range seen {
		if len(seen[i]) != per {
			t.Fatalf("queue %d ran %d tasks, want %d", i, len(seen[i]), per)
		}
		for j, v := range seen[i] {
			if v != int32(j) {
				t.Fatalf("queue %d: task %d ran at position %d", i, v, j)
			}
		}
	}
}

func TestConcurrentQueueBarrier(t *testing.T) {
	liveCheck(t)
	q := mustQueue(t, "concurrent", Concurrent())
	var before, after, running atomic.Int32
	var seenBefore, overlap atomic.Int32
	g := mustGroup(t)
	for i := 0; i < 100; i++ {
		g.Go(q, func() { running.Add(1); time.Sleep(10 * time.Microsecond); before.Add(1); running.Add(-1) })
	}
	q.BarrierAsync(func() {
		seenBefore.Store(before.Load())
		if running.Load() != 0 || after.Load() != 0 {
			overlap.Add(1)
		}
	})
	for i := 0; i < 100; i++ {
		g.Go(q, func() { after.Add(1) })
	}
	var inSync int32
	if err := q.BarrierSync(func() { inSync = before.Load() + after.Load() }); err != nil {
		t.Fatal(err)
	}
	g.Wait(Forever)
	if seenBefore.Load() != 100 || overlap.Load() != 0 || inSync != 200 {
		t.Fatalf("barrier saw %d earlier items (overlap %d), barrier sync saw %d", seenBefore.Load(), overlap.Load(), inSync)
	}
}

func TestAfter(t *testing.T) {
	liveCheck(t)
	q := mustQueue(t, "after")
	start := time.Now()
	ran := make(chan time.Duration, 1)
	if err := q.After(20*time.Millisecond, func() { ran <- time.Since(start) }); err != nil {
		t.Fatal(err)
	}
	if d := recv(t, ran); d < 20*time.Millisecond {
		t.Fatalf("After(20ms) ran after %v", d)
	}
}

func TestApply(t *testing.T) {
	hits := make([]atomic.Int32, 1000)
	Apply(len(hits), func(i int) { hits[i].Add(1) })
	for i := range hits {
		if hits[i].Load() != 1 {
			t.Fatalf("iteration %d ran %d times", i, hits[i].Load())
		}
	}
	q := mustQueue(t, "apply-serial")
	order := make([]int, 0, 10)
	if err := q.Apply(10, func(i int) { order = append(order, i) }); err != nil {
		t.Fatal(err)
	}
	for i, v := range order {
		if v != i {
			t.Fatalf("serial apply order %v", order)
		}
	}
	var n atomic.Int32
	v := panicsWith(func() {
		Apply(100, func(i int) {
			n.Add(1)
			if i == 7 {
				panic("boom7")
			}
		})
	})
	if v == nil || !strings.Contains(v.(string), "boom7") || n.Load() != 100 {
		t.Fatalf("Apply panic: %v after %d iterations", v, n.Load())
	}
	if err := q.Apply(-1, func(int) {}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("negative count: %v", err)
	}
}

func TestSyncPanicPropagates(t *testing.T) {
	q := mustQueue(t, "sync-panic")
	v := panicsWith(func() { q.Sync(func() { panic("in sync") }) })
	if v == nil || !strings.Contains(v.(string), "in sync") {
		t.Fatalf("recovered %v", v)
	}
	// The queue is still usable.
	ok := false
	q.Sync(func() { ok = true })
	if !ok {
		t.Fatal("queue stuck after a panic in Sync")
	}
}

func TestSuspendResumeActivate(t *testing.T) {
	liveCheck(t)
	q := mustQueue(t, "suspend")
	var n atomic.Int32
	if err := q.Suspend(); err != nil {
		t.Fatal(err)
	}
	q.Async(func() { n.Add(1) })
	time.Sleep(20 * time.Millisecond)
	if n.Load() != 0 {
		t.Fatal("work ran on a suspended queue")
	}
	if err := q.Resume(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "work after resume", func() bool { return n.Load() == 1 })
	if err := q.Resume(); !errors.Is(err, ErrState) {
		t.Fatalf("over-resume: %v", err)
	}

	inactive := mustQueue(t, "inactive", Inactive())
	inactive.Async(func() { n.Add(1) })
	time.Sleep(20 * time.Millisecond)
	if n.Load() != 1 {
		t.Fatal("work ran on an inactive queue")
	}
	if err := inactive.Activate(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "work after activate", func() bool { return n.Load() == 2 })
}

func TestTargetSerialises(t *testing.T) {
	liveCheck(t)
	root := mustQueue(t, "root")
	a := mustQueue(t, "a", WithTarget(root))
	b := mustQueue(t, "b")
	if err := b.SetTarget(root); err != nil {
		t.Fatal(err)
	}
	var running, overlap atomic.Int32
	g := mustGroup(t)
	work := func() {
		if running.Add(1) != 1 {
			overlap.Add(1)
		}
		time.Sleep(time.Microsecond)
		running.Add(-1)
	}
	for i := 0; i < 200; i++ {
		g.Go(a, work)
		g.Go(b, work)
	}
	g.Wait(Forever)
	if overlap.Load() != 0 {
		t.Fatalf("queues sharing a serial target overlapped %d times", overlap.Load())
	}
	// Sync onto the target from a queue that targets it is a deadlock too.
	var err error
	a.Sync(func() { err = root.Sync(func() {}) })
	if !errors.Is(err, ErrDeadlock) {
		t.Fatalf("sync onto own target: %v", err)
	}
	if err := root.SetTarget(a); !errors.Is(err, ErrInvalid) {
		t.Fatalf("target cycle: %v", err)
	}
}

func TestLabelQoSAndSpecific(t *testing.T) {
	liveCheck(t)
	q := mustQueue(t, "com.example.labelled", WithQoS(QoSUtility))
	if q.Label() != "com.example.labelled" || q.QoS() != QoSUtility {
		t.Fatalf("label %q qos %#x", q.Label(), q.QoS())
	}
	var inside string
	q.Sync(func() { inside = CurrentLabel() })
	if inside != "com.example.labelled" {
		t.Fatalf("CurrentLabel inside: %q", inside)
	}
	// Outside any queue: "", or the main queue's label when the goroutine happens to run on
	// the main thread (rgcd counts the main thread as the main queue's).
	if l := CurrentLabel(); l != "" && l != Main().Label() {
		t.Fatalf("CurrentLabel outside: %q", l)
	}

	key, other := NewSpecificKey(), NewSpecificKey()
	if err := q.SetSpecific(key, "parent value"); err != nil {
		t.Fatal(err)
	}
	if v := q.Specific(key); v != "parent value" {
		t.Fatalf("Specific: %v", v)
	}
	child := mustQueue(t, "child", WithTarget(q))
	got := make(chan [2]any, 1)
	child.Async(func() { got <- [2]any{GetSpecific(key), GetSpecific(other)} })
	if v := recv(t, got); v[0] != "parent value" || v[1] != nil {
		t.Fatalf("GetSpecific through the target: %v", v)
	}
	q.SetSpecific(key, 42)
	if v := q.Specific(key); v != 42 {
		t.Fatalf("replaced value: %v", v)
	}
	q.SetSpecific(key, nil)
	if v := q.Specific(key); v != nil {
		t.Fatalf("removed value: %v", v)
	}
	if GetSpecific(key) != nil {
		t.Fatal("GetSpecific outside a queue")
	}
}

func TestGlobalAndMain(t *testing.T) {
	for _, c := range []QoS{QoSUserInteractive, QoSUserInitiated, QoSDefault, QoSUtility, QoSBackground} {
		q := Global(c)
		if q != Global(c) {
			t.Fatal("Global is not cached")
		}
		done := make(chan struct{})
		q.Async(func() { close(done) })
		recv(t, done)
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
		if err := q.Async(func() {}); err != nil {
			t.Fatalf("a global queue after Close: %v", err)
		}
		if err := q.Suspend(); !errors.Is(err, ErrNotSupported) {
			t.Fatalf("suspending a global queue: %v", err)
		}
	}
	if Main() != Main() || Main().Label() == "" {
		t.Fatalf("main queue %q", Main().Label())
	}
}

func TestPanickingCallback(t *testing.T) {
	liveCheck(t)
	got := make(chan any, 4)
	old := SetPanicHandler(func(v any, stack []byte) {
		if len(stack) == 0 {
			v = "no stack"
		}
		got <- v
	})
	defer SetPanicHandler(old)
	q := mustQueue(t, "panics")
	q.Async(func() { panic("first") })
	after := make(chan struct{})
	q.Async(func() { close(after) })
	if v := recv(t, got); v != "first" {
		t.Fatalf("handler got %v", v)
	}
	recv(t, after) // the queue carried on
	g := mustGroup(t)
	g.Go(nil, func() { panic(errors.New("second")) })
	if !g.Wait(10 * time.Second) {
		t.Fatal("a panicking group task never left the group")
	}
	if v := recv(t, got); fmt.Sprint(v) != "second" {
		t.Fatalf("handler got %v", v)
	}
}

func TestCloseWhilePending(t *testing.T) {
	liveCheck(t)
	q, err := NewQueue("closing")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	gate := make(chan struct{})
	q.Async(func() { <-gate })
	for i := 0; i < 1000; i++ {
		q.Async(func() { n.Add(1) })
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := q.Async(func() {}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Async after Close: %v", err)
	}
	if err := q.Sync(func() {}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Sync after Close: %v", err)
	}
	close(gate)
	waitFor(t, 10*time.Second, "pending work after Close", func() bool { return n.Load() == 1000 })
}

func TestFinalizerReleases(t *testing.T) {
	liveCheck(t)
	for i := 0; i < 100; i++ {
		q, _ := NewQueue("dropped")
		g, _ := NewGroup()
		s, _ := NewSemaphore(1)
		g.Go(q, func() {})
		g.Wait(Forever)
		_ = s
	}
	// liveCheck runs the GC until the dropped objects are released.
}

func TestErrors(t *testing.T) {
	if _, err := NewSemaphore(-1); !errors.Is(err, ErrInvalid) {
		t.Fatalf("NewSemaphore(-1): %v", err)
	}
	if _, err := NewQueue("bad", WithQoS(0x7f)); err == nil {
		t.Fatal("NewQueue with an unknown QoS succeeded")
	}
	if _, err := NewReadSource(-1, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("read source on fd -1: %v", err)
	}
	var e *Error
	_, err := NewSemaphore(-1)
	if !errors.As(err, &e) || e.Message == "" || !strings.Contains(err.Error(), "NewSemaphore") {
		t.Fatalf("error %q has no message", err)
	}
	if ErrDeadlock.Error() == "" {
		t.Fatal("empty status text")
	}
}

// A serial queue's functions run in submission order, mixed with Sync, BarrierAsync, Group.Go and After, from
// several goroutines: each goroutine's own submissions stay in order, and a Sync sees every
// function its goroutine submitted before it.
func TestSerialOrderMixed(t *testing.T) {
	liveCheck(t)
	q := mustQueue(t, "order")
	g := mustGroup(t)
	const producers, per = 4, 20_000
	last := make([]int, producers) // touched only on q
	var bad atomic.Int32
	var wg sync.WaitGroup
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= per; i++ {
				check := func() {
					if last[p] != i-1 {
						bad.Add(1)
					}
					last[p] = i
				}
				var err error
				switch i % 4 {
				case 0:
					err = q.Async(check)
				case 1:
					err = q.BarrierAsync(check)
				case 2:
					err = g.Go(q, check)
				case 3:
					if i%1000 == 3 {
						err = q.Sync(func() {
							check()
							if last[p] != i {
								bad.Add(1)
							}
						})
					} else {
						err = q.Async(check)
					}
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	done := make(chan struct{})
	q.Async(func() { close(done) })
	recv(t, done)
	g.Wait(Forever)
	if bad.Load() != 0 {
		t.Fatalf("%d functions ran out of order", bad.Load())
	}
	for p, v := range last {
		if v != per {
			t.Fatalf("producer %d: last function run %d, want %d", p, v, per)
		}
	}
}
