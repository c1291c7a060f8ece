package sale

import "strconv"

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
