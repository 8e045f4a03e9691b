package rgcd

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The Go soak test (not in the default run; see README.md, "Soak"): each round, four
// goroutines run a random mix of operations over shared objects — serial and concurrent
// queues (some targeting others), Async, BarrierAsync, Sync, Group.Go, After, Apply,
// suspend/resume, semaphores, timers, data sources and socketpair read sources that are
// created, fed and cancelled. After each round: every task ran exactly once, every cancel
// handler once, no event handler after its source's cancel handler, and every rgcd object
// freed. Over the run: RSS flat and the process idle after the last round.
//
//	go test -run TestSoak -soak.rounds 20 -soak.ops 20000
var (
	soakRounds = flag.Int("soak.rounds", 0, "TestSoak: rounds to run (0: skip the soak)")
	soakOps    = flag.Int("soak.ops", 20000, "TestSoak: operations per round")
	soakSeed   = flag.Uint64("soak.seed", 1, "TestSoak: random seed")
)

const (
	soakWorkers = 4
	soakQueues  = 12
	soakSources = 48
)

// soakSource is a slot for one source at a time: created, fed, cancelled, created again.
type soakSource struct {
	mu   sync.Mutex // guards s and pair (create, feed and cancel race between workers)
	s    *Source
	pair [2]int // socketpair of a read source (-1: none)
}

// soakSourceState is what one source's handlers record.
type soakSourceState struct {
	cancelled atomic.Int32
	late      atomic.Int32 // event handler runs after the cancel handler
}

type soakRound struct {
	rng    *rand.Rand
	queues []*Queue
	groups []*Group
	sems   []*Semaphore
	srcs   []*soakSource
	ran    []atomic.Int32
	next   atomic.Int64 // task ids handed out
	cancel atomic.Int64 // cancel handlers expected
	mu     sync.Mutex
	states []*soakSourceState // every source created
}

func (r *soakRound) task() func() {
	id := r.next.Add(1) - 1
	if int(id) >= len(r.ran) {
		panic("soak: task table too small")
	}
	return func() { r.ran[id].Add(1) }
}

func rssKiB() int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			var kib int
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kib)
			return kib
		}
	}
	return 0
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// feed creates, feeds or cancels source slot i.
func (r *soakRound) feed(t *testing.T, rng *rand.Rand, i int) {
	ss := r.srcs[i]
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.s == nil {
		q := r.queues[rng.IntN(len(r.queues))]
		var s *Source
		var err error
		switch rng.IntN(3) {
		case 0:
			s, err = NewTimer(q)
			if err == nil {
				err = s.SetTimer(time.Duration(rng.IntN(2000))*time.Microsecond, time.Duration(200+rng.IntN(2000))*time.Microsecond, 0)
			}
		case 1:
			s, err = NewDataSource(SourceDataAdd, q)
		default:
			fds, e := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
			if e != nil {
				t.Fatalf("socketpair: %v", e)
			}
			ss.pair = [2]int{fds[0], fds[1]}
			s, err = NewReadSource(fds[0], q)
		}
		if err != nil {
			t.Fatalf("source: %v", err)
		}
		pair := ss.pair
		st := &soakSourceState{}
		r.mu.Lock()
		r.states = append(r.states, st)
		r.mu.Unlock()
		s.SetEventHandler(func() {
			if st.cancelled.Load() != 0 {
				st.late.Add(1)
			}
			if pair[0] >= 0 && s.Kind() == SourceRead {
				var buf [64]byte
				syscall.Read(pair[0], buf[:])
			}
		})
		s.SetCancelHandler(func() {
			st.cancelled.Add(1)
			if pair[0] >= 0 {
				syscall.Close(pair[0])
				syscall.Close(pair[1])
			}
		})
		r.cancel.Add(1)
		if err := s.Activate(); err != nil {
			t.Fatalf("activate: %v", err)
		}
		ss.s = s
		return
	}
	switch rng.IntN(4) {
	case 0: // cancel: the slot is free for a new source
		ss.s.Cancel()
		ss.s.Close()
		ss.s = nil
		ss.pair = [2]int{-1, -1}
	default:
		switch ss.s.Kind() {
		case SourceDataAdd:
			ss.s.MergeData(uint64(1 + rng.IntN(5)))
		case SourceRead:
			syscall.Write(ss.pair[1], []byte{1})
		}
	}
}

func (r *soakRound) worker(t *testing.T, seed uint64, ops int) {
	rng := rand.New(rand.NewPCG(seed, 7))
	for n := 0; n < ops; n++ {
		q := r.queues[rng.IntN(len(r.queues))]
		switch op := rng.IntN(20); {
		case op < 6:
			q.Async(r.task())
		case op < 7:
			q.BarrierAsync(r.task())
		case op < 8:
			if err := q.Sync(r.task()); err != nil {
				t.Errorf("sync: %v", err)
			}
		case op < 10:
			r.groups[rng.IntN(len(r.groups))].Go(q, r.task())
		case op < 11:
			q.After(time.Duration(rng.IntN(3000))*time.Microsecond, r.task())
		case op < 12:
			qos := []QoS{QoSUserInteractive, QoSUserInitiated, QoSDefault, QoSUtility, QoSBackground}
			Global(qos[rng.IntN(len(qos))]).Async(r.task())
		case op < 13:
			if q.Suspend() == nil {
				q.Async(r.task())
				q.Resume()
			}
		case op < 14:
			s := r.sems[rng.IntN(len(r.sems))]
			s.Signal()
			if !s.Wait(10 * time.Second) {
				t.Errorf("semaphore wait timed out")
			}
		case op < 15:
			f := r.task()
			var once atomic.Int32
			Apply(1+rng.IntN(8), func(int) {
				if once.Add(1) == 1 {
					f()
				}
			})
		default:
			r.feed(t, rng, rng.IntN(len(r.srcs)))
		}
	}
}

func TestSoak(t *testing.T) {
	if *soakRounds == 0 {
		t.Skip("the soak runs with -soak.rounds N (see README.md)")
	}
	base := LiveObjects()
	var early, late int
	var ops, tasks, sources int64
	begin := time.Now()
	for round := 0; round < *soakRounds; round++ {
		r := &soakRound{ran: make([]atomic.Int32, *soakOps+1)}
		for i := 0; i < soakQueues; i++ {
			var opts []Option
			if i%3 == 2 {
				opts = append(opts, Concurrent())
			}
			if i >= 4 && i%2 == 0 {
				opts = append(opts, WithTarget(r.queues[i%4]))
			}
			q, err := NewQueue(fmt.Sprintf("soak.%d", i), opts...)
			if err != nil {
				t.Fatal(err)
			}
			r.queues = append(r.queues, q)
		}
		for i := 0; i < 4; i++ {
			g, _ := NewGroup()
			s, _ := NewSemaphore(0)
			r.groups, r.sems = append(r.groups, g), append(r.sems, s)
		}
		for i := 0; i < soakSources; i++ {
			r.srcs = append(r.srcs, &soakSource{pair: [2]int{-1, -1}})
		}
		var wg sync.WaitGroup
		for w := 0; w < soakWorkers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.worker(t, *soakSeed+uint64(round*soakWorkers+w), *soakOps/soakWorkers)
			}()
		}
		wg.Wait()
		for _, ss := range r.srcs {
			if ss.s != nil {
				ss.s.Cancel()
				ss.s.Close()
			}
		}
		waitFor(t, 30*time.Second, "every task", func() bool {
			for i := range r.ran[:r.next.Load()] {
				if r.ran[i].Load() == 0 {
					return false
				}
			}
			return true
		})
		cancelled := int64(0)
		waitFor(t, 30*time.Second, "every cancel handler", func() bool {
			cancelled = 0
			for _, st := range r.states {
				cancelled += int64(st.cancelled.Load())
			}
			return cancelled == r.cancel.Load()
		})
		for i := range r.ran[:r.next.Load()] {
			if n := r.ran[i].Load(); n != 1 {
				t.Fatalf("round %d: task %d ran %d times", round, i, n)
			}
		}
		for i, st := range r.states {
			if n := st.cancelled.Load(); n != 1 {
				t.Fatalf("round %d: source %d: %d cancel handler runs", round, i, n)
			}
			if st.late.Load() != 0 {
				t.Fatalf("round %d: source %d: %d event handler(s) after the cancel handler", round, i, st.late.Load())
			}
		}
		for _, g := range r.groups {
			if !g.Wait(10 * time.Second) {
				t.Fatalf("round %d: group not empty", round)
			}
			g.Close()
		}
		for _, s := range r.sems {
			s.Close()
		}
		for _, q := range r.queues {
			q.Close()
		}
		waitFor(t, 30*time.Second, "every object freed", func() bool { return LiveObjects() <= base })
		rss := rssKiB()
		if round < 3 && rss > early {
			early = rss
		}
		if round >= *soakRounds-3 && rss > late {
			late = rss
		}
		ops += int64(*soakOps)
		tasks += r.next.Load()
		sources += r.cancel.Load()
		t.Logf("round %d: %d ops, %d tasks, %d sources, RSS %d KiB, %d threads", round, *soakOps, r.next.Load(), r.cancel.Load(), rss, PoolThreads())
	}
	elapsed := time.Since(begin)
	time.Sleep(200 * time.Millisecond)
	c0 := cpuTime()
	time.Sleep(time.Second)
	idle := cpuTime() - c0
	t.Logf("soak: %d rounds, %d operations, %d tasks, %d sources in %v; peak RSS early %d KiB, late %d KiB; %v CPU in the second after",
		*soakRounds, ops, tasks, sources, elapsed.Round(time.Millisecond), early, late, idle)
	if *soakRounds > 6 && late > early+16*1024 {
		t.Errorf("RSS grew from %d KiB to %d KiB", early, late)
	}
	if idle > 50*time.Millisecond {
		t.Errorf("%v of CPU in the second after the last round", idle)
	}
}
