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

// Chart draws the sale second by second: throughput above, p99 latency and
// the read model's p99 lag below, as a PNG.
func (r *Report) Chart(path string) error {
	top := plot.New()
	top.Title.Text = fmt.Sprintf("Flash sale: %d coupons, %d customers, %d requests, %d in flight", r.Coupons, r.Customers, r.Requests, r.Concurrency)
	top.Y.Label.Text = "answers / s"
	top.Legend.Top, top.Legend.Left = true, true
	bottom := plot.New()
	bottom.X.Label.Text = "second of the sale"
	bottom.Y.Label.Text = "ms"
	bottom.Legend.Top, bottom.Legend.Left = true, true

	// A second without a value (no grant, so no lag) is left out, not drawn
	// as zero.
	series := func(f func(SecondFigure) float64, sparse bool) plotter.XYs {
		var xy plotter.XYs
		for _, s := range r.Series {
			if y := f(s); y > 0 || !sparse {
				xy = append(xy, plotter.XY{X: float64(s.Second) + 0.5, Y: y})
			}
		}
		return xy
	}
	add := func(p *plot.Plot, name string, c color.Color, xy plotter.XYs) error {
		l, err := plotter.NewLine(xy)
		if err != nil {
			return err
		}
		l.Color, l.Width = c, vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(name, l)
		return nil
	}
	for _, s := range []struct {
		p    *plot.Plot
		name string
		c    color.Color
		f    func(SecondFigure) float64
	}{
		{top, "requests", blue, func(s SecondFigure) float64 { return float64(s.Requests) }},
		{top, "grants", green, func(s SecondFigure) float64 { return float64(s.Grants) }},
		{top, "rejections", orange, func(s SecondFigure) float64 { return float64(s.Rejections) }},
		{bottom, "p99 answer time", blue, func(s SecondFigure) float64 { return s.P99Ms }},
		{bottom, "p99 read-model lag (by grant second)", red, func(s SecondFigure) float64 { return s.LagP99Ms }},
	} {
		xy := series(s.f, s.c == red)
		if len(xy) == 0 {
			continue
		}
		if err := add(s.p, s.name, s.c, xy); err != nil {
			return err
		}
	}
	top.Add(plotter.NewGrid())
	bottom.Add(plotter.NewGrid())
	top.Y.Min, bottom.Y.Min = 0, 0

	img := vgimg.New(10*vg.Inch, 7*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadX: vg.Millimeter, PadY: 4 * vg.Millimeter,
		PadTop: 2 * vg.Millimeter, PadBottom: 2 * vg.Millimeter, PadLeft: 2 * vg.Millimeter, PadRight: 4 * vg.Millimeter}
	plots := [][]*plot.Plot{{top}, {bottom}}
	canvases := plot.Align(plots, tiles, dc)
	top.Draw(canvases[0][0])
	bottom.Draw(canvases[1][0])
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
