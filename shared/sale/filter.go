package sale

import "time"

// Filter selects promotions in the admin list.
type Filter string

const (
	FilterAll      Filter = "all"
	FilterActive   Filter = "active"
	FilterUpcoming Filter = "upcoming"
	FilterFinished Filter = "finished"
	// FilterOpen is what customers may still grab or wait for: upcoming,
	// active and sold out. No query value names it.
	FilterOpen Filter = "open"
)

// ParseFilter reads the ?status= query value; empty means all.
func ParseFilter(s string) (Filter, error) {
	switch f := Filter(s); f {
	case "":
		return FilterAll, nil
	case FilterAll, FilterActive, FilterUpcoming, FilterFinished:
		return f, nil
	}
	return "", invalid("status", "must be one of active, upcoming, finished, all")
}

// Match reports whether p passes the filter at now. "active" means inside the
// time window, sold out or not, so it needs no stock.
func (f Filter) Match(p Promotion, now time.Time) bool {
	switch f {
	case FilterActive:
		return p.CheckWindow(now) == nil
	case FilterUpcoming:
		return now.Before(p.PublishAt)
	case FilterFinished:
		return !now.Before(p.FinishAt)
	case FilterOpen:
		return now.Before(p.FinishAt)
	}
	return true
}
