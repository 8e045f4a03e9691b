package rgcd

import (
	"bytes"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"
)

func mustData(t *testing.T, b []byte) *Data {
	t.Helper()
	d, err := NewData(b)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDataBytes(t *testing.T) {
	liveCheck(t)
	src := []byte("hello, rgcd")
	d := mustData(t, src)
	defer d.Close()
	src[0] = 'J' // NewData copied it
	if d.Len() != len(src) {
		t.Fatalf("Len = %d", d.Len())
	}
	b := d.Bytes()
	if string(b) != "hello, rgcd" {
		t.Fatalf("Bytes = %q", b)
	}
	b[0] = 'X' // Bytes is a copy
	if string(d.Bytes()) != "hello, rgcd" {
		t.Fatal("Bytes aliased the data")
	}

	e := mustData(t, nil)
	if e.Len() != 0 || e.Bytes() == nil || len(e.Bytes()) != 0 {
		t.Fatalf("empty data: Len %d Bytes %v", e.Len(), e.Bytes())
	}
	if !e.Regions(func(int, []byte) bool { t.Error("region of the empty data"); return true }) {
		t.Error("Regions over the empty data returned false")
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestDataConcatSubrangeRegions(t *testing.T) {
	liveCheck(t)
	a := mustData(t, []byte("abcdef"))
	b := mustData(t, []byte("ghij"))
	c, err := a.Concat(b)
	if err != nil {
		t.Fatal(err)
	}
	// The parts may go: the concatenation shares their memory.
	a.Close()
	b.Close()
	if got := string(c.Bytes()); got != "abcdefghij" || c.Len() != 10 {
		t.Fatalf("Concat = %q (Len %d)", got, c.Len())
	}

	type region struct {
		off int
		s   string
	}
	var regions []region
	if !c.Regions(func(off int, b []byte) bool {
		regions = append(regions, region{off, string(b)})
		return true
	}) {
		t.Fatal("Regions stopped early")
	}
	if len(regions) != 2 || regions[0] != (region{0, "abcdef"}) || regions[1] != (region{6, "ghij"}) {
		t.Fatalf("regions = %+v", regions)
	}
	calls := 0
	if c.Regions(func(int, []byte) bool { calls++; return false }) || calls != 1 {
		t.Fatalf("stopping Regions: calls %d", calls)
	}

	s, err := c.Subrange(4, 4)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(s.Bytes()); got != "efgh" {
		t.Fatalf("Subrange(4, 4) = %q", got)
	}
	tail, err := c.Subrange(8, 100) // clipped
	if err != nil {
		t.Fatal(err)
	}
	if got := string(tail.Bytes()); got != "ij" {
		t.Fatalf("Subrange(8, 100) = %q", got)
	}
	past, err := c.Subrange(100, 1)
	if err != nil || past.Len() != 0 {
		t.Fatalf("Subrange past the end: %v, Len %d", err, past.Len())
	}
	if _, err := c.Subrange(-1, 1); !errors.Is(err, ErrInvalid) {
		t.Fatalf("negative offset: %v", err)
	}
	for _, d := range []*Data{c, s, tail, past} {
		d.Close()
	}
}

func TestDataRegionsPanic(t *testing.T) {
	liveCheck(t)
	d := mustData(t, []byte("x"))
	defer d.Close()
	v := panicsWith(func() { d.Regions(func(int, []byte) bool { panic("boom") }) })
	if s, _ := v.(string); !strings.Contains(s, "boom") {
		t.Fatalf("panic = %v", v)
	}
	if !bytes.Equal(d.Bytes(), []byte("x")) {
		t.Fatal("data changed")
	}
}

func TestDataClose(t *testing.T) {
	liveCheck(t)
	d := mustData(t, []byte("abc"))
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if d.Len() != 0 || d.Bytes() != nil || d.Regions(func(int, []byte) bool { return true }) {
		t.Fatal("a closed Data still answers")
	}
	if _, err := d.Subrange(0, 1); err != ErrClosed {
		t.Fatalf("Subrange after Close: %v", err)
	}
	other := mustData(t, []byte("z"))
	defer other.Close()
	if _, err := other.Concat(d); err != ErrClosed {
		t.Fatalf("Concat with a closed Data: %v", err)
	}
}

func TestDataFinalizer(t *testing.T) {
	start := LiveObjects()
	func() {
		for i := 0; i < 100; i++ {
			d := mustData(t, bytes.Repeat([]byte{byte(i)}, 1000))
			if d.Len() != 1000 {
				t.Fatal("Len")
			}
		}
	}()
	if LiveObjects() < start+100 {
		t.Fatalf("live objects: %d (start %d): data objects are not counted", LiveObjects(), start)
	}
	waitFor(t, 10*time.Second, "collected Data released", func() bool {
		runtime.GC()
		return LiveObjects() <= start
	})
}
