package rgcd

// #include "shim.h"
import "C"

import (
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// PanicHandler receives a panic recovered from a function that rgcd ran asynchronously (a
// work item, a source handler, a group notification). The value is what panic was called
// with and stack the goroutine's stack at the panic.
type PanicHandler func(value any, stack []byte)

var panicHandler atomic.Pointer[PanicHandler]

// SetPanicHandler sets the function told about panics in asynchronous callbacks and returns
// the previous one. nil restores the default, which prints the panic and its stack to
// standard error. The worker thread and the process carry on either way.
//
// Panics in functions run synchronously (Queue.Sync, Apply, Once.Do) are not reported here:
// they propagate to the caller once rgcd has returned.
func SetPanicHandler(h PanicHandler) PanicHandler {
	var p *PanicHandler
	if h != nil {
		p = &h
	}
	if old := panicHandler.Swap(p); old != nil {
		return *old
	}
	return nil
}

func reportPanic(v any) {
	stack := debug.Stack()
	if h := panicHandler.Load(); h != nil {
		(*h)(v, stack)
		return
	}
	fmt.Fprintf(os.Stderr, "rgcd: panic in callback: %v\n%s", v, stack)
}

// recoverAsync is deferred by every asynchronous callback.
func recoverAsync() {
	if r := recover(); r != nil {
		reportPanic(r)
	}
}

// A panic captured in a synchronous callback, re-raised in the caller.
type capturedPanic struct {
	value any
	stack []byte
}

// syncCall is what a slot holds for Sync, BarrierSync and Once.Do.
type syncCall struct {
	f        func()
	panicked *capturedPanic
}

func (c *syncCall) run() {
	defer func() {
		if r := recover(); r != nil {
			c.panicked = &capturedPanic{r, debug.Stack()}
		}
	}()
	c.f()
}

// repanic re-raises a panic captured on another thread, in the caller's goroutine.
func (p *capturedPanic) repanic() {
	if p != nil {
		panic(fmt.Sprintf("%v [recovered from an rgcd callback]\n%s", p.value, p.stack))
	}
}

var syncCallPool = sync.Pool{New: func() any { return new(syncCall) }}

//export rgcdGoTask
func rgcdGoTask(slot C.uintptr_t) {
	f := slotTake(uintptr(slot)).(func())
	defer recoverAsync()
	f()
}

//export rgcdGoSync
func rgcdGoSync(slot C.uintptr_t) {
	slotGet(uintptr(slot)).(*syncCall).run()
}

// applyCall is what a slot holds for Apply.
type applyCall struct {
	f        func(int)
	panicked atomic.Pointer[capturedPanic]
}

//export rgcdGoApply
func rgcdGoApply(slot C.uintptr_t, i C.size_t) {
	c := slotGet(uintptr(slot)).(*applyCall)
	defer func() {
		if r := recover(); r != nil {
			c.panicked.CompareAndSwap(nil, &capturedPanic{r, debug.Stack()})
		}
	}()
	c.f(int(i))
}

//export rgcdGoHandler
func rgcdGoHandler(slot C.uintptr_t) {
	f := slotGet(uintptr(slot)).(func())
	defer recoverAsync()
	f()
}

//export rgcdGoRelease
func rgcdGoRelease(slot C.uintptr_t) {
	slotFree(uintptr(slot))
}
