package record

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestInterferenceIsJudgedOverTheLoadPhase(t *testing.T) {
	s := time.Second
	r := sample()
	r.Plan.Interval = s
	r.Targets[0].Runs[0].Phases = Phases{LoadStart: 2 * s, LoadEnd: 5 * s, CooldownEnd: 7 * s}
	// Busy only outside the load (a build before it, a cooldown after it), then under it.
	other := []float64{90, 90, 10, 20, 30, 90, 90}
	in := &Interference{}
	for i, o := range other {
		in.Series = append(in.Series, CPUShare{T: time.Duration(i+1) * s, OtherPct: o})
	}
	in.Summarize(r)
	if in.MeanOtherPct != 20 || in.MaxOtherPct != 30 || in.Busy {
		t.Fatalf("got mean %.1f%%, max %.1f%%, busy %v; want 20%%, 30%%, not busy", in.MeanOtherPct, in.MaxOtherPct, in.Busy)
	}
	in.Series[3].OtherPct = 60
	in.Summarize(r)
	if in.MeanOtherPct <= BusyOtherPct || !in.Busy || !in.Refuses() {
		t.Fatalf("got mean %.1f%%, busy %v, refuses %v; want busy", in.MeanOtherPct, in.Busy, in.Refuses())
	}
	in.AllowBusy = true
	if in.Refuses() {
		t.Fatal("--allow-busy still refuses")
	}
}

func TestInterferenceRoundTripsAndOldRecordsReadWithout(t *testing.T) {
	r := sample()
	var old bytes.Buffer
	Encode(&old, r)
	if strings.Contains(old.String(), "interference") {
		t.Fatal("a record without the series writes it")
	}
	back, err := Unmarshal(old.Bytes())
	if err != nil || back.Interference != nil {
		t.Fatalf("got %v, %+v", err, back.Interference)
	}
	r.Interference = &Interference{Series: []CPUShare{{T: time.Second, OtherPct: 63}}, MeanOtherPct: 63, MaxOtherPct: 63, Busy: true, AllowBusy: true}
	var b bytes.Buffer
	Encode(&b, r)
	back, err = Unmarshal(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if in := back.Interference; in == nil || !in.Busy || in.MeanOtherPct != 63 || len(in.Series) != 1 || in.AllowBusy {
		t.Fatalf("got %+v; want the series and the judgement, and not the reader's --allow-busy", in)
	}
	c := r.Clone()
	c.Interference.Series[0].OtherPct = 1
	if r.Interference.Series[0].OtherPct != 63 || !c.Interference.AllowBusy {
		t.Fatal("the clone shares the series, or lost --allow-busy")
	}
}
