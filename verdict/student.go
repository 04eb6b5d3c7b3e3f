package verdict

import "math"

// StudentTCDF is P(T ≤ t) for Student's t distribution with df degrees of freedom.
func StudentTCDF(t, df float64) float64 {
	x := df / (df + t*t)
	tail := 0.5 * regIncBeta(df/2, 0.5, x)
	if t >= 0 {
		return 1 - tail
	}
	return tail
}

// StudentTQuantile is the t with P(T ≤ t) = p, found by bisection on the CDF.
func StudentTQuantile(p, df float64) float64 {
	lo, hi := -1e6, 1e6
	for i := 0; i < 200; i++ {
		mid := (lo + hi) / 2
		if StudentTCDF(mid, df) < p {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// regIncBeta is the regularized incomplete beta function I_x(a, b), by its continued
// fraction (Lentz's method), as in Numerical Recipes' betai.
func regIncBeta(a, b, x float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	front := math.Exp(lab - la - lb + a*math.Log(x) + b*math.Log(1-x))
	if x < (a+1)/(a+b+2) {
		return front * betaCF(a, b, x) / a
	}
	return 1 - front*betaCF(b, a, 1-x)/b
}

func betaCF(a, b, x float64) float64 {
	c, d := 1.0, clampTiny(1-(a+b)*x/(a+1))
	d = 1 / d
	h := d
	for m := 1; m <= 300; m++ {
		fm := float64(m)
		// Each step folds in the even and then the odd term of the continued fraction.
		even := fm * (b - fm) * x / ((a + 2*fm - 1) * (a + 2*fm))
		odd := -(a + fm) * (a + b + fm) * x / ((a + 2*fm) * (a + 2*fm + 1))
		var f float64
		c, d, f = lentzStep(c, d, even)
		h *= f
		c, d, f = lentzStep(c, d, odd)
		h *= f
		if math.Abs(f-1) < 1e-15 {
			break
		}
	}
	return h
}

// lentzStep is one step of Lentz's method: the new C and D, and the factor C·D.
func lentzStep(c, d, term float64) (float64, float64, float64) {
	d = 1 / clampTiny(1+term*d)
	c = clampTiny(1 + term/c)
	return c, d, c * d
}

func clampTiny(v float64) float64 {
	const tiny = 1e-300
	if math.Abs(v) < tiny {
		return tiny
	}
	return v
}
