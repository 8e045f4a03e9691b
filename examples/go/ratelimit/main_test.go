package main

import (
	"strings"
	"testing"
)

func TestRateLimitedBatch(t *testing.T) {
	var out strings.Builder
	if err := run(&out); err != nil {
		t.Fatal(err)
	}
	want := "results: [10 20 30 40 50 60 70 80 90 100]\nrate respected: true\n"
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
}
