package beacon

import (
	"math"
	"slices"
)

// quartiles returns Q1, Q2, Q3 of v (sorted in place) by linear
// interpolation between closest ranks (the "type 7" definition).
func quartiles(v []float64) (q1, q2, q3 float64) {
	slices.Sort(v)
	return quantile(v, 0.25), quantile(v, 0.5), quantile(v, 0.75)
}

func quantile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	h := p * float64(len(sorted)-1)
	lo := int(math.Floor(h))
	hi := int(math.Ceil(h))
	return sorted[lo] + (h-float64(lo))*(sorted[hi]-sorted[lo])
}

// bowleySkew is (Q1 + Q3 - 2·Q2) / (Q3 - Q1), taken as 0 when the
// inter-quartile range is below minIQR or the median sits on a quartile
// (the distribution is then too tight for skew to mean anything).
func bowleySkew(q1, q2, q3, minIQR float64) float64 {
	if q3-q1 < minIQR || q2 == q1 || q2 == q3 {
		return 0
	}
	return (q1 + q3 - 2*q2) / (q3 - q1)
}

// mad is the median absolute deviation of v around median.
func mad(v []float64, median float64) float64 {
	d := make([]float64, len(v))
	for i, x := range v {
		d[i] = math.Abs(x - median)
	}
	slices.Sort(d)
	return quantile(d, 0.5)
}

// regularity scores how tightly v clusters: the mean of 1-|Bowley skew|
// and (median - MAD)/median. madDefault is used when the median is below 1.
func regularity(v []float64, minIQR, madDefault float64) (score, median, madv float64) {
	q1, q2, q3 := quartiles(v)
	skewScore := 1 - math.Abs(bowleySkew(q1, q2, q3, minIQR))
	madv = mad(v, q2)
	madScore := madDefault
	if q2 >= 1 {
		madScore = math.Max(0, (q2-madv)/q2)
	}
	return clamp01((skewScore + madScore) / 2), q2, madv
}

// cvScore is 1 - stdev/mean over the bins, 0 when the coefficient of
// variation exceeds 1 or there is no data.
func cvScore(bins []float64) float64 {
	if len(bins) == 0 {
		return 0
	}
	var sum float64
	for _, b := range bins {
		sum += b
	}
	mean := sum / float64(len(bins))
	if mean == 0 {
		return 0
	}
	var ss float64
	for _, b := range bins {
		ss += (b - mean) * (b - mean)
	}
	return clamp01(1 - math.Sqrt(ss/float64(len(bins)))/mean)
}

// bimodalFit measures whether the non-empty bins take one or two heights
// (a beacon that is faster in some hours): heights are grouped into buckets
// of ceil(5% of the highest bin); the fit is the share of non-empty bins in
// the two most common buckets, with one outlier forgiven. It needs at least
// 11 non-empty bins.
func bimodalFit(bins []float64) float64 {
	var maxH float64
	nonEmpty := 0
	for _, b := range bins {
		if b > 0 {
			nonEmpty++
			maxH = math.Max(maxH, b)
		}
	}
	if nonEmpty < 11 {
		return 0
	}
	size := math.Ceil(0.05 * maxH)
	freq := map[int]int{}
	for _, b := range bins {
		if b > 0 {
			freq[int(b/size)]++
		}
	}
	counts := make([]int, 0, len(freq))
	for _, c := range freq {
		counts = append(counts, c)
	}
	slices.Sort(counts)
	top := counts[len(counts)-1]
	if len(counts) > 1 {
		top += counts[len(counts)-2]
	}
	return clamp01(float64(top) / float64(nonEmpty-1))
}

// longestRun returns the longest run of consecutive non-empty bins, the
// bins being circular (hour 23 is followed by hour 0).
func longestRun(bins []float64) int {
	n := len(bins)
	best, cur := 0, 0
	for i := 0; i < 2*n; i++ {
		if bins[i%n] > 0 {
			cur++
			best = max(best, cur)
		} else {
			cur = 0
		}
	}
	return min(best, n)
}

// longConnScore maps a stitched connection duration (seconds) onto the
// categories 1 h, 4 h, 8 h, 12 h, 24 h -> 0.2, 0.4, 0.6, 0.8, 1.0,
// interpolating linearly in between; below 1 h it is 0.
func longConnScore(sec float64) float64 {
	pts := [...][2]float64{{3600, 0.2}, {4 * 3600, 0.4}, {8 * 3600, 0.6}, {12 * 3600, 0.8}, {24 * 3600, 1.0}}
	if sec < pts[0][0] {
		return 0
	}
	for i := 1; i < len(pts); i++ {
		if sec < pts[i][0] {
			a, b := pts[i-1], pts[i]
			return a[1] + (sec-a[0])/(b[0]-a[0])*(b[1]-a[1])
		}
	}
	return 1
}

func clamp01(x float64) float64 {
	if math.IsNaN(x) || x < 0 {
		return 0
	}
	if x > 1 {
		return 1
	}
	return x
}
