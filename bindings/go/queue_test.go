package rgcd

import (
	"errors"
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
