package external

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The fixtures are the real tools' output against the built-in server on loopback:
// wrk 4.1.0 (Debian), vegeta v12.13.0, Locust 2.12.1 (Debian, master and two workers).
func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParsers(t *testing.T) {
	us, ms := time.Microsecond, time.Millisecond
	locustRate, locustSize, locustMean := 2903.067478189083, 22.851365246201304, 0.3630755169656118
	cases := []struct {
		file, csv string
		want      Figures
	}{
		{file: "wrk_plain.txt", want: Figures{Tool: "wrk", Requests: 30040, Duration: 2010 * ms, ReqPerSec: 14975.07, Bytes: 3449815,
			Mean: 770340 * time.Nanosecond, Max: 20450 * us, Errors: map[string]uint64{}}},
		{file: "wrk_latency.txt", want: Figures{Tool: "wrk", Requests: 27717, Duration: 2010 * ms, ReqPerSec: 13823.50, Bytes: 3187671,
			Mean: 804930 * time.Nanosecond, Max: 10350 * us, HasPercentiles: true, P50: 136 * us, P90: 2610 * us, P99: 5180 * us, Errors: map[string]uint64{}}},
		// A -s script's POSTs to a missing path, and its done() printing a line of its own.
		{file: "wrk_lua_non2xx.txt", want: Figures{Tool: "wrk", Requests: 28082, Duration: 2010 * ms, ReqPerSec: 13961.68, Bytes: 3816816,
			Mean: 1600 * us, Max: 49410 * us, HasPercentiles: true, P50: 114 * us, P90: 3690 * us, P99: 25070 * us, Errors: map[string]uint64{"non2xx": 28082}}},
		// The server killed one second into the run.
		{file: "wrk_socket_errors.txt", want: Figures{Tool: "wrk", Requests: 31522, Duration: 3010 * ms, ReqPerSec: 10483.13, Bytes: 3628072,
			Mean: 118130 * time.Nanosecond, Max: 4360 * us, Errors: map[string]uint64{"connect": 0, "read": 5, "write": 52920, "timeout": 0}}},
		// Half the targets answer 404.
		{file: "vegeta_report.json", want: Figures{Tool: "vegeta", Requests: 400, Duration: 1992514508, ReqPerSec: 400 / 1.992514508, Bytes: 15200,
			Mean: 488975, Max: 2636824, HasPercentiles: true, P50: 437708, P90: 592038, P99: 1713779,
			Errors: map[string]uint64{"non2xx": 200}, Status: map[string]uint64{"2xx": 200, "4xx": 200}}},
		{file: "vegeta_ok.json", want: Figures{Tool: "vegeta", Requests: 100, Duration: 990210395, ReqPerSec: 100 / 0.990210395, Bytes: 1300,
			Mean: 519971, Max: 1398382, HasPercentiles: true, P50: 483056, P90: 633207, P99: 1261841,
			Errors: map[string]uint64{}, Status: map[string]uint64{"2xx": 100}}},
		{file: "wrk_plain.txt", csv: "locust", want: Figures{Tool: "locust", Requests: 8753, Duration: time.Duration(8753 / locustRate * 1e9), ReqPerSec: locustRate,
			Bytes: uint64(locustSize * 8753), Mean: time.Duration(locustMean * 1e6), Max: 65 * ms,
			HasPercentiles: true, P50: 0, P90: 0, P99: 14 * ms, P999: 45 * ms, Errors: map[string]uint64{}}},
	}
	for _, c := range cases {
		t.Run(c.file+c.csv, func(t *testing.T) {
			csv := ""
			if c.csv != "" {
				csv = filepath.Join("testdata", c.csv)
			}
			got, ok := Read(fixture(t, c.file), csv)
			if !ok {
				t.Fatal("not recognised")
			}
			if got.Tool != c.want.Tool || got.Requests != c.want.Requests || got.Bytes != c.want.Bytes || got.HasPercentiles != c.want.HasPercentiles {
				t.Errorf("got %s %d requests %d bytes percentiles %v, want %s %d requests %d bytes percentiles %v",
					got.Tool, got.Requests, got.Bytes, got.HasPercentiles, c.want.Tool, c.want.Requests, c.want.Bytes, c.want.HasPercentiles)
			}
			if d := got.ReqPerSec - c.want.ReqPerSec; d > 0.01 || d < -0.01 {
				t.Errorf("got %f req/s, want %f", got.ReqPerSec, c.want.ReqPerSec)
			}
			for _, d := range []struct {
				name      string
				got, want time.Duration
			}{{"duration", got.Duration, c.want.Duration}, {"mean", got.Mean, c.want.Mean}, {"max", got.Max, c.want.Max},
				{"p50", got.P50, c.want.P50}, {"p90", got.P90, c.want.P90}, {"p99", got.P99, c.want.P99}, {"p99.9", got.P999, c.want.P999}} {
				if diff := d.got - d.want; diff > time.Microsecond || diff < -time.Microsecond {
					t.Errorf("%s: got %v, want %v", d.name, d.got, d.want)
				}
			}
			if !sameCounts(got.Errors, c.want.Errors) || !sameCounts(got.Status, c.want.Status) {
				t.Errorf("errors %v status %v, want %v %v", got.Errors, got.Status, c.want.Errors, c.want.Status)
			}
		})
	}
}

func sameCounts(a, b map[string]uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// Output that is no tool's summary is not mistaken for one: its figures are unknown.
func TestReadUnknownOutput(t *testing.T) {
	for _, out := range []string{"", "unable to connect to 127.0.0.1:18499 Connection refused\n", `{"errors":[]}`, "Requests/sec: \n"} {
		if f, ok := Read(out, filepath.Join(t.TempDir(), "none")); ok && f.ReqPerSec != 0 {
			t.Errorf("%q read as %+v", out, f)
		}
	}
	if _, ok := Read("Running 2s test\n", ""); ok {
		t.Error("an unfinished wrk run was read as a summary")
	}
}
