package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

// docs/commands.md is the command tree's flags as -h prints them: regenerated here, it
// must be what is committed.
func TestDocsCommandsIsGenerated(t *testing.T) {
	committed, err := os.ReadFile("../../docs/commands.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(committed, commandsMarkdown(newRoot())) {
		t.Fatalf("docs/commands.md is not what the flags say: run go generate ./cmd/allocscope")
	}
}

// The reference and the man page name every command a user can type and every one of
// its flags, with the words of its -h.
func TestDocsNameEveryCommandAndFlag(t *testing.T) {
	md := string(commandsMarkdown(newRoot()))
	man := string(manPage(newRoot(), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)))
	if !strings.Contains(man, "\n.TH ALLOCSCOPE 1 \"November 2026\"") {
		t.Fatalf("the man page does not start with its title line:\n%.200s", man)
	}
	cmds := docCommands(newRoot())
	if len(cmds) < 10 {
		t.Fatalf("%d commands documented, expected run, replay, report, compare, load, watch, servers build and list, version, completion", len(cmds))
	}
	for _, c := range cmds {
		if !strings.Contains(md, "\n## "+c.CommandPath()+"\n") {
			t.Errorf("docs/commands.md has no section for %s", c.CommandPath())
		}
		if !strings.Contains(man, c.CommandPath()) {
			t.Errorf("the man page does not name %s", c.CommandPath())
		}
		for _, f := range docFlags(c) {
			if !strings.Contains(md, "| `"+f.name+"` |") {
				t.Errorf("docs/commands.md: %s has no row for %s", c.CommandPath(), f.name)
			}
			// roff escapes a dash as \-.
			if !strings.Contains(man, strings.ReplaceAll(f.name, "-", `\-`)) && !strings.Contains(man, f.name) {
				t.Errorf("the man page: %s does not list %s", c.CommandPath(), f.name)
			}
		}
	}
	for _, hidden := range []string{"__guard", "__loadworker", genDocsCommand} {
		if strings.Contains(md, hidden) || strings.Contains(man, hidden) {
			t.Errorf("the docs show the internal command %s", hidden)
		}
	}
}
