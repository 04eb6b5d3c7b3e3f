package verdict

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// StudentTCDF is P(T ≤ t) for Student's t distribution with df degrees of freedom.
func StudentTCDF(t, df float64) float64 { return studentsT(df).CDF(t) }

// StudentTQuantile is the t with P(T ≤ t) = p; NaN where there is none (p outside (0, 1),
// df not positive).
func StudentTQuantile(p, df float64) float64 {
	if !(p > 0 && p < 1) || !(df > 0) {
		return math.NaN()
	}
	return studentsT(df).Quantile(p)
}

// twoSided is the two-sided p-value of t, computed from the upper tail itself: 2(1 − CDF)
// is 0 for every p below about 1e-16. One that cannot be computed is 1.
func twoSided(t, df float64) float64 {
	p := 2 * studentsT(df).Survival(math.Abs(t))
	if math.IsNaN(p) {
		return 1
	}
	return min(p, 1)
}

func studentsT(df float64) distuv.StudentsT { return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df} }
