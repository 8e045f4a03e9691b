package main

import (
	"fmt"
	"strings"
	"testing"
)

func TestPipeline(t *testing.T) {
	var out strings.Builder
	if err := run(&out); err != nil {
		t.Fatal(err)
	}
	want := "saved PARSED:RAW(A)\nsaved PARSED:RAW(B)\nsaved PARSED:RAW(C)\n"
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
}

func TestPipelineKeepsOrder(t *testing.T) {
	in := make([]string, 10000)
	for i := range in {
		in[i] = fmt.Sprint(i)
	}
	out, err := Pipeline(in, func(s string) string { return s + "." }, func(s string) string { return s + "!" })
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range out {
		if o != fmt.Sprint(i)+".!" {
			t.Fatalf("output %d is %q", i, o)
		}
	}
}
