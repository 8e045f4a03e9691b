package rgcd

// #include "shim.h"
import "C"

import (
	"runtime"
	"syscall"
	"time"
	"unsafe"
)

// SourceKind is the kind of event a Source watches.
type SourceKind uint32

// The source kinds.
const (
	SourceDataAdd     SourceKind = C.RGCD_SOURCE_TYPE_DATA_ADD     // MergeData values, summed
	SourceDataOr      SourceKind = C.RGCD_SOURCE_TYPE_DATA_OR      // MergeData values, OR-ed
	SourceDataReplace SourceKind = C.RGCD_SOURCE_TYPE_DATA_REPLACE // MergeData values, the last one
	SourceRead        SourceKind = C.RGCD_SOURCE_TYPE_READ         // an fd is readable; Data: bytes available
	SourceWrite       SourceKind = C.RGCD_SOURCE_TYPE_WRITE        // an fd is writable; Data: buffer space
	SourceSignal      SourceKind = C.RGCD_SOURCE_TYPE_SIGNAL       // a signal arrived; Data: deliveries
	SourceProcess     SourceKind = C.RGCD_SOURCE_TYPE_PROC         // a process event; Data: the ProcEvents seen
	SourceTimer       SourceKind = C.RGCD_SOURCE_TYPE_TIMER        // a timer fired; Data: fires
)

// ProcEvents is the mask of process events a process source watches.
type ProcEvents uint64

// The process events. Only ProcExit is delivered on Linux.
const (
	ProcExit   ProcEvents = C.RGCD_PROC_EXIT
	ProcFork   ProcEvents = C.RGCD_PROC_FORK
	ProcExec   ProcEvents = C.RGCD_PROC_EXEC
	ProcSignal ProcEvents = C.RGCD_PROC_SIGNAL
)

// TimerStrict, as a timer source's mask, keeps the timer from being coalesced with others.
const TimerStrict uintptr = C.RGCD_TIMER_STRICT

// A Source calls its event handler on its queue when something happens: a timer fires, an
// fd becomes readable or writable, a signal arrives, a process exits, data is merged. A
// source is created inactive: set its handlers, then Activate it. Events that arrive while
// its handler is pending are merged into one call, never lost; handlers of one source never
// overlap.
//
// Cancel stops it: no event handler starts after Cancel returns, and then the cancel handler
// runs once — close the source's fd there, not before. Close cancels and releases it.
type Source struct {
	handle
	kind SourceKind
}

// NewSource creates an inactive source of the given kind watching handle (an fd, a signal
// number, a pid; 0 for timers and data sources) with mask (ProcEvents for a process source,
// TimerStrict or 0 for a timer, else 0). Its handlers run on q (nil: the default global
// queue).
func NewSource(kind SourceKind, handle, mask uintptr, q *Queue) (*Source, error) {
	var qh C.rgcd_queue_t
	if q != nil {
		if qh = q.c(); qh == nil {
			return nil, ErrClosed
		}
	}
	var msg *C.char
	h := C.rgcd_go_source_create(C.rgcd_source_type_t(kind), C.uintptr_t(handle), C.uintptr_t(mask), qh, &msg)
	runtime.KeepAlive(q)
	if h == nil {
		return nil, &Error{Op: "NewSource", Status: ErrInvalid, Message: takeMsg(msg)}
	}
	s := &Source{kind: kind}
	setHandle(&s.handle, s, unsafe.Pointer(h))
	return s, nil
}

// NewTimer creates an inactive timer source; arm it with SetTimer.
func NewTimer(q *Queue) (*Source, error) { return NewSource(SourceTimer, 0, 0, q) }

// NewReadSource creates an inactive source for fd becoming readable. Data is the number of
// bytes available; end of file comes once, with Data 0, after the unread bytes.
func NewReadSource(fd int, q *Queue) (*Source, error) {
	return NewSource(SourceRead, uintptr(fd), 0, q)
}

// NewWriteSource creates an inactive source for fd becoming writable. Data estimates the
// buffer space.
func NewWriteSource(fd int, q *Queue) (*Source, error) {
	return NewSource(SourceWrite, uintptr(fd), 0, q)
}

// NewSignalSource creates an inactive source for deliveries of sig. Data is the number of
// deliveries since the last handler. While it exists rgcd, not Go's os/signal, handles sig.
func NewSignalSource(sig syscall.Signal, q *Queue) (*Source, error) {
	return NewSource(SourceSignal, uintptr(sig), 0, q)
}

// NewProcessSource creates an inactive source for events of process pid.
func NewProcessSource(pid int, events ProcEvents, q *Queue) (*Source, error) {
	return NewSource(SourceProcess, uintptr(pid), uintptr(events), q)
}

// NewDataSource creates an inactive source of kind SourceDataAdd, SourceDataOr or
// SourceDataReplace, fed by MergeData.
func NewDataSource(kind SourceKind, q *Queue) (*Source, error) {
	return NewSource(kind, 0, 0, q)
}

func (s *Source) c() C.rgcd_source_t { return C.rgcd_source_t(s.ptr()) }

// Kind returns the source's kind.
func (s *Source) Kind() SourceKind { return s.kind }

func (s *Source) setHandler(op string, which C.rgcd_source_handler_t, f func()) error {
	h := s.c()
	if h == nil {
		return ErrClosed
	}
	slot := slotPut(f)
	r := C.rgcd_go_source_set_handler(h, which, C.uintptr_t(slot))
	runtime.KeepAlive(s)
	if r.status < 0 {
		slotFree(slot)
		return check(op, r)
	}
	return nil
}

// SetEventHandler sets the function called (on the source's queue) for each merged event.
// Inside it, Data returns the event's data.
func (s *Source) SetEventHandler(f func()) error {
	return s.setHandler("Source.SetEventHandler", C.RGCD_SOURCE_HANDLER_EVENT, f)
}

// SetCancelHandler sets the function called once after Cancel, after the last event handler
// returned.
func (s *Source) SetCancelHandler(f func()) error {
	return s.setHandler("Source.SetCancelHandler", C.RGCD_SOURCE_HANDLER_CANCEL, f)
}

// SetRegistrationHandler sets the function called once when the source starts, before any
// event handler.
func (s *Source) SetRegistrationHandler(f func()) error {
	return s.setHandler("Source.SetRegistrationHandler", C.RGCD_SOURCE_HANDLER_REGISTRATION, f)
}

// SetTimer arms a timer source: first fire after start, then every interval (interval <= 0:
// once), each fire up to leeway late so that timers can be coalesced. It may be called
// again, also from the handler, to re-arm. A negative start disarms it.
func (s *Source) SetTimer(start, interval, leeway time.Duration) error {
	h := s.c()
	if h == nil {
		return ErrClosed
	}
	err := check("Source.SetTimer", C.rgcd_go_source_set_timer(h, C.int64_t(start), C.int64_t(interval), C.int64_t(leeway)))
	runtime.KeepAlive(s)
	return err
}

// Activate starts the source (registers its fd, signal, process or timer). If that fails —
// the fd was closed, say — it returns the error and the source is cancelled (its cancel
// handler runs).
func (s *Source) Activate() error { return s.object("Source.Activate", C.RGCD_GO_ACTIVATE) }

// Suspend stops handlers from starting until a matching Resume; events are merged meanwhile.
func (s *Source) Suspend() error { return s.object("Source.Suspend", C.RGCD_GO_SUSPEND) }

// Resume undoes one Suspend.
func (s *Source) Resume() error { return s.object("Source.Resume", C.RGCD_GO_RESUME) }

// SetTarget makes the source's handlers run on target (nil: the default global queue).
func (s *Source) SetTarget(target *Queue) error {
	h := s.ptr()
	if h == nil {
		return ErrClosed
	}
	var t C.rgcd_queue_t
	if target != nil {
		if t = target.c(); t == nil {
			return ErrClosed
		}
	}
	err := check("Source.SetTarget", C.rgcd_go_set_target(h, t))
	runtime.KeepAlive(s)
	runtime.KeepAlive(target)
	return err
}

// Cancel stops the source, asynchronously: no event handler starts after it returns (one
// running finishes), then the cancel handler runs once. Cancelling twice is fine.
func (s *Source) Cancel() error { return s.object("Source.Cancel", C.RGCD_GO_CANCEL) }

// Cancelled reports whether the source was cancelled.
func (s *Source) Cancelled() bool {
	h := s.c()
	if h == nil {
		return true
	}
	v := C.rgcd_source_testcancel(h)
	runtime.KeepAlive(s)
	return v == 1
}

// Data returns, inside the event handler, the data of this delivery (see SourceKind).
func (s *Source) Data() uint64 {
	h := s.c()
	if h == nil {
		return 0
	}
	v := C.rgcd_source_get_data(h)
	runtime.KeepAlive(s)
	return uint64(v)
}

// Handle returns the handle the source was created with (fd, signal, pid).
func (s *Source) Handle() uintptr {
	h := s.c()
	if h == nil {
		return 0
	}
	v := C.rgcd_source_get_handle(h)
	runtime.KeepAlive(s)
	return uintptr(v)
}

// Mask returns the mask the source was created with.
func (s *Source) Mask() uintptr {
	h := s.c()
	if h == nil {
		return 0
	}
	v := C.rgcd_source_get_mask(h)
	runtime.KeepAlive(s)
	return uintptr(v)
}

// MergeData merges v into a data source's pending data and schedules its handler.
func (s *Source) MergeData(v uint64) error {
	h := s.c()
	if h == nil {
		return ErrClosed
	}
	err := check("Source.MergeData", C.rgcd_go_source_merge(h, C.uintptr_t(v)))
	runtime.KeepAlive(s)
	return err
}

// Close cancels the source (if it was not) and releases it. Its cancel handler still runs.
// Closing twice does nothing.
func (s *Source) Close() error {
	if s.c() == nil {
		return nil
	}
	cerr := s.Cancel()
	if err := s.close("Source.Close"); err != nil {
		return err
	}
	if cerr == ErrClosed {
		return nil
	}
	return cerr
}
