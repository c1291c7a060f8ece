package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/seckill/seckill/shared/capacity"
)

// Latencies are recorded in microseconds, up to a minute, to three
// significant digits.
func newHistogram() *hdrhistogram.Histogram { return hdrhistogram.New(1, 60_000_000, 3) }

// recorder collects every answer of the run.
type recorder struct {
	mu      sync.Mutex
	start   time.Time
	phases  []*phaseRec
	events  []event // every answer, for the chart
	answers map[ask][]grabAnswer
	samples []string // a few unexpected answers, for the report
}

// event is one answer: when it ended (since the run's start), how long it
// took, and what it was.
type event struct {
	end     time.Duration
	latency time.Duration
	outcome string
}

// phaseRec is one phase's figures.
type phaseRec struct {
	name       string
	start, end time.Time
	latency    map[string]*hdrhistogram.Histogram // by outcome
	counts     map[string]int
	lastGrant  time.Time
	calls      int64 // the grab function's DynamoDB calls; -1: unknown
	units      *capacity.Units
}

func newRecorder(start time.Time) *recorder {
	return &recorder{start: start, answers: map[ask][]grabAnswer{}}
}

func (r *recorder) begin(name string) *phaseRec {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := &phaseRec{name: name, start: time.Now(), latency: map[string]*hdrhistogram.Histogram{}, counts: map[string]int{}}
	r.phases = append(r.phases, p)
	return p
}

func (r *recorder) add(p *phaseRec, a ask, ans grabAnswer, start, end time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := ans.Outcome()
	took := end.Sub(start)
	if p.latency[out] == nil {
		p.latency[out] = newHistogram()
	}
	_ = p.latency[out].RecordValue(took.Microseconds())
	p.counts[out]++
	r.answers[a] = append(r.answers[a], ans)
	r.events = append(r.events, event{end: end.Sub(r.start), latency: took, outcome: out})
	switch out {
	case "granted":
		if end.After(p.lastGrant) {
			p.lastGrant = end
		}
	case "other":
		if len(r.samples) < 5 {
			detail := ans.Code
			if ans.Err != nil {
				detail = ans.Err.Error()
			}
			r.samples = append(r.samples, a.Customer+": "+statusText(ans.Status)+" "+detail)
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
	queue  chan watch
	wg     sync.WaitGroup
	mu     sync.Mutex
	lags   []lagSample
	unseen int
	until  time.Time
	once   sync.Once
}

type watch struct {
	customer, promo, coupon string
	granted                 time.Time
}

type lagSample struct {
	granted time.Time
	lag     time.Duration
}

// pollEvery is how often a poller asks for a customer's coupons; lag
// figures are exact to within it.
const pollEvery = 50 * time.Millisecond

func newWatcher(c *client, pollers int) *watcher {
	w := &watcher{c: c, queue: make(chan watch)}
	for range pollers {
		w.wg.Add(1)
		go w.loop()
	}
	return w
}

// add samples the grant if a poller is free.
func (w *watcher) add(customer, promo, coupon string, granted time.Time) {
	select {
	case w.queue <- watch{customer, promo, coupon, granted}:
	default:
	}
}

func (w *watcher) loop() {
	defer w.wg.Done()
	ctx := context.Background()
	for job := range w.queue {
		for {
			// The newest first: a fresh coupon is on the first page.
			got, err := w.c.couponPage(ctx, job.customer)
			if err == nil && slices.ContainsFunc(got, func(c coupon) bool { return c.ID == job.coupon }) {
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
