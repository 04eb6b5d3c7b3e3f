package probe

import "testing"

func TestMachineFromFixture(t *testing.T) {
	fs, err := NewFS("testdata/proc")
	if err != nil {
		t.Fatal(err)
	}
	got := fs.Machine()
	want := Machine{MemTotalBytes: 24684092 << 10, CPUModel: "AMD EPYC", Hypervisor: true, OvercommitMemory: "0", EphemeralPorts: 28232}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestMachineOfAnEmptyRootIsZero(t *testing.T) {
	fs, err := NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if got := fs.Machine(); got != (Machine{}) {
		t.Fatalf("got %+v from an empty root", got)
	}
}
