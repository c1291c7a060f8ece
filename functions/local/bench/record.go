package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies are recorded in microseconds, up to a minute, to three
// significant digits.
func newHistogram() *hdrhistogram.Histogram { return hdrhistogram.New(1, 60_000_000, 3) }

// recorder collects every answer of the sale.
type recorder struct {
	mu        sync.Mutex
	start     time.Time
	latency   map[string]*hdrhistogram.Histogram // by outcome
	counts    map[string]int
	seconds   []*second // by completion time
	answers   map[string][]grabAnswer
	lastGrant time.Time
	firstNo   time.Time // first rejection
	samples   []string  // a few unexpected answers, for the report
}

type second struct {
	requests, grants, rejections int
	latency                      *hdrhistogram.Histogram
	lag                          *hdrhistogram.Histogram // of grants made in this second
}

func newRecorder() *recorder {
	return &recorder{latency: map[string]*hdrhistogram.Histogram{}, counts: map[string]int{}, answers: map[string][]grabAnswer{}}
}

func (r *recorder) at(t time.Time) *second {
	i := int(t.Sub(r.start) / time.Second)
	if i < 0 {
		i = 0
	}
	for len(r.seconds) <= i {
		r.seconds = append(r.seconds, &second{latency: newHistogram(), lag: newHistogram()})
	}
	return r.seconds[i]
}

func (r *recorder) add(customer string, a grabAnswer, start, end time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := a.Outcome()
	us := end.Sub(start).Microseconds()
	if r.latency[out] == nil {
		r.latency[out] = newHistogram()
	}
	_ = r.latency[out].RecordValue(us)
	r.counts[out]++
	r.answers[customer] = append(r.answers[customer], a)
	s := r.at(end)
	s.requests++
	_ = s.latency.RecordValue(us)
	switch out {
	case "granted":
		s.grants++
		if end.After(r.lastGrant) {
			r.lastGrant = end
		}
	case "sold-out", "already-grabbed":
		s.rejections++
		if r.firstNo.IsZero() || end.Before(r.firstNo) {
			r.firstNo = end
		}
	case "other":
		if len(r.samples) < 5 {
			detail := a.Code
			if a.Err != nil {
				detail = a.Err.Error()
			}
			r.samples = append(r.samples, customer+": "+statusText(a.Status)+" "+detail)
		}
	}
}

func statusText(status int) string {
	if status == 0 {
		return "no answer"
	}
	return fmt.Sprintf("HTTP %d", status)
}

// watcher measures the read model's lag: for a sample of grants, how long
// until the coupon shows in the customer's list, polling as a customer
// would. A grant is sampled only when a poller is free, so a backlog never
// inflates the figure, and a few pollers keep the measurement from loading
// the stack it measures.
type watcher struct {
	c      *client
	promo  string
	queue  chan watch
	wg     sync.WaitGroup
	mu     sync.Mutex
	lags   []lagSample
	unseen int
	until  time.Time
	once   sync.Once
}

type watch struct {
	customer, coupon string
	granted          time.Time
}

type lagSample struct {
	granted time.Time
	lag     time.Duration
}

// pollEvery is how often a poller asks for a customer's coupons; lag
// figures are exact to within it.
const pollEvery = 20 * time.Millisecond

func newWatcher(c *client, promo string, pollers int) *watcher {
	w := &watcher{c: c, promo: promo, queue: make(chan watch)}
	for range pollers {
		w.wg.Add(1)
		go w.loop()
	}
	return w
}

// add samples the grant if a poller is free.
func (w *watcher) add(customer, coupon string, granted time.Time) {
	select {
	case w.queue <- watch{customer, coupon, granted}:
	default:
	}
}

func (w *watcher) loop() {
	defer w.wg.Done()
	ctx := context.Background()
	for job := range w.queue {
		for {
			got, err := w.c.coupons(ctx, job.customer, w.promo)
			if err == nil && len(got) > 0 && got[0].ID == job.coupon {
				w.mu.Lock()
				w.lags = append(w.lags, lagSample{job.granted, time.Since(job.granted)})
				w.mu.Unlock()
				break
			}
			w.mu.Lock()
			late := !w.until.IsZero() && time.Now().After(w.until)
			if late {
				w.unseen++
			}
			w.mu.Unlock()
			if late {
				break
			}
			time.Sleep(pollEvery)
		}
	}
}

// wait lets the watch finish, giving up on coupons not visible within d
// after the sale.
func (w *watcher) wait(d time.Duration) ([]lagSample, int) {
	w.mu.Lock()
	w.until = time.Now().Add(d)
	w.mu.Unlock()
	w.once.Do(func() { close(w.queue) })
	w.wg.Wait()
	return w.lags, w.unseen
}
