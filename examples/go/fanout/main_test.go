package main

import (
	"strings"
	"testing"
)

func TestFanOut(t *testing.T) {
	var out strings.Builder
	if err := run(&out); err != nil {
		t.Fatal(err)
	}
	want := "item1 -> ITEM1\nitem2 -> ITEM2\nitem3 -> ITEM3\nitem4 -> ITEM4\nitem5 -> ITEM5\n"
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
}
