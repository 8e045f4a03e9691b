package rgcd

// #include "shim.h"
import "C"

import (
	"context"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"
)

// A Semaphore is a counting semaphore.
type Semaphore struct {
	handle
}

// NewSemaphore creates a semaphore holding n permits (n >= 0).
func NewSemaphore(n int) (*Semaphore, error) {
	var msg *C.char
	h := C.rgcd_go_semaphore_create(C.intptr_t(n), &msg)
	if h == nil {
		return nil, &Error{Op: "NewSemaphore", Status: ErrInvalid, Message: takeMsg(msg)}
	}
	s := new(Semaphore)
	setHandle(&s.handle, s, unsafe.Pointer(h))
	return s, nil
}

func (s *Semaphore) c() C.rgcd_semaphore_t { return C.rgcd_semaphore_t(s.ptr()) }

// Close releases the semaphore. Closing twice does nothing. No goroutine may be waiting.
func (s *Semaphore) Close() error { return s.close("Semaphore.Close") }

// Wait takes a permit, waiting up to timeout (negative, such as Forever: without limit), and
// reports whether it got one.
func (s *Semaphore) Wait(timeout time.Duration) bool {
	h := s.c()
	if h == nil {
		return false
	}
	st := C.rgcd_go_semaphore_wait(h, C.int64_t(timeout))
	runtime.KeepAlive(s)
	return st == 0
}

// Signal returns a permit and reports whether that woke a waiter.
func (s *Semaphore) Signal() bool {
	h := s.c()
	if h == nil {
		return false
	}
	st := C.rgcd_semaphore_signal(h)
	runtime.KeepAlive(s)
	return st == 1
}

// acquireSlice bounds how long a helper blocks in rgcd between looks at an abandoned Acquire.
const acquireSlice = 50 * time.Millisecond

// Acquire takes a permit, waiting until one is free (nil) or ctx is done (ctx.Err(), and no
// permit is taken).
func (s *Semaphore) Acquire(ctx context.Context) error {
	if s.Wait(0) {
		return nil
	}
	if s.c() == nil {
		return ErrClosed
	}
	if ctx.Done() == nil {
		s.Wait(Forever)
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// A helper blocks in rgcd (which cannot be interrupted) in slices; whichever of it and
	// the caller settles the state first decides: a permit the helper gets after the caller
	// gave up is signalled back.
	const (
		waiting = iota
		acquired
		abandoned
	)
	var state atomic.Int32
	got := make(chan struct{})
	go func() {
		for {
			if s.Wait(acquireSlice) {
				if !state.CompareAndSwap(waiting, acquired) {
					s.Signal()
				}
				close(got)
				return
			}
			if state.Load() == abandoned || s.c() == nil {
				return
			}
		}
	}()
	select {
	case <-got:
		return nil
	case <-ctx.Done():
		if state.CompareAndSwap(waiting, abandoned) {
			return ctx.Err()
		}
		<-got
		return nil
	}
}
