//go:build !rgcd_nopkgconfig

package rgcd

// The installed library, found with pkg-config, linked statically: -Bstatic makes the
// linker take librgcd.a although librgcd.so sits beside it, and --as-needed keeps the
// -lrgcd that pkg-config prints from adding librgcd.so as a dependency. Build with
// -tags rgcd_nopkgconfig to give every flag in CGO_CFLAGS and CGO_LDFLAGS instead.

// #cgo pkg-config: --static rgcd
// #cgo LDFLAGS: -Wl,--as-needed -Wl,-Bstatic -lrgcd -Wl,-Bdynamic
import "C"
