package rgcd

import (
	"sync"
	"testing"
	"time"
)

// The benchmarks run rgcd and the Go runtime's equivalent side by side in one run and print
// the ratio (rgcd / Go): below 1 means rgcd is faster.

const benchTasks = 1_000_000

func fanoutRgcd(n int) time.Duration {
	g, _ := NewGroup()
	defer g.Close()
	q := Global(QoSDefault)
	var sink [64]int64
	start := time.Now()
	for i := 0; i < n; i++ {
		g.Go(q, func() { sink[0]++ })
	}
	g.Wait(Forever)
	return time.Since(start)
}

func fanoutGoroutines(n int) time.Duration {
	var wg sync.WaitGroup
	var sink [64]int64
	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() { sink[0]++; wg.Done() }()
	}
	wg.Wait()
	return time.Since(start)
}

func perOp(d time.Duration, n int) float64 { return float64(d.Nanoseconds()) / float64(n) }

// BenchmarkFanout: 1,000,000 empty tasks through a group and the default global queue against
// 1,000,000 goroutines and a sync.WaitGroup.
func BenchmarkFanout(b *testing.B) {
	fanoutRgcd(benchTasks / 10)
	fanoutGoroutines(benchTasks / 10)
	var r, g time.Duration
	for i := 0; i < b.N; i++ {
		r += fanoutRgcd(benchTasks)
		g += fanoutGoroutines(benchTasks)
	}
	rn, gn := perOp(r, b.N*benchTasks), perOp(g, b.N*benchTasks)
	b.ReportMetric(rn, "rgcd-ns/task")
	b.ReportMetric(gn, "goroutine-ns/task")
	b.ReportMetric(rn/gn, "ratio")
	b.Logf("fanout rgcd %.1f ns/task, goroutines+WaitGroup %.1f ns/task, ratio %.2f", rn, gn, rn/gn)
}
