package probe

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestParseEnviron(t *testing.T) {
	env := parseEnviron([]byte("MALLOC_ARENA_MAX=2\x00MALLOC_CONF=a:1,b=2\x00EMPTY=\x00junk\x00MALLOC_ARENA_MAX=8\x00"))
	for k, want := range map[string]string{"MALLOC_ARENA_MAX": "2", "MALLOC_CONF": "a:1,b=2", "EMPTY": ""} {
		if got, ok := env[k]; !ok || got != want {
			t.Errorf("%s: got %q (set: %v), want %q", k, got, ok, want)
		}
	}
	if got, want := len(env), 3; got != want {
		t.Errorf("got %d variables, want %d: %v", got, want, env)
	}
}

func TestEnvironFixture(t *testing.T) {
	fs, err := NewFS("testdata/proc")
	if err != nil {
		t.Fatal(err)
	}
	env, err := fs.Environ(42)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := env["LD_PRELOAD"], "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"; got != want {
		t.Errorf("LD_PRELOAD: got %q, want %q", got, want)
	}
	if _, err := fs.Environ(9999); err != ErrExited {
		t.Errorf("a missing process: got %v, want ErrExited", err)
	}
}

// The environment is the one the process was exec'd with: a variable the shell unset
// before exec'ing is gone from it, though its parent passed it.
func TestEnvironOfARealProcess(t *testing.T) {
	cmd := exec.Command("sh", "-c", "unset MALLOC_CONF; exec sleep 30")
	cmd.Env = append(os.Environ(), "MALLOC_CONF=narenas:1", "MALLOC_ARENA_MAX=3")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	fs, err := NewFS(DefaultRoot)
	if err != nil {
		t.Fatal(err)
	}
	// Wait for the exec to finish: until then /proc shows the shell's environment, and
	// for a moment after the new name is set, an empty one.
	var env map[string]string
	for {
		b, err := os.ReadFile(fs.path(cmd.Process.Pid, "comm"))
		if err != nil {
			t.Fatal(err)
		}
		if env, err = fs.Environ(cmd.Process.Pid); err != nil {
			t.Fatal(err)
		}
		if string(b) == "sleep\n" && len(env) > 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if got := env["MALLOC_ARENA_MAX"]; got != "3" {
		t.Errorf("MALLOC_ARENA_MAX: got %q, want 3", got)
	}
	if got, ok := env["MALLOC_CONF"]; ok {
		t.Errorf("MALLOC_CONF: got %q, want it gone", got)
	}
}
