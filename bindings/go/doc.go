// Package rgcd is Grand Central Dispatch for Go: serial and concurrent queues, groups,
// semaphores, once, apply, timers and event sources, over rgcd's C library (libdispatch's
// model, implemented in Rust).
//
// It gives Go what the runtime lacks: serial queues (ordered, lock-free actors), target
// hierarchies, timers with leeway coalescing, fd, signal and process sources on descriptors
// the Go netpoller does not own, and one thread pool shared with C and Python code in the
// same process.
//
//	q, _ := rgcd.NewQueue("com.example.counter")
//	defer q.Close()
//	g, _ := rgcd.NewGroup()
//	defer g.Close()
//	n := 0
//	for i := 0; i < 100; i++ {
//		g.Go(q, func() { n++ }) // serial: no lock needed
//	}
//	g.Wait(rgcd.Forever)
//
// Functions handed to rgcd run on rgcd's worker threads (Sync, Apply and Once.Do on the
// caller's too). C holds no Go pointer: a function waits in a Go-side table under a number
// that rgcd passes back to the callback. A panic in a function run asynchronously is
// recovered and reported to the handler set with SetPanicHandler; one in a function run
// synchronously propagates to the caller.
//
// Data wraps rgcd's immutable buffers (NewData, Bytes, Concat, Subrange, Regions) and
// IOChannel its asynchronous I/O on fds and paths, with Reader and Writer adapters to
// io.Reader and io.Writer; ReadAsync, WriteAsync, ReadAll and WriteAll work on a bare fd.
// I/O errors are *IOError, which unwraps to the syscall.Errno (EPIPE for a pipe without a
// reader: rgcd's threads block SIGPIPE).
//
// Every object has Close, which is idempotent; a finalizer releases objects that are
// garbage collected without it. Errors wrap rgcd's status (errors.Is(err, ErrDeadlock))
// and message.
//
// Linking: by default the package links the installed static library found with pkg-config
// (pkg-config --static rgcd). With the build tag rgcd_nopkgconfig it takes every flag from
// CGO_CFLAGS and CGO_LDFLAGS instead (rgcd's CMake build does this for its own tests).
package rgcd
