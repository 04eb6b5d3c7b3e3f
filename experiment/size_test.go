package experiment

import (
	"strings"
	"testing"
	"time"

	"github.com/allocscope/allocscope/servers"
)

func TestAPlanTooLargeIsRefusedWithItsSize(t *testing.T) {
	lanes, err := servers.ParseLanes("system+MALLOC_ARENA_MAX={1,2,3,4,5,6,7,8},jemalloc+MALLOC_CONF=narenas:{1,2,3,4,5,6,7,8}+MALLOC_TOP_PAD_={0,1,2,3}")
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Lanes: lanes}
	for _, l := range lanes {
		o.Allocators = append(o.Allocators, l.Allocator)
	}
	o = o.WithDefaults()
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "40 lanes") || !strings.Contains(err.Error(), "list fewer values") {
		t.Errorf("got %v, want the 40 lanes refused", err)
	}
	o.Allocators, o.Lanes = o.Allocators[:8], o.Lanes[:8]
	o.Runs, o.Duration = 100, 20*time.Minute
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "more than 24h0m0s") {
		t.Errorf("got %v, want a plan longer than a day refused", err)
	}
	o.Runs, o.Duration = 3, 10*time.Second
	if got, want := o.Size(), "8 lanes × 3 runs, about 36s"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
