package rgcd

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestTimer(t *testing.T) {
	liveCheck(t)
	q := mustQueue(t, "timer")
	s, err := NewTimer(q)
	if err != nil {
		t.Fatal(err)
	}
	var fires atomic.Uint64
	var reached atomic.Bool
	enough := make(chan struct{})
	cancelled := make(chan struct{})
	registered := make(chan struct{})
	s.SetEventHandler(func() {
		// Data counts the fires since the last call: under load several merge into one.
		if fires.Add(s.Data()) >= 5 && reached.CompareAndSwap(false, true) {
			close(enough)
		}
	})
	s.SetCancelHandler(func() { close(cancelled) })
	s.SetRegistrationHandler(func() { close(registered) })
	if err := s.SetTimer(time.Millisecond, 2*time.Millisecond, 0); err != nil {
		t.Fatal(err)
	}
	if s.Kind() != SourceTimer || s.Cancelled() {
		t.Fatal("fresh timer: wrong kind or cancelled")
	}
	if err := s.Activate(); err != nil {
		t.Fatal(err)
	}
	recv(t, registered)
	recv(t, enough)
	if err := s.Cancel(); err != nil {
		t.Fatal(err)
	}
	recv(t, cancelled)
	n := fires.Load()
	time.Sleep(10 * time.Millisecond)
	if fires.Load() != n || !s.Cancelled() {
		t.Fatal("timer fired after its cancel handler ran")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// A one-shot timer fires once; suspended, its fire waits for Resume.
	one, _ := NewTimer(nil)
	defer one.Close()
	var shots atomic.Int32
	one.SetEventHandler(func() { shots.Add(1) })
	one.SetTimer(time.Millisecond, 0, 0)
	// Suspended before it starts: nothing can run before the check below, however slow the
	// machine (suspending after Activate races the 1 ms fire).
	one.Suspend()
	one.Activate()
	time.Sleep(10 * time.Millisecond)
	if shots.Load() != 0 {
		t.Fatal("a suspended timer's handler ran")
	}
	one.Resume()
	waitFor(t, 10*time.Second, "one-shot fire", func() bool { return shots.Load() == 1 })
	time.Sleep(10 * time.Millisecond)
	if shots.Load() != 1 {
		t.Fatalf("one-shot timer fired %d times", shots.Load())
	}
}

func TestDataSource(t *testing.T) {
	liveCheck(t)
	q := mustQueue(t, "data")
	s, err := NewDataSource(SourceDataAdd, q)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var sum atomic.Uint64
	s.SetEventHandler(func() { sum.Add(s.Data()) })
	s.Activate()
	q.Suspend() // the merges combine while the handler cannot run
	for i := 1; i <= 100; i++ {
		if err := s.MergeData(uint64(i)); err != nil {
			t.Fatal(err)
		}
	}
	q.Resume()
	waitFor(t, 10*time.Second, "merged data", func() bool { return sum.Load() == 5050 })

	timer, _ := NewTimer(q)
	defer timer.Close()
	if err := timer.MergeData(1); !errors.Is(err, ErrNotSupported) {
		t.Fatalf("MergeData on a timer: %v", err)
	}
}

// TestFdPingPong hands a byte back and forth over 64 socketpairs, each end watched by a read
// source, 100 round trips per pair, while timers tick beside them.
func TestFdPingPong(t *testing.T) {
	liveCheck(t)
	const pairs, rounds = 64, 100
	g := mustGroup(t)
	var sources []*Source
	var closed atomic.Int32
	tick, _ := NewTimer(nil)
	var ticks atomic.Int32
	tick.SetEventHandler(func() { ticks.Add(1) })
	tick.SetTimer(0, time.Millisecond, 100*time.Microsecond)
	tick.Activate()
	for p := 0; p < pairs; p++ {
		fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		q := mustQueue(t, "pair")
		g.Enter()
		for side := 0; side < 2; side++ {
			fd := fds[side]
			s, err := NewReadSource(fd, q)
			if err != nil {
				t.Fatal(err)
			}
			if s.Handle() != uintptr(fd) {
				t.Fatalf("handle %d, want %d", s.Handle(), fd)
			}
			count := 0
			s.SetEventHandler(func() {
				var buf [16]byte
				n, err := syscall.Read(fd, buf[:])
				if err != nil || n == 0 {
					return
				}
				for i := 0; i < n; i++ {
					count++
					if side == 0 && count == rounds {
						g.Leave()
						continue
					}
					syscall.Write(fd, []byte{'x'})
				}
			})
			s.SetCancelHandler(func() { syscall.Close(fd); closed.Add(1) })
			if err := s.Activate(); err != nil {
				t.Fatal(err)
			}
			sources = append(sources, s)
		}
		syscall.Write(fds[0], []byte{'x'})
	}
	if !g.Wait(60 * time.Second) {
		t.Fatal("ping-pong did not finish")
	}
	for _, s := range sources {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	tick.Close()
	waitFor(t, 10*time.Second, "cancel handlers", func() bool { return closed.Load() == 2*pairs })
	if ticks.Load() == 0 {
		t.Fatal("the timer never ticked beside the fd sources")
	}
}

func TestWriteSource(t *testing.T) {
	liveCheck(t)
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(p[0])
	s, err := NewWriteSource(p[1], nil)
	if err != nil {
		t.Fatal(err)
	}
	space := make(chan uint64, 1)
	s.SetEventHandler(func() {
		select {
		case space <- s.Data():
		default:
		}
		s.Cancel()
	})
	done := make(chan struct{})
	s.SetCancelHandler(func() { syscall.Close(p[1]); close(done) })
	s.Activate()
	if d := recv(t, space); d == 0 {
		t.Fatal("write source reported no space")
	}
	recv(t, done)
	s.Close()
}

// rgcdWorkerTid finds an rgcd worker thread, so that a test signal is delivered to a thread
// that rgcd created rather than to one running Go code (see TestSignalSource).
func rgcdWorkerTid(t *testing.T) int {
	tasks, _ := filepath.Glob("/proc/self/task/*/comm")
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		if strings.HasPrefix(string(b), "rgcd-worker") {
			var tid int
			for _, c := range filepath.Base(filepath.Dir(f)) {
				tid = tid*10 + int(c-'0')
			}
			return tid
		}
	}
	t.Skip("no rgcd worker thread found")
	return 0
}

// TestSignalSource directs its signals at an rgcd worker thread (rgcd's handler is installed
// with SA_ONSTACK, as Go requires, but a thread of rgcd's own is the ordinary case).
func TestSignalSource(t *testing.T) {
	liveCheck(t)
	s, err := NewSignalSource(syscall.SIGUSR2, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got atomic.Uint64
	s.SetEventHandler(func() { got.Add(s.Data()) })
	if err := s.Activate(); err != nil {
		t.Fatal(err)
	}
	tid := rgcdWorkerTid(t)
	// A standard signal sent while the same one is still pending is merged by the kernel, so
	// each is sent once the previous one was counted.
	for i := 0; i < 3; i++ {
		if err := syscall.Tgkill(os.Getpid(), tid, syscall.SIGUSR2); err != nil {
			t.Fatal(err)
		}
		want := uint64(i + 1)
		waitFor(t, 10*time.Second, "a signal", func() bool { return got.Load() == want })
	}
	s.Close()
}

func TestProcessSource(t *testing.T) {
	liveCheck(t)
	cmd := exec.Command("sleep", "0.05")
	if err := cmd.Start(); err != nil {
		t.Skip("cannot start sleep:", err)
	}
	s, err := NewProcessSource(cmd.Process.Pid, ProcExit, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Mask() != uintptr(ProcExit) {
		t.Fatalf("mask %#x", s.Mask())
	}
	exited := make(chan uint64, 1)
	s.SetEventHandler(func() { exited <- s.Data() })
	if err := s.Activate(); err != nil {
		t.Fatal(err)
	}
	if d := recv(t, exited); ProcEvents(d)&ProcExit == 0 {
		t.Fatalf("process data %#x lacks ProcExit", d)
	}
	s.Close()
	cmd.Wait()
}

func TestSourceActivateFailure(t *testing.T) {
	liveCheck(t)
	var p [2]int
	syscall.Pipe2(p[:], syscall.O_CLOEXEC)
	s, err := NewReadSource(p[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	cancelled := make(chan struct{})
	s.SetCancelHandler(func() { close(cancelled) })
	syscall.Close(p[0])
	syscall.Close(p[1])
	if err := s.Activate(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("activating a source on a closed fd: %v", err)
	}
	recv(t, cancelled)
	s.Close()
}

func TestSourceBurst(t *testing.T) {
	liveCheck(t)
	threads := PoolThreads()
	for i := 0; i < 500; i++ {
		s, _ := NewTimer(nil)
		s.SetEventHandler(func() {})
		s.SetTimer(time.Duration(i%5)*time.Millisecond, time.Millisecond, 0)
		s.Activate()
		s.Close()
	}
	if n := PoolThreads(); n > threads+64 {
		t.Fatalf("pool grew from %d to %d threads for cancelled timers", threads, n)
	}
}
