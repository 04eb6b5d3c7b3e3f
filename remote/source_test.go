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

func TestImpossibleFiguresAreSourceErrors(t *testing.T) {
	for _, c := range []struct{ value, want string }{
		{"NaN", "gave RSS NaN, not a size"},
		{"+Inf", "gave RSS +Inf, not a size"},
		{"-5", "gave a negative RSS (-5 bytes)"},
		{"1e30", "gave RSS 1e+30 bytes, above 2^50 bytes"},
		{"1.2345e+07", ""},
	} {
		scrape := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes " + c.value + "\n"))
		}))
		query := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"` + c.value + `"]}]}}`))
		}))
		for _, spec := range []string{"prom+" + scrape.URL + "/metrics", "promql+" + query.URL + "/?query=x"} {
			s, err := Parse(spec)
			if err != nil {
				t.Fatal(err)
			}
			r, err := s.Read(context.Background())
			switch {
			case c.want == "" && (err != nil || r.RSSBytes != 12345000):
				t.Errorf("%s %s: got %+v, %v; want 12,345,000 bytes", spec, c.value, r, err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("%s %s: got %+v, %v; want an error saying %q", spec, c.value, r, err, c.want)
			}
		}
		scrape.Close()
		query.Close()
	}
}

func TestAnImpossibleVSZIsASourceErrorAndAMissingOneIsZero(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{"g{groupname=\"api\",memtype=\"resident\"} 1000\ng{groupname=\"api\",memtype=\"virtual\"} -1\n", "gave a negative VSZ"},
		{"g{groupname=\"api\",memtype=\"resident\"} 1000\n", ""},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("# TYPE namedprocess_namegroup_memory_bytes gauge\n" + strings.ReplaceAll(c.body, "g{", "namedprocess_namegroup_memory_bytes{")))
		}))
		s, _ := Parse("prom+" + srv.URL + "/metrics?groupname=api")
		r, err := s.Read(context.Background())
		srv.Close()
		switch {
		case c.want == "" && (err != nil || r.RSSBytes != 1000 || r.VSZBytes != 0):
			t.Errorf("no VSZ series: got %+v, %v; want RSS 1000 and VSZ 0 (not given)", r, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("got %+v, %v; want %q", r, err, c.want)
		}
	}
}
