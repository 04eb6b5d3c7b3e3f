package record

import (
	"reflect"
	"testing"
)

func TestServerGroups(t *testing.T) {
	py := []string{"python3", "-m", "http.server", "{port}"}
	r := &Record{Targets: []Target{
		{Name: "system", Kind: KindBuiltin},
		{Name: "py+system", Kind: KindCommand, Command: py},
		{Name: "jemalloc-preload", Kind: KindPreload},
		{Name: "py+jemalloc", Kind: KindCommand, Command: py},
		{Name: "nginx", Kind: KindCommand, Command: []string{"nginx", "-p", "/tmp/n"}},
		{Name: "api", Kind: KindRemote, URL: "http://10.0.0.2/"},
		{Name: "api2", Kind: KindRemote, URL: "http://10.0.0.3/"},
	}}
	if got, want := ServerGroups(r), [][]int{{0, 2}, {1, 3}, {4}, {5}, {6}}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestLanesDeclaredOneServerAreOneGroup(t *testing.T) {
	r := &Record{Targets: []Target{
		{Name: "system", Kind: KindBuiltin},
		{Name: "mine-glibc", Kind: KindCommand, Command: []string{"./server-glibc"}, Group: "mine-glibc,mine-jemalloc"},
		{Name: "api", Kind: KindRemote, URL: "http://10.0.0.2/"},
		{Name: "mine-jemalloc", Kind: KindCommand, Command: []string{"./server-jemalloc"}, Group: "mine-glibc,mine-jemalloc"},
		{Name: "api2", Kind: KindRemote, URL: "http://10.0.0.3/"},
	}}
	if got, want := ServerGroups(r), [][]int{{0}, {1, 3}, {2}, {4}}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
