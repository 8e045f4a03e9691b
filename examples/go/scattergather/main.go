// Scatter-gather: call several services at once, each with its own timeout, and gather
// whatever answered in time.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	rgcd "github.com/rgcd/rgcd/bindings/go"
)

// A Service answers a request, taking its time.
type Service func(request string) (string, error)

// ErrTimeout is the error of a call that did not answer within its timeout.
var ErrTimeout = errors.New("timed out")

// ScatterGather calls every service in parallel; each call gets timeout from the start.
// It returns the responses and errors in service order.
func ScatterGather(request string, services []Service, timeout time.Duration) ([]string, []error) {
	responses := make([]string, len(services))
	errs := make([]error, len(services))
	groups := make([]*rgcd.Group, len(services))
	type answer struct {
		resp string
		err  error
	}
	answers := make([]*answer, len(services))
	for i, svc := range services {
		g, err := rgcd.NewGroup()
		if err != nil {
			errs[i] = err
			continue
		}
		defer g.Close()
		groups[i] = g
		a := new(answer) // a late answer lands here, where nobody reads it
		answers[i] = a
		g.Go(nil, func() { a.resp, a.err = svc(request) })
	}
	deadline := time.Now().Add(timeout)
	for i, g := range groups {
		if g == nil {
			continue
		}
		if !g.Wait(time.Until(deadline)) {
			errs[i] = ErrTimeout
			continue
		}
		responses[i], errs[i] = answers[i].resp, answers[i].err
	}
	return responses, errs
}

func service(name string, delay time.Duration, fail bool) Service {
	return func(req string) (string, error) {
		time.Sleep(delay)
		if fail {
			return "", fmt.Errorf("%s: unavailable", name)
		}
		return name + " answers " + req, nil
	}
}

func run(w io.Writer) error {
	services := []Service{
		service("inventory", 5*time.Millisecond, false),
		service("payment", 10*time.Millisecond, false),
		service("shipping", 10*time.Second, false), // too slow
		service("pricing", 5*time.Millisecond, true),
	}
	start := time.Now()
	// A generous timeout: the fast services answer in milliseconds even on a loaded machine.
	resp, errs := ScatterGather("order-42", services, 2*time.Second)
	for i := range services {
		if errs[i] != nil {
			fmt.Fprintf(w, "service %d: error: %v\n", i, errs[i])
		} else {
			fmt.Fprintf(w, "service %d: %s\n", i, resp[i])
		}
	}
	fmt.Fprintf(w, "gathered within the timeout: %v\n", time.Since(start) < 5*time.Second)
	return nil
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
