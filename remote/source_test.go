package remote

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParseForms(t *testing.T) {
	for _, c := range []struct {
		spec, err string
	}{
		{"prom+http://h:9256/metrics?groupname=api", ""},
		{"promql+http://h:9090/?query=up", ""},
		{"promql+http://h:9090/", "needs ?query=EXPR"},
		{"http://h:9256/metrics", "use prom+http://"},
		{"graphite+http://h/", "neither prom nor promql"},
	} {
		_, err := Parse(c.spec)
		if (err == nil) != (c.err == "") || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("Parse(%q) = %v, want %q", c.spec, err, c.err)
		}
	}
}

func TestAServicesOwnProcessMetric(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes 1.2345e+07\n"))
	}))
	defer srv.Close()
	s, err := Parse("prom+" + srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Read(context.Background())
	if err != nil || r.RSSBytes != 12345000 {
		t.Fatalf("got %+v, %v; want 12,345,000 bytes", r, err)
	}
}

func TestAQueryMatchingSeveralSeriesIsRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1"]},{"metric":{},"value":[1,"2"]}]}}`))
	}))
	defer srv.Close()
	s, _ := Parse("promql+" + srv.URL + "/?query=x")
	if _, err := s.Read(context.Background()); err == nil || !strings.Contains(err.Error(), "matches 2 series") {
		t.Fatalf("got %v", err)
	}
}
