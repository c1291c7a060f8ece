package grab

import (
	"math/rand/v2"
	"sync"
)

// stock is what the instance knows of one promotion version's shards.
type stock struct {
	mu sync.Mutex
	// left bounds from above what each shard has: the share it started
	// with or a consistent read, minus this instance's grants, lowered to
	// what a failed condition showed. Zero means empty for good.
	left  []int
	busy  []bool // in a transaction of this instance right now
	avoid int    // shard of the last conflict, or -1
}

func (st *stock) soldOut() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, l := range st.left {
		if l > 0 {
			return false
		}
	}
	return true
}

type stockState int

const (
	stockReady stockState = iota
	stockBusy             // every shard with stock is in a transaction now
	stockGone             // no shard has stock
)

// reserve picks, at random so that instances spread over the shards, a
// shard with stock that no transaction of this instance is using, and
// marks it busy.
func (st *stock) reserve() (shard, left int, state stockState) {
	st.mu.Lock()
	defer st.mu.Unlock()
	free, some := 0, false
	for i, l := range st.left {
		if l > 0 {
			some = true
			if !st.busy[i] {
				free++
			}
		}
	}
	switch {
	case !some:
		return 0, 0, stockGone
	case free == 0:
		return 0, 0, stockBusy
	}
	// After a conflict, the shard it happened on is the one most likely
	// busy elsewhere: hop to another when there is one.
	avoid := -1
	if a := st.avoid; a >= 0 && free > 1 && st.left[a] > 0 && !st.busy[a] {
		avoid, free = a, free-1
	}
	st.avoid = -1
	n := rand.IntN(free)
	for i, l := range st.left {
		if l > 0 && !st.busy[i] && i != avoid {
			if n == 0 {
				st.busy[i] = true
				return i, l, stockReady
			}
			n--
		}
	}
	panic("unreachable")
}

// settle releases a shard and lowers what it is known to have left.
func (st *stock) settle(shard, left int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.busy[shard] = false
	st.left[shard] = max(0, min(st.left[shard], left))
}

func (st *stock) release(shard int, hop bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.busy[shard] = false
	if hop {
		st.avoid = shard
	}
}

func (st *stock) take(shard, n int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.busy[shard] = false
	st.left[shard] = max(0, st.left[shard]-n)
}
