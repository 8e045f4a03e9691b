package main

import (
	"fmt"
	"strings"
	"testing"
)

func TestWorkerPool(t *testing.T) {
	var out strings.Builder
	if err := run(&out); err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for i := 0; i < 20; i++ {
		fmt.Fprintf(&want, "task %d -> %d\n", i, i*i)
	}
	want.WriteString("at most 5 at once: true\n")
	if out.String() != want.String() {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want.String())
	}
}
