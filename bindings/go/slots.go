package rgcd

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// The slot table: where a Go value handed to rgcd (a func for a queue, a handler for a source)
// waits until rgcd calls back. C only ever sees the slot's number as its context pointer, so
// no Go pointer is held by C, and a lookup is an index rather than a cgo.Handle map lookup.
//
// The table has slotShards shards. Each grows by chunks that never move or shrink and keeps
// its free slots on a lock-free stack whose head carries a generation count against ABA. A
// submit pops from a random shard (math/rand/v2 is per-thread, so submitters do not share a
// counter); a callback pushes the slot back onto the shard it came from. A slot number is
// local<<slotShardBits | shard.
//
// Happens-before: the value is written before the cgo call that passes its number to rgcd
// and read in the callback; every cgo call and callback synchronises through the runtime
// (also for the race detector), and reuse goes through the stack's atomics.

const (
	slotShardBits = 4
	slotShards    = 1 << slotShardBits
	slotChunkBits = 12
	slotChunkSize = 1 << slotChunkBits
	slotMaxChunks = 1 << 12 // 16M slots per shard
)

type slotChunk struct {
	vals [slotChunkSize]any
	next [slotChunkSize]atomic.Uint32 // free-stack link: local index + 1, 0 = end
}

type slotShard struct {
	head   atomic.Uint64 // generation<<32 | (top local index + 1); 0 in the low half: empty
	grow   sync.Mutex
	n      atomic.Uint32 // slots created
	chunks [slotMaxChunks]atomic.Pointer[slotChunk]
	_      [64]byte
}

var slots [slotShards]slotShard

func (sh *slotShard) chunk(i uint32) *slotChunk { return sh.chunks[i>>slotChunkBits].Load() }

func (sh *slotShard) pop() (uint32, bool) {
	for {
		h := sh.head.Load()
		top := uint32(h)
		if top == 0 {
			return 0, false
		}
		i := top - 1
		next := sh.chunk(i).next[i&(slotChunkSize-1)].Load()
		if sh.head.CompareAndSwap(h, (h>>32+1)<<32|uint64(next)) {
			return i, true
		}
	}
}

func (sh *slotShard) push(i uint32) {
	link := &sh.chunk(i).next[i&(slotChunkSize-1)]
	for {
		h := sh.head.Load()
		link.Store(uint32(h))
		if sh.head.CompareAndSwap(h, (h>>32+1)<<32|uint64(i+1)) {
			return
		}
	}
}

// more adds a chunk to the shard and returns one of its slots (the rest go on the stack).
func (sh *slotShard) more() uint32 {
	sh.grow.Lock()
	defer sh.grow.Unlock()
	if i, ok := sh.pop(); ok { // another submitter grew it meanwhile
		return i
	}
	n := sh.n.Load()
	c := n >> slotChunkBits
	if c >= slotMaxChunks {
		panic("rgcd: more than 1<<28 callbacks outstanding")
	}
	sh.chunks[c].Store(new(slotChunk))
	sh.n.Store(n + slotChunkSize)
	for i := n + slotChunkSize - 1; i > n; i-- {
		sh.push(i)
	}
	return n
}

// slotPut stores v in a free slot and returns the slot's number.
func slotPut(v any) uintptr {
	s := rand.Uint32() & (slotShards - 1)
	sh := &slots[s]
	i, ok := sh.pop()
	if !ok {
		i = sh.more()
	}
	sh.chunk(i).vals[i&(slotChunkSize-1)] = v
	return uintptr(i)<<slotShardBits | uintptr(s)
}

func slotRef(n uintptr) *any {
	sh := &slots[n&(slotShards-1)]
	i := uint32(n >> slotShardBits)
	return &sh.chunk(i).vals[i&(slotChunkSize-1)]
}

// slotGet returns the value in slot n, which stays allocated.
func slotGet(n uintptr) any { return *slotRef(n) }

// slotTake returns the value in slot n and frees the slot.
func slotTake(n uintptr) any {
	sh := &slots[n&(slotShards-1)]
	i := uint32(n >> slotShardBits)
	p := &sh.chunk(i).vals[i&(slotChunkSize-1)]
	v := *p
	*p = nil
	sh.push(i)
	return v
}

// slotFree frees slot n (clearing its value).
func slotFree(n uintptr) {
	sh := &slots[n&(slotShards-1)]
	i := uint32(n >> slotShardBits)
	sh.chunk(i).vals[i&(slotChunkSize-1)] = nil
	sh.push(i)
}

// slotsInUse counts the occupied slots (for tests).
func slotsInUse() int {
	used := 0
	for s := range slots {
		sh := &slots[s]
		free := 0
		for h := uint32(sh.head.Load()); h != 0; {
			i := h - 1
			free++
			h = sh.chunk(i).next[i&(slotChunkSize-1)].Load()
		}
		used += int(sh.n.Load()) - free
	}
	return used
}
