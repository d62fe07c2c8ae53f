package baseline

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// VolumeState is what an element's volume baseline has learnt: per hour of
// the week (0 = Monday 00:00 UTC) the mean and variance of its bytes and
// how many weeks were folded in. It carries no open hours and no clock:
// a restored element starts its clock at its next record, so the time
// netvet was not running is neither counted as silence nor folded in.
type VolumeState struct {
	Element  string    `json:"element"`
	Mean     []float64 `json:"mean"`     // HoursPerWeek values
	Variance []float64 `json:"variance"` // HoursPerWeek values
	Weeks    []uint16  `json:"weeks"`    // HoursPerWeek values; counted up to 63
	// Through is the start of the last hour learnt: a later run skips
	// records up to the end of that hour, so replaying the same data does
	// not teach the baseline twice.
	Through time.Time `json:"through"`
}

// DNSState is what an element's DNS baseline has learnt.
type DNSState struct {
	Element     string    `json:"element"`
	MeanQueries float64   `json:"mean_queries"`
	MeanBytes   float64   `json:"mean_bytes"`
	Hours       int       `json:"hours_watched"`
	Through     time.Time `json:"through"` // as in VolumeState
}

// Check validates a state read from a file.
func (s *VolumeState) Check() error {
	if len(s.Mean) != HoursPerWeek || len(s.Variance) != HoursPerWeek || len(s.Weeks) != HoursPerWeek {
		return fmt.Errorf("volume baseline of %q: want %d values in mean, variance and weeks", s.Element, HoursPerWeek)
	}
	if err := checkThrough(s.Through); err != nil {
		return fmt.Errorf("volume baseline of %q: %v", s.Element, err)
	}
	for i := range HoursPerWeek {
		if !finiteNonNeg(s.Mean[i]) || !finiteNonNeg(s.Variance[i]) {
			return fmt.Errorf("volume baseline of %q: hour %d: mean and variance must be finite and not negative", s.Element, i)
		}
	}
	return nil
}

// Check validates a state read from a file.
func (s *DNSState) Check() error {
	if !finiteNonNeg(s.MeanQueries) || !finiteNonNeg(s.MeanBytes) || s.Hours < 0 || s.Hours > math.MaxInt32 {
		return fmt.Errorf("DNS baseline of %q: means and hours must be finite, not negative, and hours below 2^31", s.Element)
	}
	if err := checkThrough(s.Through); err != nil {
		return fmt.Errorf("DNS baseline of %q: %v", s.Element, err)
	}
	return nil
}

func checkThrough(t time.Time) error {
	if t.IsZero() || t.Year() < 1971 || t.Year() > 9999 || t.Unix()%3600 != 0 {
		return errors.New("through must be the start of an hour after 1970")
	}
	return nil
}

func finiteNonNeg(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) && x >= 0 }

// Snapshot returns the learnt baselines of every element that has folded
// in at least one hour, sorted by element.
func (d *Detector) Snapshot() []VolumeState {
	out := make([]VolumeState, 0, len(d.elements))
	for name, e := range d.elements {
		if !e.learnt {
			continue
		}
		s := VolumeState{Element: name, Mean: make([]float64, HoursPerWeek), Variance: make([]float64, HoursPerWeek), Weeks: make([]uint16, HoursPerWeek),
			Through: time.Unix(e.through*3600, 0).UTC()}
		any := false
		for i := range HoursPerWeek {
			s.Mean[i], s.Variance[i], s.Weeks[i] = float64(e.mean[i]), float64(e.variance[i]), uint16(e.visits.get(i))
			any = any || s.Weeks[i] > 0
		}
		if any {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b VolumeState) int { return cmp.Compare(a.Element, b.Element) })
	return out
}

// Restore loads learnt baselines into an empty detector. States that fail
// Check, repeat an element or exceed MaxElements are an error; nothing is
// loaded then.
func (d *Detector) Restore(states []VolumeState) error {
	if len(d.elements) > 0 {
		return errors.New("baseline: restore into a detector that has data")
	}
	if len(states) > d.cfg.MaxElements {
		return fmt.Errorf("baseline: %d volume baselines, more than the %d elements tracked", len(states), d.cfg.MaxElements)
	}
	els := make(map[string]*element, len(states))
	for i := range states {
		s := &states[i]
		if err := s.Check(); err != nil {
			return err
		}
		if els[s.Element] != nil {
			return fmt.Errorf("baseline: volume baseline of %q given twice", s.Element)
		}
		th := s.Through.Unix() / 3600
		e := &element{through: th, learnt: true, restoredThrough: th, restored: true}
		for h := range HoursPerWeek {
			e.mean[h], e.variance[h] = to32(s.Mean[h]), to32(s.Variance[h])
			e.visits.set(h, int(s.Weeks[h]))
		}
		els[s.Element] = e
	}
	d.elements = els
	return nil
}

// Snapshot returns the learnt DNS baselines, sorted by element.
func (d *DNS) Snapshot() []DNSState {
	out := make([]DNSState, 0, len(d.elements))
	for name, e := range d.elements {
		if e.watched > 0 && e.learnt {
			out = append(out, DNSState{Element: name, MeanQueries: e.meanQ, MeanBytes: e.meanB, Hours: e.watched,
				Through: time.Unix(e.through*3600, 0).UTC()})
		}
	}
	slices.SortFunc(out, func(a, b DNSState) int { return cmp.Compare(a.Element, b.Element) })
	return out
}

// Restore loads learnt DNS baselines into an empty detector, as
// (*Detector).Restore does.
func (d *DNS) Restore(states []DNSState) error {
	if len(d.elements) > 0 {
		return errors.New("baseline: restore into a DNS detector that has data")
	}
	if len(states) > d.cfg.MaxElements {
		return fmt.Errorf("baseline: %d DNS baselines, more than the %d elements tracked", len(states), d.cfg.MaxElements)
	}
	els := make(map[string]*dnsElement, len(states))
	for i := range states {
		s := &states[i]
		if err := s.Check(); err != nil {
			return err
		}
		if els[s.Element] != nil {
			return fmt.Errorf("baseline: DNS baseline of %q given twice", s.Element)
		}
		th := s.Through.Unix() / 3600
		els[s.Element] = &dnsElement{meanQ: s.MeanQueries, meanB: s.MeanBytes, watched: s.Hours, through: th, learnt: true, restoredThrough: th, restored: true}
	}
	d.elements = els
	return nil
}
