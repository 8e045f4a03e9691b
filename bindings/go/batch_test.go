package rgcd

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Tests of the batched path (batch.go): Async and Group.Go onto a global queue.

// Every function runs exactly once, from several submitting goroutines and every QoS class.
func TestGlobalExactlyOnce(t *testing.T) {
	liveCheck(t)
	const producers, per = 4, 50_000
	ran := make([]atomic.Int32, producers*per)
	g := mustGroup(t)
	var plain sync.WaitGroup
	classes := []QoS{QoSUserInteractive, QoSUserInitiated, QoSDefault, QoSUtility, QoSBackground}
	var wg sync.WaitGroup
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := p * per; i < (p+1)*per; i++ {
				q := Global(classes[i%len(classes)])
				if i%2 == 0 {
					if err := g.Go(q, func() { ran[i].Add(1) }); err != nil {
						t.Error(err)
						return
					}
				} else {
					plain.Add(1)
					if err := q.Async(func() { ran[i].Add(1); plain.Done() }); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if !g.Wait(30 * time.Second) {
		t.Fatal("group not empty after 30 s")
	}
	for i := 0; i < len(ran); i += 2 {
		if n := ran[i].Load(); n != 1 {
			t.Fatalf("group function %d ran %d times when Wait returned", i, n)
		}
	}
	plain.Wait()
	for i := range ran {
		if n := ran[i].Load(); n != 1 {
			t.Fatalf("function %d ran %d times", i, n)
		}
	}
}

// Functions that block do not hold up the ones queued behind them: 200 functions wait for
// the 201st, with one P and with the default.
func TestGlobalBlockedWorkDoesNotStarve(t *testing.T) {
	for _, procs := range []int{1, runtime.GOMAXPROCS(0)} {
		t.Run(fmt.Sprint("GOMAXPROCS=", procs), func(t *testing.T) {
			liveCheck(t)
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			const blocked = 200
			release := make(chan struct{})
			g := mustGroup(t)
			var n atomic.Int32
			for i := 0; i < blocked; i++ {
				g.Go(nil, func() { <-release; n.Add(1) })
			}
			g.Go(nil, func() { close(release) })
			if !g.Wait(30 * time.Second) {
				t.Fatalf("%d of %d blocked functions done after 30 s", n.Load(), blocked)
			}
			// A semaphore wait blocks inside rgcd (a cgo call) rather than in Go.
			s, err := NewSemaphore(0)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for i := 0; i < 50; i++ {
				g.Go(nil, func() { s.Wait(Forever) })
			}
			g.Go(nil, func() {
				for i := 0; i < 50; i++ {
					s.Signal()
				}
			})
			if !g.Wait(30 * time.Second) {
				t.Fatal("semaphore waiters not done after 30 s")
			}
		})
	}
}

// Wait returns only after every function submitted before it ran (the race detector checks
// the happens-before), with groups used from several goroutines at once.
func TestGroupGoWait(t *testing.T) {
	liveCheck(t)
	var wg sync.WaitGroup
	for p := 0; p < 4; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g, err := NewGroup()
			if err != nil {
				t.Error(err)
				return
			}
			defer g.Close()
			for round := 0; round < 2000; round++ {
				var a, b int
				g.Go(nil, func() { a = round })
				g.Go(Global(QoSUtility), func() { b = round })
				if !g.Wait(10 * time.Second) {
					t.Error("Wait timed out")
					return
				}
				if a != round || b != round {
					t.Errorf("round %d: Wait returned before the work ran (%d, %d)", round, a, b)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// A group shared by batched and unbatched work, Enter/Leave and Notify.
func TestGroupMixed(t *testing.T) {
	liveCheck(t)
	g := mustGroup(t)
	q := mustQueue(t, "mixed")
	gate := make(chan struct{})
	var n atomic.Int32
	for i := 0; i < 100; i++ {
		g.Go(nil, func() { <-gate; n.Add(1) })
		g.Go(q, func() { n.Add(1) })
	}
	g.Enter()
	notified := make(chan int32, 1)
	g.Notify(Global(QoSBackground), func() { notified <- n.Load() })
	if g.Wait(20 * time.Millisecond) {
		t.Fatal("Wait returned with work blocked")
	}
	close(gate)
	if g.Wait(20 * time.Millisecond) {
		t.Fatal("Wait returned before Leave")
	}
	g.Leave()
	if got := recv(t, notified); got != 200 {
		t.Fatalf("Notify ran with %d of 200 done", got)
	}
}

// Closing a group (and dropping it) while batched work is pending: the work runs, the
// group's accounting completes, and the rgcd object is freed.
func TestGroupCloseWithBatchedWork(t *testing.T) {
	liveCheck(t)
	gate := make(chan struct{})
	var n atomic.Int32
	func() {
		g, err := NewGroup()
		if err != nil {
			t.Fatal(err)
		}
		g.Go(nil, func() { <-gate })
		for i := 0; i < 1000; i++ {
			g.Go(nil, func() { n.Add(1) })
		}
		if err := g.Close(); err != nil {
			t.Fatal(err)
		}
		if err := g.Go(nil, func() {}); !errors.Is(err, ErrClosed) {
			t.Fatalf("Go after Close: %v", err)
		}
	}()
	close(gate)
	waitFor(t, 10*time.Second, "work of a closed group", func() bool { return n.Load() == 1000 })
}

// A panic in a batched function is reported and the drainer carries on.
func TestGlobalPanics(t *testing.T) {
	liveCheck(t)
	got := make(chan any, 100)
	old := SetPanicHandler(func(v any, _ []byte) { got <- v })
	defer SetPanicHandler(old)
	g := mustGroup(t)
	var n atomic.Int32
	for i := 0; i < 100; i++ {
		g.Go(nil, func() {
			n.Add(1)
			if i%10 == 0 {
				panic(i)
			}
		})
	}
	if !g.Wait(10 * time.Second) {
		t.Fatal("group not empty")
	}
	if n.Load() != 100 {
		t.Fatalf("%d of 100 ran", n.Load())
	}
	for i := 0; i < 10; i++ {
		recv(t, got)
	}
}

// The pool does not grow much for batched work, even with one P.
func TestGlobalPoolGrowth(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	before := PoolThreads()
	g := mustGroup(t)
	var n atomic.Int64
	for i := 0; i < 200_000; i++ {
		g.Go(nil, func() { n.Add(1) })
	}
	g.Wait(Forever)
	if got := PoolThreads(); got > before+2*runtime.NumCPU()+2 {
		t.Errorf("pool grew from %d to %d threads for 200,000 short functions", before, got)
	}
}

// Enter and Leave count on the Go side: Wait and Notify still see them, from many
// goroutines at once, and a Leave after Close balances an Enter made before.
func TestGroupEnterLeave(t *testing.T) {
	liveCheck(t)
	g := mustGroup(t)
	var wg sync.WaitGroup
	var done atomic.Int32
	for p := 0; p < 8; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5000; i++ {
				if err := g.Enter(); err != nil {
					t.Error(err)
					return
				}
				go func() { done.Add(1); g.Leave() }()
			}
		}()
	}
	wg.Wait()
	if !g.Wait(10 * time.Second) {
		t.Fatal("Wait timed out")
	}
	if n := done.Load(); n != 8*5000 {
		t.Fatalf("Wait returned with %d of %d done", n, 8*5000)
	}
	if err := g.Leave(); !errors.Is(err, ErrState) {
		t.Fatalf("unbalanced Leave: %v", err)
	}

	g2, _ := NewGroup()
	g2.Enter()
	g2.Close()
	if err := g2.Enter(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Enter after Close: %v", err)
	}
	if err := g2.Leave(); err != nil {
		t.Fatalf("Leave after Close balancing an Enter: %v", err)
	}
	if err := g2.Leave(); !errors.Is(err, ErrClosed) {
		t.Fatalf("unbalanced Leave after Close: %v", err)
	}
}

// After on a global queue shares timers between functions due in the same window: none runs
// before its own delay, each runs once, a panic in one is reported and the others run, a
// function that blocks does not hold up the rest of its window, and nothing stays behind.
func TestGlobalAfterCoalesced(t *testing.T) {
	liveCheck(t)
	got := make(chan any, 100)
	old := SetPanicHandler(func(v any, _ []byte) { got <- v })
	defer SetPanicHandler(old)
	q := Global(QoSDefault)
	const n = 3000
	var (
		ran   [n]atomic.Int32
		early atomic.Int32
		wg    sync.WaitGroup
	)
	release := make(chan struct{})
	start := time.Now()
	for i := 0; i < n; i++ {
		d := time.Duration(1+i%17) * time.Millisecond
		wg.Add(1)
		err := q.After(d, func() {
			defer wg.Done()
			if time.Since(start) < d {
				early.Add(1)
			}
			ran[i].Add(1)
			switch {
			case i == 5: // blocks until every other function ran
				<-release
			case i%500 == 7:
				panic(i)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "every function but the blocked one", func() bool {
		c := 0
		for i := range ran {
			c += int(ran[i].Load())
		}
		return c == n
	})
	close(release)
	wg.Wait()
	for i := range ran {
		if ran[i].Load() != 1 {
			t.Fatalf("function %d ran %d times", i, ran[i].Load())
		}
	}
	if early.Load() != 0 {
		t.Fatalf("%d functions ran before their delay", early.Load())
	}
	for i := 0; i < n/500; i++ {
		recv(t, got)
	}
	b := q.batch
	b.timers.mu.Lock()
	left := len(b.timers.m)
	b.timers.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d shared timers left", left)
	}
}

// The window: a power of two, at most a quarter of the leeway (a tenth of the delay, at
// most 1 ms); none for short delays.
func TestAfterQuantum(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want int64
	}{
		{0, 0}, {500 * time.Microsecond, 0}, {time.Millisecond, 1 << 14},
		{10 * time.Millisecond, 1 << 17}, {time.Hour, 1 << 17},
	} {
		if q := quantum(c.d); q != c.want {
			t.Errorf("quantum(%v) = %d, want %d", c.d, q, c.want)
		}
		if q := quantum(c.d); q != 0 && q > min(int64(c.d)/10, int64(time.Millisecond))/4 {
			t.Errorf("quantum(%v) = %d exceeds a quarter of the leeway", c.d, q)
		}
	}
	// The shared deadline is never before a function's own, and less than a window after it.
	for _, w := range []int64{1 << 14, 1 << 17} {
		for _, d := range []int64{1, w - 1, w, w + 1, 3*w + 5, 1<<40 + 12345} {
			if at := windowEnd(d, w); at < d || at-d >= w || at%w != 0 {
				t.Errorf("windowEnd(%d, %d) = %d", d, w, at)
			}
		}
	}
}
