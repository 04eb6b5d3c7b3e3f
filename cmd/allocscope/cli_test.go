package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// Go's flag package read -long as --long; scripts written for it keep working, and a
// mistyped -bogus is an unknown flag, not -b ogus.
func TestSingleDashLongFlagsReadAsGo(t *testing.T) {
	fs, _ := runFlags()
	for _, c := range []struct{ in, want []string }{
		{[]string{"-headless", "-save", "x.json"}, []string{"--headless", "--save", "x.json"}},
		{[]string{"-c", "5", "-d=3", "--runs", "2"}, []string{"-c", "5", "-d=3", "--runs", "2"}},
		// A value is left alone, whatever it looks like.
		{[]string{"-b", "-headless", "--path", "-x"}, []string{"-b", "-headless", "--path", "-x"}},
		{[]string{"-bogus"}, []string{"--bogus"}},
		{[]string{"--", "-headless"}, []string{"--", "-headless"}},
	} {
		if got := gnuArgs(fs, c.in); !slices.Equal(got, c.want) {
			t.Errorf("%q: got %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSingleDashLongFlagsOnTheCommandLine(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "-bogus"}, "run: flag provided but not defined: --bogus (see 'allocscope run -h')"},
		{[]string{"run", "-threads", "0"}, "--threads 0: use 1 to 1024"},
		{[]string{"load", "http://127.0.0.1:1/", "-connections", "0"}, "connections"},
		{[]string{"watch", "1", "-interval", "0"}, "--interval 0s: use 50ms to 1m"},
	} {
		_, stderr, code := allocscope(t, c.args...)
		if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line with %q", c.args, code, stderr, c.want)
		}
	}
}

// run, tune and load spell the load's shape alike: the letter or the word, as the README says.
func TestLoadShapeFlagsHaveBothSpellings(t *testing.T) {
	for _, cmd := range []string{"run", "tune", "load"} {
		c, _, err := newRoot().Find([]string{cmd})
		if err != nil {
			t.Fatal(err)
		}
		for short, long := range map[string]string{"c": "connections", "d": "duration"} {
			if f := c.Flags().ShorthandLookup(short); f == nil || f.Name != long {
				t.Errorf("%s: -%s is %v, want -%s, --%s", cmd, short, f, short, long)
			}
		}
	}
	fs, a := runFlags()
	if err := parseFlags(fs, []string{"--connections", "20", "--duration", "3", "--pipelining", "2"}); err != nil {
		t.Fatal(err)
	}
	if a.conns.String() != "20" || a.o.Duration != 3*time.Second || a.o.Pipelining != 2 {
		t.Errorf("run --connections 20 --duration 3 --pipelining 2: got -c %s -d %s -p %d", a.conns.String(), a.o.Duration, a.o.Pipelining)
	}
}

// The grace the docs name reaches the plan.
func TestLoadCommandGraceReachesThePlan(t *testing.T) {
	fs, a := runFlags()
	if err := parseFlags(fs, []string{"--load-command", "wrk {url}", "--load-command-grace", "30s"}); err != nil {
		t.Fatal(err)
	}
	if err := checkLoadCommand(fs, a.o); err != nil || a.o.ExternalGrace != 30*time.Second {
		t.Errorf("--load-command-grace 30s: grace %s, err %v", a.o.ExternalGrace, err)
	}
}

// -h lists every flag a command takes, GNU-style, on stdout.
func TestHelpListsEveryFlag(t *testing.T) {
	for _, cmd := range newRoot().Commands() {
		if cmd.Hidden || !cmd.HasAvailableFlags() {
			continue
		}
		out, stderr, code := allocscope(t, cmd.Name(), "-h")
		if code != 0 || stderr != "" || !strings.HasPrefix(out, "usage: allocscope "+cmd.Name()) {
			t.Errorf("%s -h: exit %d, stderr %q, stdout %q", cmd.Name(), code, stderr, out)
			continue
		}
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			want := "--" + f.Name + " "
			if f.Shorthand == f.Name {
				want = "-" + f.Name + " "
			}
			if !strings.Contains(out, want) {
				t.Errorf("%s -h does not list %s:\n%s", cmd.Name(), want, out)
			}
		})
	}
}

// The shell's completion asks the same tree the commands run from.
func TestCompletionComesFromTheCommandTree(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--preset", ""}, "arenas"},
		{[]string{"run", "--allocators", "system,je"}, "system,jemalloc"},
		{[]string{"servers", "build", "--allocators", ""}, "tcmalloc"},
		{[]string{"load", "--engine", ""}, "io_uring"},
		{[]string{"compare", "--format", ""}, "csv"},
		{[]string{"report", "--format", ""}, "png"},
		{[]string{"completion", ""}, "fish"},
		{[]string{""}, "watch"},
	} {
		out, stderr, code := allocscope(t, append([]string{"__complete"}, c.args...)...)
		if code != 0 || !strings.Contains(out, c.want+"\n") && !strings.Contains(out, c.want+"\t") {
			t.Errorf("__complete %q: exit %d, stdout %q, stderr %q; want %q", c.args, code, out, stderr, c.want)
		}
	}
	if out, _, _ := allocscope(t, "__complete", ""); strings.Contains(out, "__") {
		t.Errorf("hidden commands are offered:\n%s", out)
	}
}
