// Fan-in: fetch from several sources at once and aggregate their data on one serial queue.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	rgcd "github.com/rgcd/rgcd/bindings/go"
)

// FanIn runs every source in parallel; as each finishes, its data is appended on a serial
// queue (no lock needed); it returns the data once every source's data is in.
func FanIn(sources []func() []string) ([]string, error) {
	agg, err := rgcd.NewQueue("fanin.aggregate")
	if err != nil {
		return nil, err
	}
	defer agg.Close()
	g, err := rgcd.NewGroup()
	if err != nil {
		return nil, err
	}
	defer g.Close()
	var combined []string
	for _, src := range sources {
		g.Go(nil, func() {
			data := src()
			g.Enter() // the append below is part of the group too
			agg.Async(func() { combined = append(combined, data...); g.Leave() })
		})
	}
	done := make(chan []string)
	g.Notify(agg, func() { done <- combined })
	return <-done, nil
}

func source(name string, n int, delay time.Duration) func() []string {
	return func() []string {
		time.Sleep(delay)
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%s-%d", name, i)
		}
		return out
	}
}

func run(w io.Writer) error {
	all, err := FanIn([]func() []string{
		source("a", 3, 30*time.Millisecond),
		source("b", 2, 10*time.Millisecond),
		source("c", 1, 20*time.Millisecond),
	})
	if err != nil {
		return err
	}
	sort.Strings(all) // arrival order depends on timing
	fmt.Fprintf(w, "total %d: %s\n", len(all), strings.Join(all, " "))
	return nil
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
