package main

import (
	"fmt"
	"image/color"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

var (
	blue   = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	orange = color.RGBA{R: 255, G: 127, B: 14, A: 255}
	green  = color.RGBA{R: 44, G: 160, B: 44, A: 255}
	red    = color.RGBA{R: 214, G: 39, B: 40, A: 255}
)

// Chart draws the run in chartPoints slices whatever its length:
// throughput on top, p99 answer time and read-model lag below it, then the
// hottest keys' write units a second (where the run saw them), and coupons
// left at the bottom, as a PNG.
func (r *Report) Chart(path string) error {
	top := plot.New()
	top.Title.Text = fmt.Sprintf("SecKill %s: %d promotions, %d coupons, %d customers, %d requests, %d in flight",
		r.Scenario, r.Promotions, r.Coupons, r.Customers, r.Requests, r.Concurrency)
	top.Y.Label.Text = "answers / s"
	mid := plot.New()
	mid.Y.Label.Text = "ms"
	heat := plot.New()
	heat.Y.Label.Text = "WCU / s (limit 1,000 a partition)"
	low := plot.New()
	low.X.Label.Text = "seconds into the run"
	low.Y.Label.Text = "coupons left"
	all := []*plot.Plot{top, mid, heat, low}
	for _, p := range all {
		p.Legend.Top, p.Legend.Left = true, false
		p.Add(plotter.NewGrid())
		p.Y.Min = 0
	}

	// A slice without a value (no grant, so no lag) is left out, not drawn
	// as zero.
	series := func(f func(Point) float64, sparse bool) plotter.XYs {
		var xy plotter.XYs
		for _, s := range r.Series {
			if y := f(s); y > 0 || !sparse {
				xy = append(xy, plotter.XY{X: s.At, Y: y})
			}
		}
		return xy
	}
	for _, s := range []struct {
		p      *plot.Plot
		name   string
		c      color.Color
		f      func(Point) float64
		sparse bool
	}{
		{top, "requests", blue, func(s Point) float64 { return s.Requests }, false},
		{top, "grants", green, func(s Point) float64 { return s.Grants }, false},
		{top, "rejections", orange, func(s Point) float64 { return s.Rejections }, false},
		{mid, "p99 answer time", blue, func(s Point) float64 { return s.P99Ms }, false},
		{mid, "p99 read-model lag (by grant time)", red, func(s Point) float64 { return s.LagP99Ms }, true},
		{heat, "hottest inventory shard", blue, func(s Point) float64 { return s.HotShardWCU }, true},
		{heat, "hottest coupon bucket", orange, func(s Point) float64 { return s.HotBucketWCU }, true},
		{low, "coupons left", green, func(s Point) float64 { return float64(s.CouponsLeft) }, false},
	} {
		xy := series(s.f, s.sparse)
		if len(xy) == 0 {
			continue
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return err
		}
		l.Color, l.Width = s.c, vg.Points(1.5)
		s.p.Add(l)
		s.p.Legend.Add(s.name, l)
	}
	// Where each phase begins, on every plot.
	for _, s := range r.Series {
		if s.PhaseStarted == "" {
			continue
		}
		for _, p := range all {
			lbl, err := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: s.At, Y: 0}}, Labels: []string{s.PhaseStarted}})
			if err != nil {
				return err
			}
			p.Add(lbl)
		}
	}

	// One time axis for every tile, though some lines end early (no
	// writes once sold out).
	if n := len(r.Series); n > 0 {
		for _, p := range all {
			p.X.Min, p.X.Max = 0, r.Series[n-1].At
		}
	}

	img := vgimg.New(10*vg.Inch, 12*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(all), Cols: 1, PadX: vg.Millimeter, PadY: 4 * vg.Millimeter,
		PadTop: 2 * vg.Millimeter, PadBottom: 2 * vg.Millimeter, PadLeft: 2 * vg.Millimeter, PadRight: 4 * vg.Millimeter}
	plots := make([][]*plot.Plot, len(all))
	for i, p := range all {
		plots[i] = []*plot.Plot{p}
	}
	canvases := plot.Align(plots, tiles, dc)
	for i, p := range all {
		p.Draw(canvases[i][0])
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
