package rgcd

// #include <stdint.h>
// #include <stdlib.h>
// #include "shim.h"
import "C"

import (
	"io"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// IOKind is the kind of an IOChannel.
type IOKind uint

// The channel kinds.
const (
	// IOStream: operations run in order per direction at the fd's current position; offsets
	// are ignored. A read and a write may run at the same time. Pipes, sockets, terminals.
	IOStream IOKind = C.RGCD_IO_STREAM
	// IORandom: each operation works at its offset, counted from the fd's position when the
	// channel was created. The fd must be seekable.
	IORandom IOKind = C.RGCD_IO_RANDOM
)

// IOError is an errno reported by an I/O operation or a channel's cleanup. It unwraps to the
// syscall.Errno: errors.Is(err, syscall.ECANCELED) is true for an operation stopped by
// Close(true) or submitted after Close.
type IOError struct {
	Op    string // e.g. "IOChannel.Read"
	Errno syscall.Errno
}

func (e *IOError) Error() string { return "rgcd: " + e.Op + ": " + e.Errno.Error() }

// Unwrap returns the Errno.
func (e *IOError) Unwrap() error { return e.Errno }

// ioErr is nil for 0, else an *IOError.
func ioErr(op string, errno C.int) error {
	if errno == 0 {
		return nil
	}
	return &IOError{Op: op, Errno: syscall.Errno(errno)}
}

// What the slots of I/O callbacks hold: functions that get rgcd's borrowed data handle.
type (
	ioHandler  func(done bool, d C.rgcd_data_t, errno C.int) // channel operations, until done
	ioDataFunc func(d C.rgcd_data_t, errno C.int)            // ReadAsync, WriteAsync: once
	ioCleanup  func(errno C.int)                             // a channel's cleanup: once
)

//export rgcdGoIOHandler
func rgcdGoIOHandler(slot C.uintptr_t, done C.bool, d C.rgcd_data_t, errno C.int) {
	var f ioHandler
	if done {
		f = slotTake(uintptr(slot)).(ioHandler)
	} else {
		f = slotGet(uintptr(slot)).(ioHandler)
	}
	defer recoverAsync()
	f(bool(done), d, errno)
}

//export rgcdGoIOData
func rgcdGoIOData(slot C.uintptr_t, d C.rgcd_data_t, errno C.int) {
	f := slotTake(uintptr(slot)).(ioDataFunc)
	defer recoverAsync()
	f(d, errno)
}

//export rgcdGoIOCleanup
func rgcdGoIOCleanup(slot C.uintptr_t, errno C.int) {
	f := slotTake(uintptr(slot)).(ioCleanup)
	defer recoverAsync()
	f(errno)
}

// sizeArg maps a negative length or mark to SIZE_MAX (no limit).
func sizeArg(n int) C.size_t {
	if n < 0 {
		return C.size_t(C.SIZE_MAX)
	}
	return C.size_t(n)
}

// handlerQueue returns q's handle, the default global queue's for nil.
func handlerQueue(q *Queue) (*Queue, C.rgcd_queue_t, error) {
	if q == nil {
		q = Global(QoSDefault)
	}
	h := q.c()
	if h == nil {
		return nil, nil, ErrClosed
	}
	return q, h, nil
}

// An IOChannel reads and writes an fd (or a file opened by path) asynchronously: rgcd's
// reactor and pool drive the I/O and call each operation's handler on its queue with the
// results in pieces, bounded by the high and low water marks. No goroutine or worker blocks
// on a slow pipe or socket.
//
// Reader and Writer adapt a channel to io.Reader and io.Writer for code that wants to block.
//
// Close closes the channel to new operations and releases it; its cleanup function runs once
// every operation has finished (close the fd there). A finalizer releases a channel dropped
// without Close, which also ends in the cleanup.
type IOChannel struct {
	handle
	kind IOKind
}

func cleanupSlot(op string, cleanup func(error)) (C.int, C.uintptr_t) {
	if cleanup == nil {
		return 0, 0
	}
	return 1, C.uintptr_t(slotPut(ioCleanup(func(errno C.int) { cleanup(ioErr(op, errno)) })))
}

func newChannel(op string, kind IOKind, has C.int, slot C.uintptr_t, h C.rgcd_io_t, msg *C.char) (*IOChannel, error) {
	if h == nil {
		if has != 0 {
			slotFree(uintptr(slot))
		}
		return nil, &Error{Op: op, Status: ErrInvalid, Message: takeMsg(msg)}
	}
	ch := &IOChannel{kind: kind}
	setHandle(&ch.handle, ch, unsafe.Pointer(h))
	return ch, nil
}

// NewIOChannel creates a channel of kind on fd. The caller keeps owning fd: close it in
// cleanup, which runs once on q (nil: the default global queue) after Close (or the
// channel's collection) once its operations finished, with nil — or at once, with an
// *IOError, when fd is bad (EBADF) or not seekable for IORandom (ESPIPE). cleanup may be nil.
func NewIOChannel(kind IOKind, fd int, q *Queue, cleanup func(error)) (*IOChannel, error) {
	var qh C.rgcd_queue_t
	if q != nil {
		if qh = q.c(); qh == nil {
			return nil, ErrClosed
		}
	}
	has, slot := cleanupSlot("IOChannel cleanup", cleanup)
	var msg *C.char
	h := C.rgcd_go_io_create(C.rgcd_io_type_t(kind), C.int(fd), qh, has, slot, &msg)
	runtime.KeepAlive(q)
	return newChannel("NewIOChannel", kind, has, slot, h, msg)
}

// NewIOChannelPath creates a channel of kind on the file at the absolute path, opened with
// flag and perm (syscall.O_* flags, as open(2)) when its first operation or barrier runs and
// closed by rgcd before cleanup runs. A failed open is reported to the operations (an
// *IOError with the open's errno).
func NewIOChannelPath(kind IOKind, path string, flag int, perm uint32, q *Queue, cleanup func(error)) (*IOChannel, error) {
	var qh C.rgcd_queue_t
	if q != nil {
		if qh = q.c(); qh == nil {
			return nil, ErrClosed
		}
	}
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	has, slot := cleanupSlot("IOChannel cleanup", cleanup)
	var msg *C.char
	h := C.rgcd_go_io_create_with_path(C.rgcd_io_type_t(kind), cp, C.int(flag), C.uint32_t(perm), qh, has, slot, &msg)
	runtime.KeepAlive(q)
	return newChannel("NewIOChannelPath", kind, has, slot, h, msg)
}

// NewIOChannelFrom creates a channel of kind on the fd or path of from, sharing its
// ordering and barriers (not its kind or water marks). Its cleanup runs when this channel is
// done.
func NewIOChannelFrom(kind IOKind, from *IOChannel, q *Queue, cleanup func(error)) (*IOChannel, error) {
	fh := from.c()
	if fh == nil {
		return nil, ErrClosed
	}
	var qh C.rgcd_queue_t
	if q != nil {
		if qh = q.c(); qh == nil {
			return nil, ErrClosed
		}
	}
	has, slot := cleanupSlot("IOChannel cleanup", cleanup)
	var msg *C.char
	h := C.rgcd_go_io_create_with_io(C.rgcd_io_type_t(kind), fh, qh, has, slot, &msg)
	runtime.KeepAlive(from)
	runtime.KeepAlive(q)
	return newChannel("NewIOChannelFrom", kind, has, slot, h, msg)
}

func (ch *IOChannel) c() C.rgcd_io_t { return C.rgcd_io_t(ch.ptr()) }

// Kind returns the channel's kind.
func (ch *IOChannel) Kind() IOKind { return ch.kind }

func (ch *IOChannel) read(op string, offset int64, length int, q *Queue, f ioHandler) error {
	h := ch.c()
	if h == nil {
		return ErrClosed
	}
	q, qh, err := handlerQueue(q)
	if err != nil {
		return err
	}
	slot := slotPut(f)
	r := C.rgcd_go_io_read(h, C.int64_t(offset), sizeArg(length), qh, C.uintptr_t(slot))
	runtime.KeepAlive(ch)
	runtime.KeepAlive(q)
	if r.status < 0 {
		slotFree(slot)
		return check(op, r)
	}
	return nil
}

func (ch *IOChannel) write(op string, offset int64, data *Data, q *Queue, f ioHandler) error {
	h := ch.c()
	if h == nil {
		return ErrClosed
	}
	dh := data.c()
	if dh == nil {
		return ErrClosed
	}
	q, qh, err := handlerQueue(q)
	if err != nil {
		return err
	}
	slot := slotPut(f)
	r := C.rgcd_go_io_write(h, C.int64_t(offset), dh, qh, C.uintptr_t(slot))
	runtime.KeepAlive(ch)
	runtime.KeepAlive(data)
	runtime.KeepAlive(q)
	if r.status < 0 {
		slotFree(slot)
		return check(op, r)
	}
	return nil
}

// Read reads length bytes (negative: until end of file) at offset (IORandom only) and calls
// handler on q (nil: the default global queue) for each piece: at most the high water mark,
// at least the low water mark except for the last. Calls never overlap; the last has done
// set. At end of file the last call has an empty data and a nil error. err is an *IOError
// (ECANCELED after Close(true), or on a closed channel). data is the handler's: Close it, or
// leave it to the finalizer; it may be nil with an error.
func (ch *IOChannel) Read(offset int64, length int, q *Queue, handler func(done bool, data *Data, err error)) error {
	return ch.read("IOChannel.Read", offset, length, q, func(done bool, d C.rgcd_data_t, errno C.int) {
		handler(done, borrowData(d), ioErr("IOChannel.Read", errno))
	})
}

// Write writes data at offset (IORandom only) and calls handler (nil: none) on q (nil: the
// default global queue) as it progresses, with the bytes not yet written. The last call has
// done set and a nil remaining when every byte was written. data may be closed as soon as
// Write returns: the channel holds a reference until it is written.
func (ch *IOChannel) Write(offset int64, data *Data, q *Queue, handler func(done bool, remaining *Data, err error)) error {
	return ch.write("IOChannel.Write", offset, data, q, func(done bool, d C.rgcd_data_t, errno C.int) {
		if handler != nil {
			handler(done, borrowData(d), ioErr("IOChannel.Write", errno))
		}
	})
}

func (ch *IOChannel) set(op string, code C.int, value uint64, flags C.ulong) error {
	h := ch.c()
	if h == nil {
		return ErrClosed
	}
	err := check(op, C.rgcd_go_io_set(code, h, C.uint64_t(value), flags))
	runtime.KeepAlive(ch)
	return err
}

// SetHighWater makes handlers of operations submitted from now on get at most n bytes at a
// time (negative: no limit, the default; 0 counts as 1).
func (ch *IOChannel) SetHighWater(n int) error {
	return ch.set("IOChannel.SetHighWater", C.RGCD_GO_IO_HIGH_WATER, uint64(sizeArg(n)), 0)
}

// SetLowWater makes operations submitted from now on deliver partial results only once at
// least n bytes are ready (0, the default: as soon as anything is; negative: no partial
// results below the high water mark).
func (ch *IOChannel) SetLowWater(n int) error {
	return ch.set("IOChannel.SetLowWater", C.RGCD_GO_IO_LOW_WATER, uint64(sizeArg(n)), 0)
}

// SetInterval makes operations submitted from now on deliver partial results every d (0:
// no interval) — if at least the low water mark is ready, or always when strict — instead of
// as soon as they are ready.
func (ch *IOChannel) SetInterval(d time.Duration, strict bool) error {
	if d < 0 {
		d = 0
	}
	var flags C.ulong
	if strict {
		flags = C.RGCD_IO_STRICT_INTERVAL
	}
	return ch.set("IOChannel.SetInterval", C.RGCD_GO_IO_INTERVAL, uint64(d), flags)
}

// Barrier runs f once every operation submitted before it on the channel's fd (by any
// channel on it) finished; operations submitted after wait until it returned. f may use the
// fd (Descriptor) but must not close it.
func (ch *IOChannel) Barrier(f func()) error {
	h := ch.c()
	if h == nil {
		return ErrClosed
	}
	slot := slotPut(f)
	r := C.rgcd_go_io_barrier(h, C.uintptr_t(slot))
	runtime.KeepAlive(ch)
	if r.status < 0 {
		slotFree(slot)
		return check("IOChannel.Barrier", r)
	}
	return nil
}

// Descriptor returns the channel's fd, or -1 when it is closed or its path not opened yet.
func (ch *IOChannel) Descriptor() int {
	h := ch.c()
	if h == nil {
		return -1
	}
	fd := C.rgcd_io_get_descriptor(h)
	runtime.KeepAlive(ch)
	return int(fd)
}

// Close closes the channel to new operations and releases it. With stop, pending operations
// end with a last call whose error is ECANCELED; without, they run to completion. The
// cleanup runs once they all finished. Closing twice does nothing.
func (ch *IOChannel) Close(stop bool) error {
	h := ch.c()
	if h == nil {
		return nil
	}
	var flags C.ulong
	if stop {
		flags = C.RGCD_IO_STOP
	}
	cerr := check("IOChannel.Close", C.rgcd_go_io_set(C.RGCD_GO_IO_CLOSE, h, 0, flags))
	if err := ch.close("IOChannel.Close"); err != nil {
		return err
	}
	return cerr
}

// Reader returns an io.Reader over the channel: each Read blocks until the channel delivers
// some bytes (at most len(p) are requested from rgcd per operation; a surplus is kept for the
// next Read), and returns io.EOF at end of file and an *IOError for a failed or stopped read
// (Close(true) gives ECANCELED). On an IORandom channel it reads from offset 0 on. Handlers
// run on the default global queue, so do not call Read from a task that this would starve.
// A Reader is for one goroutine at a time; errors are sticky.
func (ch *IOChannel) Reader() io.Reader {
	r := &chanReader{ch: ch}
	r.cond.L = &r.mu
	return r
}

type chanReader struct {
	ch   *IOChannel
	mu   sync.Mutex
	cond sync.Cond
	off  int64  // offset of the next operation (IORandom)
	buf  []byte // delivered, not yet returned
	busy bool   // an operation is in flight
	want int    // bytes the operation in flight asked for
	got  int    // bytes it delivered so far
	err  error  // io.EOF or the error that ended the last operation
}

func (r *chanReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		if len(r.buf) > 0 {
			n := copy(p, r.buf)
			r.buf = r.buf[n:]
			return n, nil
		}
		if r.err != nil {
			return 0, r.err
		}
		if !r.busy {
			r.want, r.got = len(p), 0
			if err := r.ch.read("IOChannel.Reader", r.off, len(p), nil, r.deliver); err != nil {
				return 0, err
			}
			r.busy = true
		}
		r.cond.Wait()
	}
}

// deliver is the handler of the reader's operations (on an rgcd worker).
func (r *chanReader) deliver(done bool, d C.rgcd_data_t, errno C.int) {
	var b []byte
	if d != nil {
		b = copyData(d)
	}
	r.mu.Lock()
	if len(r.buf) == 0 {
		r.buf = b
	} else {
		r.buf = append(r.buf, b...)
	}
	r.got += len(b)
	if done {
		r.busy = false
		r.off += int64(r.got)
		if errno != 0 {
			r.err = ioErr("IOChannel.Reader", errno)
		} else if r.got < r.want {
			r.err = io.EOF
		}
	}
	r.mu.Unlock()
	r.cond.Broadcast()
}

// Writer returns an io.Writer over the channel: each Write copies p into a Data, submits it
// and blocks until the channel wrote it all or failed (an *IOError; Close(true) gives
// ECANCELED), returning the bytes written. On an IORandom channel it writes from offset 0
// on. Handlers run on the default global queue. Writes through one Writer are serialised.
func (ch *IOChannel) Writer() io.Writer { return &chanWriter{ch: ch} }

type chanWriter struct {
	ch  *IOChannel
	mu  sync.Mutex
	off int64
}

type writeResult struct {
	n     int
	errno C.int
}

func (w *chanWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	d, err := NewData(p)
	if err != nil {
		return 0, err
	}
	total := len(p)
	res := make(chan writeResult, 1)
	err = w.ch.write("IOChannel.Writer", w.off, d, nil, func(done bool, rem C.rgcd_data_t, errno C.int) {
		if !done {
			return
		}
		left := 0
		if rem != nil {
			left = int(C.rgcd_data_get_size(rem))
		}
		res <- writeResult{total - left, errno}
	})
	d.Close()
	if err != nil {
		return 0, err
	}
	r := <-res
	w.off += int64(r.n)
	if r.errno != 0 {
		return r.n, ioErr("IOChannel.Writer", r.errno)
	}
	if r.n < total {
		return r.n, io.ErrShortWrite
	}
	return r.n, nil
}

// ReadAsync reads from fd once, asynchronously (rgcd_read_f), and calls handler once on q
// (nil: the default global queue) with up to length bytes (negative: no limit): what had
// arrived when the fd would have blocked (a pipe or socket waits for the first byte),
// everything up to end of file, or length bytes. An empty data with a nil error means end
// of file. data is the handler's (Close it or leave it to the finalizer); err is an *IOError.
func ReadAsync(fd int, length int, q *Queue, handler func(data *Data, err error)) error {
	return readFD("ReadAsync", fd, length, q, func(d C.rgcd_data_t, errno C.int) {
		handler(borrowData(d), ioErr("ReadAsync", errno))
	})
}

func readFD(op string, fd, length int, q *Queue, f ioDataFunc) error {
	q, qh, err := handlerQueue(q)
	if err != nil {
		return err
	}
	slot := slotPut(f)
	r := C.rgcd_go_read(C.int(fd), sizeArg(length), qh, C.uintptr_t(slot))
	runtime.KeepAlive(q)
	if r.status < 0 {
		slotFree(slot)
		return check(op, r)
	}
	return nil
}

// WriteAsync writes all of data to fd, asynchronously (rgcd_write_f), and calls handler
// (nil: none) once on q (nil: the default global queue): with a nil remaining and a nil
// error when every byte was written, else the bytes not written and an *IOError. Writes to
// one fd land in the order they were submitted.
func WriteAsync(fd int, data *Data, q *Queue, handler func(remaining *Data, err error)) error {
	return writeFD("WriteAsync", fd, data, q, func(d C.rgcd_data_t, errno C.int) {
		if handler != nil {
			handler(borrowData(d), ioErr("WriteAsync", errno))
		}
	})
}

func writeFD(op string, fd int, data *Data, q *Queue, f ioDataFunc) error {
	dh := data.c()
	if dh == nil {
		return ErrClosed
	}
	q, qh, err := handlerQueue(q)
	if err != nil {
		return err
	}
	slot := slotPut(f)
	r := C.rgcd_go_write(C.int(fd), dh, qh, C.uintptr_t(slot))
	runtime.KeepAlive(data)
	runtime.KeepAlive(q)
	if r.status < 0 {
		slotFree(slot)
		return check(op, r)
	}
	return nil
}

// ReadAll reads fd to end of file through ReadAsync and returns the bytes, blocking the
// calling goroutine (not a thread: rgcd's reactor waits on the fd). On an error it returns
// what was read before it and an *IOError.
func ReadAll(fd int) ([]byte, error) {
	type piece struct {
		b     []byte
		errno C.int
	}
	res := make(chan piece, 1)
	var out []byte
	for {
		err := readFD("ReadAll", fd, -1, nil, func(d C.rgcd_data_t, errno C.int) {
			var b []byte
			if d != nil {
				b = copyData(d)
			}
			res <- piece{b, errno}
		})
		if err != nil {
			return out, err
		}
		p := <-res
		out = append(out, p.b...)
		if p.errno != 0 {
			return out, ioErr("ReadAll", p.errno)
		}
		if len(p.b) == 0 {
			if out == nil {
				out = []byte{}
			}
			return out, nil
		}
	}
}

// WriteAll writes b to fd through WriteAsync, blocking the calling goroutine until every
// byte was written or the write failed (then it returns the count written and an *IOError).
func WriteAll(fd int, b []byte) (int, error) {
	d, err := NewData(b)
	if err != nil {
		return 0, err
	}
	total := len(b)
	res := make(chan writeResult, 1)
	err = writeFD("WriteAll", fd, d, nil, func(rem C.rgcd_data_t, errno C.int) {
		left := 0
		if rem != nil {
			left = int(C.rgcd_data_get_size(rem))
		}
		res <- writeResult{total - left, errno}
	})
	d.Close()
	if err != nil {
		return 0, err
	}
	r := <-res
	return r.n, ioErr("WriteAll", r.errno)
}
