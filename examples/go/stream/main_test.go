package main

import (
	"strings"
	"testing"
)

func TestStream(t *testing.T) {
	var out strings.Builder
	if err := run(&out); err != nil {
		t.Fatal(err)
	}
	want := "processed 50 items, all correct: true, sum 40425\nin flight at most 4: true\n"
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
}
