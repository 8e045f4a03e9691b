package main

import (
	"strings"
	"testing"
)

func TestScatterGather(t *testing.T) {
	var out strings.Builder
	if err := run(&out); err != nil {
		t.Fatal(err)
	}
	want := `service 0: inventory answers order-42
service 1: payment answers order-42
service 2: error: timed out
service 3: error: pricing: unavailable
gathered within the timeout: true
`
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
}
