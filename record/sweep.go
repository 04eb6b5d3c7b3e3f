package record

import "strconv"

// Steps is how many steps the record holds: a sweep's values, or 1.
func (r *Record) Steps() int {
	if r.Plan.Sweep == nil || len(r.Plan.Sweep.Values) == 0 {
		return 1
	}
	return len(r.Plan.Sweep.Values)
}

// Step is the record as if it held step k alone: every target keeps only that step's
// runs, and the plan names that step's value. Summaries, verdicts and reports of a step
// are those of this record.
func (r *Record) Step(k int) *Record {
	c := r.Clone()
	sw := c.Plan.Sweep
	c.Plan.Sweep = nil
	for i := range c.Targets {
		var runs []TargetRun
		for _, run := range c.Targets[i].Runs {
			if run.Step == k {
				runs = append(runs, run)
			}
		}
		c.Targets[i].Runs = runs
	}
	if sw == nil || k < 0 || k >= len(sw.Values) {
		return c
	}
	v := sw.Values[k]
	switch sw.Parameter {
	case SweepConnections:
		if n, err := strconv.Atoi(v); err == nil {
			c.Plan.Connections = n
		}
	case SweepScenario:
		c.Plan.Scenario = v
		if k < len(sw.Paths) {
			c.Plan.Path = sw.Paths[k]
		}
	}
	return c
}
