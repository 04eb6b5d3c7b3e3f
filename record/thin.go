package record

// A soak's series grow by a few entries a beat for hours, and the running record keeps
// them all in memory: a beat's heap reading alone (a map of the allocator's raw
// figures) is a kilobyte or two. Once the journal holds a series on disk, memory need
// only hold what the live views draw, so Journal.Thin thins the part of each series the
// journal holds: the newest KeepWhole entries stay whole, the older ones are halved
// whenever there are more than KeepThinned of them, so that their resolution falls with
// their age and their number stays bounded. The record on disk, and the whole record
// that the run's end saves from it (Journal.Whole), keep every entry.
const (
	// KeepWhole is how many of a series' newest entries memory keeps at full
	// resolution: at the default 1 s interval ten minutes, twice the TUI's longest
	// window (5 minutes), which is thus drawn whole at intervals down to 500 ms.
	KeepWhole = 600
	// KeepThinned bounds the older entries memory keeps: more than a terminal is wide
	// in columns, so that the whole-run chart still has a point or more per column.
	KeepThinned = 600
)

// thinSeries moves what the journal holds of mem beyond its newest KeepWhole entries
// into its thinned part, and halves that part when it outgrows KeepThinned. It never
// writes into mem: snapshots share its backing array, so a thinned series is a new one.
func thinSeries[E any](mem []E, s *seenSeries, halve func([]E) []E) []E {
	s.older = max(s.older, min(s.next(), len(mem)-KeepWhole))
	if s.older <= KeepThinned {
		return mem
	}
	kept := halve(mem[:s.older])
	out := make([]E, 0, len(kept)+len(mem)-s.older)
	out = append(append(out, kept...), mem[s.older:]...)
	s.removed += s.older - len(kept)
	s.older = len(kept)
	return out
}

// halveSamples keeps, of every 4 samples, the ones with the lowest and the highest RSS,
// in time order: the chart's min–max envelope and the peaks are unchanged. The highest
// VmHWM of the 4 is carried into the later one kept, so that a live peak does not fall.
func halveSamples(in []Sample) []Sample {
	out := make([]Sample, 0, len(in)/2+2)
	for k := 0; k < len(in); k += 4 {
		g := in[k:min(k+4, len(in))]
		lo, hi := 0, 0
		var hwm uint64
		for i, s := range g {
			if s.RSSBytes < g[lo].RSSBytes {
				lo = i
			}
			if s.RSSBytes >= g[hi].RSSBytes {
				hi = i
			}
			hwm = max(hwm, s.PeakRSSBytes)
		}
		a, b := min(lo, hi), max(lo, hi)
		if a != b {
			out = append(out, g[a])
		}
		last := g[b]
		last.PeakRSSBytes = hwm
		out = append(out, last)
	}
	return out
}

// halveTicks keeps every other load tick, the later of each two, with the errors of the
// one dropped added to it: a tick's rate stays a rate, and the errors summed over the
// ticks (the TUI's count, the metrics endpoint's counter) stay whole.
func halveTicks(in []LoadTick) []LoadTick {
	out := make([]LoadTick, 0, len(in)/2+1)
	for k := 0; k < len(in); k += 2 {
		if k+1 == len(in) {
			out = append(out, in[k])
			break
		}
		t := in[k+1]
		t.Errors += in[k].Errors
		t.Non2xx += in[k].Non2xx
		out = append(out, t)
	}
	return out
}

// halveEvery keeps every other entry, the later of each two.
func halveEvery[E any](in []E) []E {
	out := make([]E, 0, len(in)/2+1)
	for k := 0; k < len(in); k += 2 {
		out = append(out, in[min(k+1, len(in)-1)])
	}
	return out
}
