module github.com/rgcd/rgcd/examples/go

go 1.24

require github.com/rgcd/rgcd/bindings/go v0.0.0

replace github.com/rgcd/rgcd/bindings/go => ../../bindings/go
