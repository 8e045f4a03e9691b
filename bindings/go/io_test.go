package rgcd

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// No SIGPIPE handling here: rgcd's threads block SIGPIPE, so its writes to a pipe without a
// reader fail with EPIPE (TestIOAsyncAndAll checks it).

// pipe returns a raw pipe (not Go's os.Pipe: the runtime would own those fds).
func pipe(t *testing.T) (r, w int) {
	t.Helper()
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	return fds[0], fds[1]
}

// closingChannel creates a stream channel whose cleanup closes fd and reports on the
// returned channel.
func closingChannel(t *testing.T, kind IOKind, fd int) (*IOChannel, <-chan error) {
	t.Helper()
	cleaned := make(chan error, 2)
	ch, err := NewIOChannel(kind, fd, nil, func(err error) {
		syscall.Close(fd)
		cleaned <- err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ch, cleaned
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	return b
}

func TestIOPipeCopy(t *testing.T) {
	liveCheck(t)
	rfd, wfd := pipe(t)
	wch, wdone := closingChannel(t, IOStream, wfd)
	rch, rdone := closingChannel(t, IOStream, rfd)
	src := randomBytes(3<<20 + 12345)

	copied := make(chan error, 1)
	go func() {
		// Odd-sized writes, so pieces and pipe buffers do not line up.
		_, err := io.CopyBuffer(wch.Writer(), struct{ io.Reader }{bytes.NewReader(src)}, make([]byte, 100003))
		if cerr := wch.Close(false); err == nil {
			err = cerr
		}
		copied <- err
	}()
	var dst bytes.Buffer
	r := rch.Reader()
	n, err := io.CopyBuffer(&dst, struct{ io.Reader }{r}, make([]byte, 65537))
	if err != nil {
		t.Fatalf("reading: %v after %d bytes", err, n)
	}
	if err := recv(t, copied); err != nil {
		t.Fatalf("writing: %v", err)
	}
	if !bytes.Equal(dst.Bytes(), src) {
		t.Fatalf("read %d bytes, wrote %d: data differs", dst.Len(), len(src))
	}
	// EOF is sticky.
	if n, err := r.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Fatalf("Read after EOF: %d, %v", n, err)
	}
	if err := recv(t, wdone); err != nil {
		t.Fatalf("writer cleanup: %v", err)
	}
	if err := rch.Close(false); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, rdone); err != nil {
		t.Fatalf("reader cleanup: %v", err)
	}
	if err := rch.Close(true); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := r.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("Read after Close: %v", err)
	}
	if _, err := rch.Reader().Read(make([]byte, 1)); err != ErrClosed {
		t.Fatalf("new Reader after Close: %v", err)
	}
}

func TestIOReaderEOF(t *testing.T) {
	liveCheck(t)
	rfd, wfd := pipe(t)
	if _, err := syscall.Write(wfd, []byte("short")); err != nil {
		t.Fatal(err)
	}
	syscall.Close(wfd)
	rch, rdone := closingChannel(t, IOStream, rfd)
	defer rch.Close(false)
	r := rch.Reader()
	buf := make([]byte, 3)
	var got []byte
	for {
		n, err := r.Read(buf)
		got = append(got, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if string(got) != "short" {
		t.Fatalf("read %q", got)
	}
	rch.Close(false)
	recv(t, rdone)
}

// readerBusy waits until the reader has an operation in flight.
func readerBusy(t *testing.T, r io.Reader) {
	cr := r.(*chanReader)
	waitFor(t, 10*time.Second, "a read in flight", func() bool {
		cr.mu.Lock()
		defer cr.mu.Unlock()
		return cr.busy
	})
}

func TestIOCloseStop(t *testing.T) {
	liveCheck(t)

	// A read waiting on an empty pipe.
	rfd, rpeer := pipe(t)
	defer syscall.Close(rpeer)
	rch, rdone := closingChannel(t, IOStream, rfd)
	r := rch.Reader()
	readErr := make(chan error, 1)
	go func() {
		_, err := r.Read(make([]byte, 100))
		readErr <- err
	}()
	readerBusy(t, r)

	// A write blocked on a full pipe.
	wpeer, wfd := pipe(t)
	defer syscall.Close(wpeer)
	wch, wdone := closingChannel(t, IOStream, wfd)
	type result struct {
		n   int
		err error
	}
	wrote := make(chan result, 1)
	go func() {
		n, err := wch.Writer().Write(make([]byte, 4<<20))
		wrote <- result{n, err}
	}()
	time.Sleep(50 * time.Millisecond) // let the write fill the pipe

	if err := rch.Close(true); err != nil {
		t.Fatal(err)
	}
	err := recv(t, readErr)
	if !errors.Is(err, syscall.ECANCELED) {
		t.Fatalf("read after Close(true): %v", err)
	}
	var ioe *IOError
	if !errors.As(err, &ioe) || ioe.Errno != syscall.ECANCELED {
		t.Fatalf("not an *IOError: %#v", err)
	}
	if err := recv(t, rdone); err != nil {
		t.Fatalf("reader cleanup: %v", err)
	}

	if err := wch.Close(true); err != nil {
		t.Fatal(err)
	}
	res := recv(t, wrote)
	if !errors.Is(res.err, syscall.ECANCELED) {
		t.Fatalf("write after Close(true): %d, %v", res.n, res.err)
	}
	if res.n >= 4<<20 {
		t.Fatalf("wrote %d bytes into a pipe nobody read", res.n)
	}
	recv(t, wdone)
}

func TestIOChannelFile(t *testing.T) {
	liveCheck(t)
	path := filepath.Join(t.TempDir(), "f")
	src := randomBytes(1 << 20)
	if err := os.WriteFile(path, src, 0o600); err != nil {
		t.Fatal(err)
	}
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	ch, cleaned := closingChannel(t, IORandom, fd)
	if err := ch.SetHighWater(100000); err != nil {
		t.Fatal(err)
	}
	q, err := NewQueue("io.file")
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	type piece struct {
		done bool
		b    []byte
		err  error
	}
	pieces := make(chan piece, 100)
	err = ch.Read(1000, -1, q, func(done bool, d *Data, err error) {
		var b []byte
		if d != nil {
			b = d.Bytes()
			d.Close()
		}
		pieces <- piece{done, b, err}
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	for {
		p := recv(t, pieces)
		if p.err != nil {
			t.Fatal(p.err)
		}
		if len(p.b) > 100000 {
			t.Fatalf("a piece of %d bytes, high water 100000", len(p.b))
		}
		got = append(got, p.b...)
		if p.done {
			break
		}
	}
	if !bytes.Equal(got, src[1000:]) {
		t.Fatalf("read %d bytes from offset 1000: data differs", len(got))
	}

	// A Reader over a RANDOM channel starts at 0; a barrier runs after it.
	all, err := io.ReadAll(ch.Reader())
	if err != nil || !bytes.Equal(all, src) {
		t.Fatalf("ReadAll: %v, %d bytes", err, len(all))
	}
	barrier := make(chan int, 1)
	if err := ch.Barrier(func() { barrier <- ch.Descriptor() }); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, barrier); got != fd {
		t.Fatalf("Descriptor in the barrier = %d, want %d", got, fd)
	}
	ch.Close(false)
	if err := recv(t, cleaned); err != nil {
		t.Fatal(err)
	}
}

func TestIOChannelWrite(t *testing.T) {
	liveCheck(t)
	rfd, wfd := pipe(t)
	wch, wdone := closingChannel(t, IOStream, wfd)
	d := mustData(t, []byte("via a channel"))
	calls := make(chan bool, 10)
	var remaining *Data
	err := wch.Write(0, d, nil, func(done bool, rem *Data, err error) {
		if err != nil {
			t.Error(err)
		}
		if done {
			remaining = rem
		} else if rem != nil {
			rem.Close()
		}
		calls <- done
	})
	d.Close() // the channel holds its own reference
	if err != nil {
		t.Fatal(err)
	}
	for !recv(t, calls) {
	}
	if remaining != nil {
		t.Fatalf("remaining %d bytes", remaining.Len())
	}
	wch.Close(false)
	recv(t, wdone)
	got, err := ReadAll(rfd)
	syscall.Close(rfd)
	if err != nil || string(got) != "via a channel" {
		t.Fatalf("ReadAll: %q, %v", got, err)
	}
}

func TestIOCleanupBadFD(t *testing.T) {
	liveCheck(t)
	rfd, wfd := pipe(t)
	syscall.Close(rfd)
	syscall.Close(wfd)
	cleaned := make(chan error, 1)
	ch, err := NewIOChannel(IOStream, rfd, nil, func(err error) { cleaned <- err })
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close(false)
	if err := recv(t, cleaned); !errors.Is(err, syscall.EBADF) {
		t.Fatalf("cleanup of a closed fd: %v", err)
	}
	if _, err := NewIOChannel(IOStream, -1, nil, func(error) { t.Error("cleanup of a failed channel") }); !errors.Is(err, ErrInvalid) {
		t.Fatalf("fd -1: %v", err)
	}
	// A RANDOM channel over a pipe is refused with ESPIPE.
	rfd, wfd = pipe(t)
	defer syscall.Close(rfd)
	defer syscall.Close(wfd)
	ch2, err := NewIOChannel(IORandom, rfd, nil, func(err error) { cleaned <- err })
	if err != nil {
		t.Fatal(err)
	}
	defer ch2.Close(false)
	if err := recv(t, cleaned); !errors.Is(err, syscall.ESPIPE) {
		t.Fatalf("cleanup of a RANDOM pipe: %v", err)
	}
}

func TestIOAsyncAndAll(t *testing.T) {
	liveCheck(t)
	rfd, wfd := pipe(t)
	src := randomBytes(1 << 20)
	wrote := make(chan error, 1)
	go func() {
		n, err := WriteAll(wfd, src)
		if err == nil && n != len(src) {
			err = io.ErrShortWrite
		}
		syscall.Close(wfd)
		wrote <- err
	}()
	got, err := ReadAll(rfd)
	if err != nil || !bytes.Equal(got, src) {
		t.Fatalf("ReadAll: %v, %d bytes", err, len(got))
	}
	if err := recv(t, wrote); err != nil {
		t.Fatal(err)
	}

	// EOF: an empty Data with no error.
	type res struct {
		n   int
		err error
	}
	rc := make(chan res, 1)
	if err := ReadAsync(rfd, -1, nil, func(d *Data, err error) {
		rc <- res{d.Len(), err}
		d.Close()
	}); err != nil {
		t.Fatal(err)
	}
	if r := recv(t, rc); r.n != 0 || r.err != nil {
		t.Fatalf("ReadAsync at EOF: %+v", r)
	}
	syscall.Close(rfd)

	// A write to a pipe without readers fails with EPIPE (rgcd's threads block SIGPIPE).
	rfd, wfd = pipe(t)
	syscall.Close(rfd)
	d := mustData(t, []byte("nobody listens"))
	wc := make(chan res, 1)
	if err := WriteAsync(wfd, d, nil, func(rem *Data, err error) {
		n := -1
		if rem != nil {
			n = rem.Len()
			rem.Close()
		}
		wc <- res{n, err}
	}); err != nil {
		t.Fatal(err)
	}
	d.Close()
	if r := recv(t, wc); !errors.Is(r.err, syscall.EPIPE) || r.n != len("nobody listens") {
		t.Fatalf("WriteAsync to a closed pipe: %+v", r)
	}
	syscall.Close(wfd)

	if err := ReadAsync(-1, 1, nil, func(*Data, error) {}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("ReadAsync(-1): %v", err)
	}
}

func TestIOChannelPath(t *testing.T) {
	liveCheck(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "out")
	cleaned := make(chan error, 1)
	ch, err := NewIOChannelPath(IOStream, path, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_TRUNC, 0o600, nil,
		func(err error) { cleaned <- err })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(ch.Writer(), "by path"); err != nil {
		t.Fatal(err)
	}
	ch.Close(false)
	if err := recv(t, cleaned); err != nil {
		t.Fatalf("cleanup: %v", err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "by path" {
		t.Fatalf("file: %q, %v", b, err)
	}

	// A path that cannot be opened fails the operations.
	missing, err := NewIOChannelPath(IOStream, filepath.Join(dir, "missing"), syscall.O_RDONLY, 0, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := missing.Reader().Read(make([]byte, 10)); !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("Read of a missing file: %v", err)
	}
	missing.Close(false)
	if _, err := NewIOChannelPath(IOStream, "relative", syscall.O_RDONLY, 0, nil, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("relative path: %v", err)
	}
}
