package rgcd

import (
	"os"
	"runtime"
	"testing"
	"time"
)

// Tests share rgcd's one pool with each other, so the object count is checked per test
// (liveCheck) and tests do not run in parallel.

func TestMain(m *testing.M) {
	if os.Getenv("RGCD_GO_TEST_MAIN_QUEUE") != "" {
		runMainQueueChild() // never returns
	}
	os.Exit(m.Run())
}

// liveCheck records rgcd's live object count now and, at the end of the test, waits for it
// to come back (objects are freed asynchronously after their last work ran) and checks that
// the pool's thread count is sane.
func liveCheck(t *testing.T) {
	t.Helper()
	start := LiveObjects()
	t.Cleanup(func() {
		waitFor(t, 10*time.Second, "live objects back to start", func() bool {
			runtime.GC()
			return LiveObjects() <= start
		})
		// 0 before anything started the pool (the data tests alone do not).
		if n := PoolThreads(); n < 0 || n > 255 {
			t.Errorf("pool has %d threads", n)
		}
	})
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// recv waits for a value from ch, failing the test after 10 s.
func recv[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for a callback")
		var zero T
		return zero
	}
}

// panicsWith runs f and returns what it panicked with (nil if it did not).
func panicsWith(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}
