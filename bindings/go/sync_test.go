package rgcd

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestGroup(t *testing.T) {
	liveCheck(t)
	g := mustGroup(t)
	q := mustQueue(t, "group", Concurrent())
	if !g.Wait(0) {
		t.Fatal("an empty group is not empty")
	}
	gate := make(chan struct{})
	var n atomic.Int32
	for i := 0; i < 10; i++ {
		g.Go(q, func() { <-gate; n.Add(1) })
	}
	if g.Wait(10 * time.Millisecond) {
		t.Fatal("Wait returned true with work blocked")
	}
	notified := make(chan int32, 1)
	g.Notify(nil, func() { notified <- n.Load() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	if err := g.WaitContext(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitContext with blocked work: %v", err)
	}
	cancel()
	close(gate)
	if err := g.WaitContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, notified); got != 10 {
		t.Fatalf("Notify ran with %d of 10 done", got)
	}

	// Enter/Leave bracket work done elsewhere.
	g.Enter()
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- g.WaitContext(ctx)
	}()
	time.Sleep(5 * time.Millisecond)
	if err := g.Leave(); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, done); err != nil {
		t.Fatal(err)
	}
	if err := g.Leave(); !errors.Is(err, ErrState) {
		t.Fatalf("unbalanced Leave: %v", err)
	}
	g.Close()
	if err := g.Go(q, func() {}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Go after Close: %v", err)
	}
	if g.Wait(0) {
		t.Fatal("Wait on a closed group returned true")
	}
}

func TestSemaphore(t *testing.T) {
	liveCheck(t)
	s, err := NewSemaphore(1)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !s.Wait(0) {
		t.Fatal("first permit not taken")
	}
	if s.Wait(5 * time.Millisecond) {
		t.Fatal("took a permit that is not there")
	}
	if s.Signal() {
		t.Fatal("Signal woke a waiter when none waited")
	}
	if !s.Wait(Forever) {
		t.Fatal("permit not taken after Signal")
	}

	// Signal wakes a waiter.
	woke := make(chan bool)
	go func() { woke <- s.Wait(10 * time.Second) }()
	waitFor(t, 10*time.Second, "a signal that wakes", func() bool {
		if s.Signal() {
			return true
		}
		s.Wait(0) // no waiter yet: take the permit back and retry
		time.Sleep(time.Millisecond)
		return false
	})
	if !recv(t, woke) {
		t.Fatal("waiter timed out")
	}

	// Acquire: cancelled, then satisfied; a cancelled Acquire takes no permit.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := s.Acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire without permits: %v", err)
	}
	got := make(chan error)
	go func() { got <- s.Acquire(context.Background()) }()
	go func() {
		time.Sleep(5 * time.Millisecond)
		s.Signal()
	}()
	if err := recv(t, got); err != nil {
		t.Fatal(err)
	}
	cctx, ccancel := context.WithCancel(context.Background())
	go func() { got <- s.Acquire(cctx) }()
	time.Sleep(5 * time.Millisecond)
	ccancel()
	if err := recv(t, got); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Acquire: %v", err)
	}
	time.Sleep(2 * acquireSlice) // the abandoned helper gives up
	s.Signal()
	if !s.Wait(0) || s.Wait(0) {
		t.Fatal("a cancelled Acquire changed the count")
	}
	s.Close()
	if s.Wait(0) || s.Signal() {
		t.Fatal("a closed semaphore works")
	}
}

func TestOnce(t *testing.T) {
	var o Once
	var n atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o.Do(func() { time.Sleep(5 * time.Millisecond); n.Add(1) })
			if n.Load() != 1 {
				t.Error("Do returned before the function finished")
			}
		}()
	}
	wg.Wait()
	o.Do(func() { n.Add(1) })
	if n.Load() != 1 {
		t.Fatalf("ran %d times", n.Load())
	}
	var p Once
	v := panicsWith(func() { p.Do(func() { panic("once") }) })
	if v == nil || !strings.Contains(v.(string), "once") {
		t.Fatalf("panic in Once: %v", v)
	}
	ran := false
	p.Do(func() { ran = true })
	if ran {
		t.Fatal("a Once whose function panicked ran again")
	}
}
