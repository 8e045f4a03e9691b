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

const benchHops = 200_000

func pingPongRgcd(hops int) time.Duration {
	a, _ := NewQueue("ping")
	b, _ := NewQueue("pong")
	defer a.Close()
	defer b.Close()
	done := make(chan struct{})
	n := 0
	var ping, pong func()
	ping = func() {
		if n++; n == hops {
			close(done)
			return
		}
		b.Async(pong)
	}
	pong = func() {
		if n++; n == hops {
			close(done)
			return
		}
		a.Async(ping)
	}
	start := time.Now()
	a.Async(ping)
	<-done
	return time.Since(start)
}

func pingPongChannels(hops int) time.Duration {
	ab, ba := make(chan int), make(chan int)
	done := make(chan struct{})
	go func() {
		for v := range ab {
			if v+1 == hops {
				close(done)
				return
			}
			ba <- v + 1
		}
	}()
	start := time.Now()
	v := 0
	for {
		ab <- v
		select {
		case v = <-ba:
		case <-done:
			return time.Since(start)
		}
		if v+1 == hops {
			close(ab)
			return time.Since(start)
		}
		v++
	}
}

// BenchmarkPingPong: a token handed between two serial queues (work on one asyncs to the
// other) against a token handed between two goroutines over unbuffered channels.
func BenchmarkPingPong(b *testing.B) {
	pingPongRgcd(benchHops / 10)
	pingPongChannels(benchHops / 10)
	var r, c time.Duration
	for i := 0; i < b.N; i++ {
		r += pingPongRgcd(benchHops)
		c += pingPongChannels(benchHops)
	}
	rn, cn := perOp(r, b.N*benchHops), perOp(c, b.N*benchHops)
	b.ReportMetric(rn, "rgcd-ns/hop")
	b.ReportMetric(cn, "chan-ns/hop")
	b.ReportMetric(rn/cn, "ratio")
	b.Logf("pingpong rgcd %.1f ns/hop, channels %.1f ns/hop, ratio %.2f", rn, cn, rn/cn)
}

const benchTimers = 100_000

// afterRgcd schedules n timers 10-20 ms out and returns the time to schedule them and the
// time until the last one ran.
func afterRgcd(n int) (schedule, total time.Duration) {
	q := Global(QoSDefault)
	g, _ := NewGroup()
	defer g.Close()
	start := time.Now()
	for i := 0; i < n; i++ {
		g.Enter()
		q.After(10*time.Millisecond+time.Duration(i%1000)*10*time.Microsecond, func() { g.Leave() })
	}
	schedule = time.Since(start)
	g.Wait(Forever)
	return schedule, time.Since(start)
}

func afterFuncs(n int) (schedule, total time.Duration) {
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		time.AfterFunc(10*time.Millisecond+time.Duration(i%1000)*10*time.Microsecond, wg.Done)
	}
	schedule = time.Since(start)
	wg.Wait()
	return schedule, time.Since(start)
}

// BenchmarkAfter: 100,000 Queue.After timers against 100,000 time.AfterFunc, 10-20 ms out:
// the time to schedule them and the time until all ran.
func BenchmarkAfter(b *testing.B) {
	afterRgcd(benchTimers / 10)
	afterFuncs(benchTimers / 10)
	var rs, rt, gs, gt time.Duration
	for i := 0; i < b.N; i++ {
		s, t := afterRgcd(benchTimers)
		rs, rt = rs+s, rt+t
		s, t = afterFuncs(benchTimers)
		gs, gt = gs+s, gt+t
	}
	rn, gn := perOp(rs, b.N*benchTimers), perOp(gs, b.N*benchTimers)
	b.ReportMetric(rn, "rgcd-ns/after")
	b.ReportMetric(gn, "afterfunc-ns/after")
	b.ReportMetric(rn/gn, "ratio")
	b.Logf("after: schedule rgcd %.1f ns/timer, time.AfterFunc %.1f ns/timer, ratio %.2f; all ran after %v vs %v",
		rn, gn, rn/gn, rt/time.Duration(b.N), gt/time.Duration(b.N))
}
