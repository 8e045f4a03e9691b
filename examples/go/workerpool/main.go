// Worker pool: run tasks on a concurrent queue with at most N at a time, bounded by a
// semaphore, and collect the results by task id.
package main

import (
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	rgcd "github.com/rgcd/rgcd/bindings/go"
)

// Pool runs submitted tasks with at most workers of them at once.
type Pool struct {
	q    *rgcd.Queue
	g    *rgcd.Group
	sema *rgcd.Semaphore
}

// NewPool makes a pool of the given width.
func NewPool(workers int) (*Pool, error) {
	q, err := rgcd.NewQueue("workerpool", rgcd.Concurrent())
	if err != nil {
		return nil, err
	}
	g, err := rgcd.NewGroup()
	if err != nil {
		return nil, err
	}
	sema, err := rgcd.NewSemaphore(workers)
	if err != nil {
		return nil, err
	}
	return &Pool{q, g, sema}, nil
}

// Submit waits for a free worker (back-pressure on the submitter), then runs task.
func (p *Pool) Submit(task func()) {
	p.sema.Wait(rgcd.Forever)
	p.g.Go(p.q, func() {
		defer p.sema.Signal()
		task()
	})
}

// Wait waits for every submitted task.
func (p *Pool) Wait() { p.g.Wait(rgcd.Forever) }

// Close releases the pool.
func (p *Pool) Close() {
	p.q.Close()
	p.g.Close()
	p.sema.Close()
}

func run(w io.Writer) error {
	const workers, tasks = 5, 20
	pool, err := NewPool(workers)
	if err != nil {
		return err
	}
	defer pool.Close()
	results := make([]int, tasks)
	var running, peak atomic.Int32
	for i := 0; i < tasks; i++ {
		pool.Submit(func() {
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(2 * time.Millisecond)
			results[i] = i * i
			running.Add(-1)
		})
	}
	pool.Wait()
	for i, r := range results {
		fmt.Fprintf(w, "task %d -> %d\n", i, r)
	}
	fmt.Fprintf(w, "at most %d at once: %v\n", workers, peak.Load() <= workers)
	return nil
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
