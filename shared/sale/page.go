package sale

import (
	"slices"
	"strconv"
)

// PageQuery asks for one page of a list: at most Limit items after the item
// whose id is After (empty: from the start).
type PageQuery struct {
	Limit int
	After string
}

// Versions are the versions of a promotion a change may apply to, as
// If-Match lists them.
type Versions []int

// AnyVersion, as the versions a change expects, applies the change to
// whatever version is stored: the last writer wins.
var AnyVersion Versions

// Admit says whether a change expecting v may apply to version.
func (v Versions) Admit(version int) bool { return len(v) == 0 || slices.Contains(v, version) }

// Page bounds of the lists, fixed by the contract.
const (
	DefaultPageLimit = 100
	MaxPageLimit     = 100
)

// ParseLimit reads the ?limit= query value: a whole number from 1 to
// MaxPageLimit; empty means DefaultPageLimit.
func ParseLimit(s string) (int, error) {
	if s == "" {
		return DefaultPageLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxPageLimit || strconv.Itoa(n) != s {
		return 0, invalid("limit", "must be a whole number from 1 to %d", MaxPageLimit)
	}
	return n, nil
}
