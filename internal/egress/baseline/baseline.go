// Package baseline learns how many bytes each network element sends in
// each hour of the week and flags hours that exceed the learnt volume by a
// factor and by an absolute floor. Each element keeps 168 buckets (one per
// hour of the week) holding an exponentially weighted mean and variance of
// the hourly byte count; hours with no traffic count as zero, so a usually
// silent hour has a low baseline.
package baseline

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// HoursPerWeek is the number of buckets per element.
const HoursPerWeek = 168

// Config tunes a Detector. Zero fields take the defaults in brackets.
type Config struct {
	Alpha     float64 // EWMA weight of a new week [0.3]
	Threshold float64 // alert when bytes > Threshold × baseline mean [4]
	Floor     uint64  // ... and bytes − mean > Floor [10 MB]
	// K adds a variance test: bytes > mean + K·stdev. 0 disables it [0].
	K float64
	// Warmup is the number of visits a bucket needs (weeks) before it
	// can alert [2]; at most 63, where the visit counters saturate.
	Warmup      int
	MaxElements int // elements tracked [100000]; more are counted and dropped
}

func (c Config) withDefaults() Config {
	if c.Alpha <= 0 || c.Alpha > 1 {
		c.Alpha = 0.3
	}
	if c.Threshold <= 0 {
		c.Threshold = 4
	}
	if c.Floor == 0 {
		c.Floor = 10_000_000
	}
	if c.Warmup <= 0 {
		c.Warmup = 2
	}
	c.Warmup = min(c.Warmup, maxVisits)
	if c.MaxElements <= 0 {
		c.MaxElements = 100_000
	}
	return c
}

// Alert is one hour that exceeded the baseline.
type Alert struct {
	Element   string
	Hour      time.Time // start of the hour (UTC)
	HourOfWk  int       // 0 = Monday 00:00 UTC
	Bytes     uint64
	Mean      float64 // baseline before this hour was folded in
	Stdev     float64
	Ratio     float64 // Bytes / Mean (+Inf when the mean is 0)
	Threshold float64
	Floor     uint64
}

// maxVisits is where a bucket's visit counter saturates: the counters are
// six bits wide, ten to a word.
const (
	maxVisits     = 1<<visitBits - 1
	visitBits     = 6
	visitsPerWord = 64 / visitBits
)

// visitCounts are the visit counters of an element's buckets.
type visitCounts [(HoursPerWeek + visitsPerWord - 1) / visitsPerWord]uint64

func (v *visitCounts) get(i int) int {
	return int(v[i/visitsPerWord] >> (visitBits * (i % visitsPerWord)) & maxVisits)
}

func (v *visitCounts) set(i, n int) {
	sh := visitBits * (i % visitsPerWord)
	w := &v[i/visitsPerWord]
	*w = *w&^(maxVisits<<sh) | uint64(min(max(n, 0), maxVisits))<<sh
}

// Two hours stay open so that records arriving up to an hour late (flow
// exporters' active timeouts) still land in the right hour. The buckets
// are kept as separate arrays of float32 means and variances and 6-bit
// visit counters (saturating at 63 weeks): 1,536 bytes per element in
// all. The arithmetic is done in float64; only the stored values are
// rounded.
type element struct {
	mean     [HoursPerWeek]float32
	variance [HoursPerWeek]float32
	visits   visitCounts
	open     [2]uint64 // bytes of hours cur-1 and cur
	cur      int64     // current hour number (unix hour)
	first    int64     // first hour with data; earlier hours are not folded in
	// through is the last hour folded in (valid when learnt); after a
	// restore, records of that hour or earlier are already learnt and
	// are skipped.
	through int64
	// restoredThrough is through as restored from an earlier run.
	restoredThrough int64
	started         bool
	learnt          bool
	restored        bool
}

// Detector holds the baselines. It is not safe for concurrent use.
type Detector struct {
	cfg      Config
	elements map[string]*element
	alerts   []Alert

	Late            uint64 // records older than the open hours, dropped
	Learnt          uint64 // records of hours a restored baseline already learnt, skipped
	DroppedElements uint64
}

// New returns an empty Detector.
func New(cfg Config) *Detector {
	return &Detector{cfg: cfg.withDefaults(), elements: map[string]*element{}}
}

// Add counts bytes sent by an element at time t. Hours are closed (and may
// alert) when a record two hours later arrives or on Flush.
func (d *Detector) Add(el string, t time.Time, bytes uint64) {
	e := d.elements[el]
	if e == nil {
		if len(d.elements) >= d.cfg.MaxElements {
			d.DroppedElements++
			return
		}
		e = &element{}
		d.elements[el] = e
	}
	h := t.Unix() / 3600
	if t.Unix() < 0 && t.Unix()%3600 != 0 {
		h--
	}
	if e.restored && h <= e.restoredThrough {
		d.Learnt++
		return
	}
	if !e.started {
		e.cur, e.first, e.started = h, h, true
	}
	switch {
	case h == e.cur:
		e.open[1] = sat(e.open[1], bytes)
	case h == e.cur-1:
		e.open[0] = sat(e.open[0], bytes)
		e.first = min(e.first, h)
	case h < e.cur-1:
		d.Late++
	default:
		d.advance(el, e, h)
		e.open[1] = sat(e.open[1], bytes)
	}
}

// advance closes hours until h is the current hour. A gap longer than a
// week folds one zero into each bucket per skipped week, at most
// MaxGapWeeks.
func (d *Detector) advance(name string, e *element, h int64) {
	const maxGapWeeks = 8
	steps := h - e.cur
	if limit := int64(HoursPerWeek*maxGapWeeks + 2); steps > limit {
		// Skip whole weeks beyond the limit without touching the buckets
		// more than needed.
		e.cur = h - limit
		e.open = [2]uint64{}
		steps = limit
	}
	for ; steps > 0; steps-- {
		d.close(name, e, e.cur-1, e.open[0])
		e.open[0], e.open[1] = e.open[1], 0
		e.cur++
	}
}

// Flush closes every open hour up to and including the hour of now.
func (d *Detector) Flush(now time.Time) {
	h := now.Unix()/3600 + 2
	names := make([]string, 0, len(d.elements))
	for n := range d.elements {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if e := d.elements[n]; e.started && h > e.cur {
			d.advance(n, e, h)
		}
	}
}

func (d *Detector) close(name string, e *element, hour int64, bytes uint64) {
	if hour < e.first {
		return
	}
	i := hourOfWeek(hour)
	x := float64(bytes)
	mean, variance, visits := float64(e.mean[i]), float64(e.variance[i]), e.visits.get(i)
	if visits >= d.cfg.Warmup {
		sd := math.Sqrt(variance)
		over := x > d.cfg.Threshold*mean && x-mean > float64(d.cfg.Floor)
		if over && d.cfg.K > 0 {
			over = x > mean+d.cfg.K*sd
		}
		if over {
			ratio := math.Inf(1)
			if mean > 0 {
				ratio = x / mean
			}
			d.alerts = append(d.alerts, Alert{
				Element: name, Hour: time.Unix(hour*3600, 0).UTC(), HourOfWk: i,
				Bytes: bytes, Mean: mean, Stdev: sd, Ratio: ratio,
				Threshold: d.cfg.Threshold, Floor: d.cfg.Floor,
			})
		}
	}
	if visits == 0 {
		mean = x
	} else {
		a := d.cfg.Alpha
		diff := x - mean
		mean += a * diff
		variance = (1 - a) * (variance + a*diff*diff)
	}
	e.mean[i], e.variance[i] = to32(mean), to32(variance)
	e.visits.set(i, visits+1)
	e.through, e.learnt = hour, true
}

// Alerts returns and clears the alerts raised so far, sorted by hour then
// element.
func (d *Detector) Alerts() []Alert {
	a := d.alerts
	d.alerts = nil
	slices.SortFunc(a, func(x, y Alert) int {
		if c := x.Hour.Compare(y.Hour); c != 0 {
			return c
		}
		return cmp.Compare(x.Element, y.Element)
	})
	return a
}

// Baseline returns the mean and standard deviation learnt for an element's
// hour of the week (0 = Monday 00:00 UTC) and how many weeks it has seen.
func (d *Detector) Baseline(el string, hourOfWk int) (mean, stdev float64, weeks int) {
	e := d.elements[el]
	if e == nil || hourOfWk < 0 || hourOfWk >= HoursPerWeek {
		return 0, 0, 0
	}
	return float64(e.mean[hourOfWk]), math.Sqrt(float64(e.variance[hourOfWk])), e.visits.get(hourOfWk)
}

// to32 stores a non-negative mean or variance, saturating at the largest
// float32 (a variance of byte counts near 2^64 would not fit).
func to32(x float64) float32 {
	if x > math.MaxFloat32 {
		return math.MaxFloat32
	}
	return float32(x)
}

// hourOfWeek maps a unix hour number to 0..167 with 0 = Monday 00:00 UTC
// (1970-01-01 was a Thursday, 72 hours after Monday 00:00).
func hourOfWeek(h int64) int {
	return int(((h+72)%HoursPerWeek + HoursPerWeek) % HoursPerWeek)
}

func sat(a, b uint64) uint64 {
	if a > math.MaxUint64-b {
		return math.MaxUint64
	}
	return a + b
}
