package external

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"time"
)

// ParseLocustStats reads the Aggregated row of Locust's PREFIX_stats.csv (--csv PREFIX):
// times in milliseconds, "N/A" where Locust saw no request. ok is false without that row.
func ParseLocustStats(b []byte) (Figures, bool) {
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil || len(rows) < 2 {
		return Figures{}, false
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, need := range []string{"Name", "Request Count", "Failure Count", "Requests/s"} {
		if _, ok := col[need]; !ok {
			return Figures{}, false
		}
	}
	for _, row := range rows[1:] {
		if len(row) != len(rows[0]) || row[col["Name"]] != "Aggregated" {
			continue
		}
		get := func(name string) (float64, bool) {
			i, ok := col[name]
			if !ok {
				return 0, false
			}
			v, err := strconv.ParseFloat(row[i], 64)
			return v, err == nil
		}
		ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
		f := Figures{Tool: "locust", Errors: map[string]uint64{}}
		n, _ := get("Request Count")
		fails, _ := get("Failure Count")
		f.Requests = uint64(n)
		f.ReqPerSec, _ = get("Requests/s")
		if fails > 0 {
			f.Errors["failures"] = uint64(fails)
		}
		if v, ok := get("Average Response Time"); ok {
			f.Mean = ms(v)
		}
		if v, ok := get("Max Response Time"); ok {
			f.Max = ms(v)
		}
		if size, ok := get("Average Content Size"); ok {
			f.Bytes = uint64(size * n)
		}
		if f.ReqPerSec > 0 {
			f.Duration = time.Duration(n / f.ReqPerSec * float64(time.Second))
		}
		p50, ok50 := get("50%")
		p90, ok90 := get("90%")
		p99, ok99 := get("99%")
		if ok50 && ok90 && ok99 {
			f.HasPercentiles = true
			f.P50, f.P90, f.P99 = ms(p50), ms(p90), ms(p99)
			if v, ok := get("99.9%"); ok {
				f.P999 = ms(v)
			}
		}
		return f, true
	}
	return Figures{}, false
}
