module github.com/rgcd/rgcd/bindings/go

go 1.24
