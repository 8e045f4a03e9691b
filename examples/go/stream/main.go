// Stream processing with back-pressure: items arrive on a channel; at most `concurrency`
// are processed at once (a semaphore the reader waits on, so a slow processor slows the
// reader and, through the unbuffered input, the producer); results leave on a bounded
// channel.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"sync/atomic"
	"time"

	rgcd "github.com/rgcd/rgcd/bindings/go"
)

// Result is a processed item.
type Result struct {
	Item, Value int
}

// StreamStats reports the peak number of items in flight.
type StreamStats struct{ Peak atomic.Int32 }

// ProcessStream processes items from input with at most concurrency at once and sends the
// results to the returned channel (buffer bufferSize), which is closed after the last one.
func ProcessStream(input <-chan int, concurrency, bufferSize int, f func(int) int, st *StreamStats) (<-chan Result, error) {
	slots, err := rgcd.NewSemaphore(concurrency)
	if err != nil {
		return nil, err
	}
	g, err := rgcd.NewGroup()
	if err != nil {
		return nil, err
	}
	q := rgcd.Global(rgcd.QoSUtility)
	output := make(chan Result, bufferSize)
	var inFlight atomic.Int32
	go func() {
		for item := range input {
			slots.Wait(rgcd.Forever) // back-pressure: no free slot, no reading
			n := inFlight.Add(1)
			for p := st.Peak.Load(); n > p && !st.Peak.CompareAndSwap(p, n); p = st.Peak.Load() {
			}
			g.Go(q, func() {
				output <- Result{item, f(item)} // blocks while the consumer lags
				inFlight.Add(-1)
				slots.Signal()
			})
		}
		g.Wait(rgcd.Forever)
		close(output)
		g.Close()
		slots.Close()
	}()
	return output, nil
}

func run(w io.Writer) error {
	const items, concurrency = 50, 4
	input := make(chan int)
	go func() {
		defer close(input)
		for i := 0; i < items; i++ {
			input <- i
		}
	}()
	var st StreamStats
	out, err := ProcessStream(input, concurrency, 8, func(v int) int {
		time.Sleep(time.Millisecond)
		return v * v
	}, &st)
	if err != nil {
		return err
	}
	var results []Result
	for r := range out {
		results = append(results, r)
	}
	sort.Slice(results, func(i, j int) bool { return results[i].Item < results[j].Item })
	sum := 0
	ok := len(results) == items
	for i, r := range results {
		ok = ok && r.Item == i && r.Value == i*i
		sum += r.Value
	}
	fmt.Fprintf(w, "processed %d items, all correct: %v, sum %d\n", len(results), ok, sum)
	fmt.Fprintf(w, "in flight at most %d: %v\n", concurrency, st.Peak.Load() <= concurrency)
	return nil
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
