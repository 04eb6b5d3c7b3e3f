package experiment

import (
	"net"
	"testing"
)

// A plan checked offline (the docs' examples) names remote hosts that need not exist:
// their memory source is parsed but not read. Online, the same plan is refused because
// nothing answers there.
func TestOfflineValidationReadsNoRemoteSource(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // a port nobody listens on: reading it fails at once
	o := Options{
		Targets:    []CustomTarget{{Name: "api", Command: "http://" + addr + "/"}},
		MemoryFrom: map[string]string{"api": "prom+http://" + addr + "/metrics?groupname=api"},
	}.WithDefaults()
	if err := o.Validate(); err == nil {
		t.Fatalf("online: a memory source nobody serves was accepted")
	}
	o.Offline = true
	if err := o.Validate(); err != nil {
		t.Fatalf("offline: %v", err)
	}
	o.MemoryFrom["api"] = "gopher://" + addr
	if err := o.Validate(); err == nil {
		t.Fatalf("offline: a memory source that does not parse was accepted")
	}
}
