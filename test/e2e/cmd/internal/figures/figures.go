// Package figures holds the arithmetic the benchmark commands print with:
// durations as milliseconds and medians of samples.
package figures

import (
	"sort"
	"time"
)

// Ms is d in milliseconds, to the microsecond.
func Ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Median is the median of v (the mean of the middle two for an even
// count), 0 for none; v is left as it was.
func Median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
