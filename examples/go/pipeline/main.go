// Pipeline: each stage is a serial queue; an item moves to the next stage's queue when a
// stage is done with it, so the stages run in parallel and every stage sees items in order.
package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	rgcd "github.com/rgcd/rgcd/bindings/go"
)

// A Stage transforms a value.
type Stage func(string) string

// Pipeline runs every input through the stages and returns the outputs in input order.
func Pipeline(inputs []string, stages ...Stage) ([]string, error) {
	queues := make([]*rgcd.Queue, len(stages))
	for i := range stages {
		q, err := rgcd.NewQueue(fmt.Sprintf("pipeline.stage%d", i))
		if err != nil {
			return nil, err
		}
		defer q.Close()
		queues[i] = q
	}
	g, err := rgcd.NewGroup()
	if err != nil {
		return nil, err
	}
	defer g.Close()
	var out []string // touched only by the last stage's serial queue
	var step func(stage int, v string)
	step = func(stage int, v string) {
		v = stages[stage](v)
		if stage+1 == len(stages) {
			out = append(out, v)
			g.Leave()
			return
		}
		queues[stage+1].Async(func() { step(stage+1, v) })
	}
	for _, in := range inputs {
		g.Enter()
		queues[0].Async(func() { step(0, in) })
	}
	g.Wait(rgcd.Forever)
	return out, nil
}

func run(w io.Writer) error {
	out, err := Pipeline(
		[]string{"https://example.com/a", "https://example.com/b", "https://example.com/c"},
		func(url string) string { return "raw(" + url[strings.LastIndex(url, "/")+1:] + ")" }, // fetch
		func(raw string) string { return "parsed:" + raw },                                    // parse
		strings.ToUpper, // transform
		func(data string) string { return "saved " + data }, // save
	)
	if err != nil {
		return err
	}
	for _, o := range out {
		fmt.Fprintln(w, o)
	}
	return nil
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
