// Fan-out: process items in parallel on a global queue and get the results in input order.
package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	rgcd "github.com/rgcd/rgcd/bindings/go"
)

// FanOut calls f on every item in parallel and returns the results in the order of items.
func FanOut[T, R any](items []T, f func(T) R) ([]R, error) {
	g, err := rgcd.NewGroup()
	if err != nil {
		return nil, err
	}
	defer g.Close()
	results := make([]R, len(items))
	q := rgcd.Global(rgcd.QoSUserInitiated)
	for i, item := range items {
		if err := g.Go(q, func() { results[i] = f(item) }); err != nil {
			return nil, err
		}
	}
	g.Wait(rgcd.Forever)
	return results, nil
}

func run(w io.Writer) error {
	items := []string{"item1", "item2", "item3", "item4", "item5"}
	results, err := FanOut(items, func(s string) string {
		time.Sleep(10 * time.Millisecond) // simulated work
		return strings.ToUpper(s)
	})
	if err != nil {
		return err
	}
	for i, r := range results {
		fmt.Fprintf(w, "%s -> %s\n", items[i], r)
	}
	return nil
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
