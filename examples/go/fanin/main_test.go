package main

import (
	"strings"
	"testing"
)

func TestFanIn(t *testing.T) {
	var out strings.Builder
	if err := run(&out); err != nil {
		t.Fatal(err)
	}
	want := "total 6: a-0 a-1 a-2 b-0 b-1 c-0\n"
	if out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
}
