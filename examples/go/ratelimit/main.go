// Rate-limited batch processing: a timer source releases one item per interval (a token
// bucket of size one); items are processed in parallel in batches, each batch fanned out
// and waited for before the next starts.
package main

import (
	"fmt"
	"io"
	"os"
	"time"

	rgcd "github.com/rgcd/rgcd/bindings/go"
)

// Limiter hands out one token per interval.
type Limiter struct {
	timer  *rgcd.Source
	tokens *rgcd.Semaphore
}

// NewLimiter makes a limiter of one token per interval.
func NewLimiter(interval time.Duration) (*Limiter, error) {
	tokens, err := rgcd.NewSemaphore(0)
	if err != nil {
		return nil, err
	}
	timer, err := rgcd.NewTimer(nil)
	if err != nil {
		return nil, err
	}
	l := &Limiter{timer, tokens}
	timer.SetEventHandler(func() {
		// At most one token waits, however many fires were merged: no burst after idle time.
		tokens.Wait(0)
		tokens.Signal()
	})
	timer.SetTimer(0, interval, interval/10)
	return l, timer.Activate()
}

// Wait takes a token.
func (l *Limiter) Wait() { l.tokens.Wait(rgcd.Forever) }

// Close stops the limiter.
func (l *Limiter) Close() {
	l.timer.Close()
	l.tokens.Close()
}

// ProcessInBatches processes items batchSize at a time, taking a token before starting each
// item, and returns the results in input order.
func ProcessInBatches(items []int, batchSize int, lim *Limiter, f func(int) int) []int {
	results := make([]int, len(items))
	for start := 0; start < len(items); start += batchSize {
		end := min(start+batchSize, len(items))
		g, _ := rgcd.NewGroup()
		for i := start; i < end; i++ {
			lim.Wait()
			g.Go(nil, func() { results[i] = f(items[i]) })
		}
		g.Wait(rgcd.Forever)
		g.Close()
	}
	return results
}

func run(w io.Writer) error {
	const interval = 10 * time.Millisecond
	// Timed from before the limiter starts: its first token comes at once, the tenth no
	// earlier than nine intervals after the timer was armed (timers never fire early).
	start := time.Now()
	lim, err := NewLimiter(interval)
	if err != nil {
		return err
	}
	defer lim.Close()
	items := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	results := ProcessInBatches(items, 4, lim, func(v int) int { return v * 10 })
	took := time.Since(start)
	fmt.Fprintln(w, "results:", results)
	// 10 items at one token per 10 ms take at least 9 intervals.
	fmt.Fprintln(w, "rate respected:", took >= 9*interval)
	return nil
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
