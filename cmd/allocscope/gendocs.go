package main

//go:generate go run . __gendocs markdown ../../docs/commands.md

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/allocscope/allocscope/record"
	"github.com/cpuguy83/go-md2man/v2/md2man"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// genDocsCommand writes the flag reference (docs/commands.md) or the man page from the
// command tree itself, so that neither can say something -h does not.
const genDocsCommand = "__gendocs"

// genDocsMain is `allocscope __gendocs markdown|man FILE`: go generate and make install run it.
func genDocsMain(args []string) int {
	if len(args) != 2 || (args[0] != "markdown" && args[0] != "man") {
		fmt.Fprintln(os.Stderr, "allocscope: usage: allocscope __gendocs markdown|man FILE")
		return 2
	}
	doc := commandsMarkdown(newRoot())
	if args[0] == "man" {
		doc = manPage(newRoot(), manDate())
	}
	if err := record.WriteFileAtomic(args[1], doc); err != nil {
		fmt.Fprintln(os.Stderr, "allocscope: "+err.Error())
		return 1
	}
	return 0
}

// docCommands are the commands a user can type, in the order help lists them (the
// others after them).
func docCommands(root *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" {
				continue
			}
			if sub.Runnable() && (sub.HasAvailableFlags() || !sub.HasAvailableSubCommands()) {
				out = append(out, sub)
			}
			walk(sub)
		}
	}
	walk(root)
	listed := func(c *cobra.Command) int {
		if i := strings.Index(usage, "\n  "+c.CommandPath()+" "); i >= 0 {
			return i
		}
		return len(usage)
	}
	slices.SortStableFunc(out, func(a, b *cobra.Command) int { return listed(a) - listed(b) })
	return out
}

// docFlag is one row of a flag table: as -h spells it, its default and what it does.
type docFlag struct{ name, def, usage string }

// docFlags are c's flags in -h's words; a machine's own paths are written as the
// documented defaults, so the page is the same wherever it is generated.
func docFlags(c *cobra.Command) []docFlag {
	var out []docFlag
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Name == "help" {
			return
		}
		name, usage, def := flagWords(f)
		usage = strings.ReplaceAll(usage, runsDir(), "~/.local/state/allocscope/runs")
		out = append(out, docFlag{name: name, def: def, usage: usage})
	})
	return out
}

// commandsMarkdown is docs/commands.md: each command's synopsis and a table of its flags.
func commandsMarkdown(root *cobra.Command) []byte {
	var b bytes.Buffer
	b.WriteString(`# Commands and flags

This page answers: which commands allocscope has, and what each of their flags does and
defaults to. It is generated from the command line's own definitions by
` + "`go generate ./cmd/allocscope`" + ` (a test fails when it is out of date), so it says what
` + "`allocscope COMMAND -h`" + ` says; change a flag in cmd/allocscope, not here. A flag of one
letter is written ` + "`-c`" + `; a long one ` + "`--headless`" + ` or ` + "`-headless`" + `, both parse.
`)
	for _, c := range docCommands(root) {
		fmt.Fprintf(&b, "\n## %s\n\n%s.\n\nUsage: `%s`\n", c.CommandPath(), c.Short, c.UseLine())
		flags := docFlags(c)
		if len(flags) == 0 {
			b.WriteString("\nNo flags.\n")
			continue
		}
		b.WriteString("\n| Flag | Default | Description |\n|---|---|---|\n")
		for _, f := range flags {
			def := ""
			if f.def != "" {
				def = "`" + tableCell(f.def) + "`"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", tableCell(f.name), def, tableCell(f.usage))
		}
	}
	return b.Bytes()
}

// tableCell keeps a cell in its column: a bar would end it.
func tableCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// manDate is the man page's date: SOURCE_DATE_EPOCH's for a reproducible build, else today.
func manDate() time.Time {
	var epoch int64
	if _, err := fmt.Sscan(os.Getenv("SOURCE_DATE_EPOCH"), &epoch); err == nil {
		return time.Unix(epoch, 0).UTC()
	}
	return time.Now().UTC()
}

// manPage is allocscope(1): the overview help prints, then every command with its flags.
func manPage(root *cobra.Command, date time.Time) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# ALLOCSCOPE 1 %q %q \"User Commands\"\n\n", date.Format("January 2006"), "allocscope "+version)
	b.WriteString("# NAME\n\nallocscope - compare memory allocators on a real server under load\n\n")
	b.WriteString("# SYNOPSIS\n\n**allocscope** *COMMAND* \\[*FLAGS*\\] \\[*ARGUMENTS*\\]\n\n")
	b.WriteString("# DESCRIPTION\n\n")
	b.WriteString(manText("allocscope runs the same HTTP server built with different allocators (glibc, jemalloc, mimalloc, tcmalloc, scudo), " +
		"or your own servers, loads them all at once with its own load generator, samples their memory from /proc and cgroups, " +
		"and reports it live in a terminal UI or as Markdown, JSON, CSV, SVG or PNG, with statistics over repeated runs and a CI gate."))
	b.WriteString("\n\nA flag of one letter is written -c; a long one --headless or -headless, both parse. " +
		"Flags may come before, between or after the arguments.\n\n# COMMANDS\n")
	for _, c := range docCommands(root) {
		fmt.Fprintf(&b, "\n## %s\n\n%s.\n\n**%s**\n", manText(c.CommandPath()), manText(c.Short), manText(c.UseLine()))
		for _, f := range docFlags(c) {
			usage := f.usage
			if f.def != "" {
				usage += " (default " + f.def + ")"
			}
			fmt.Fprintf(&b, "\n**%s**\n: %s\n", manText(f.name), manText(usage))
		}
	}
	b.WriteString("\n# EXIT STATUS\n\n0 when the command did what it was asked; 1 when it failed, or when a --fail-if gate failed; " +
		"2 for a usage error (a bad flag, argument or plan), which is one line on stderr saying what to change; " +
		"128+N when signal N ended a run (its record is still saved).\n")
	b.WriteString("\n# FILES\n\n*~/.local/state/allocscope/runs/* (or *$XDG_STATE_HOME/allocscope/runs/*)\n: every run's record, kept as it goes (" +
		"**allocscope report**, **allocscope replay**)\n\n*~/.cache/allocscope/*\n: the servers built once per allocator (**allocscope servers build**)\n")
	b.WriteString("\n# SEE ALSO\n\nThe README and the manual in docs/ of https://github.com/allocscope/allocscope; " +
		"**allocscope** *COMMAND* **-h** for a command's flags.\n")
	return md2man.Render(b.Bytes())
}

// manText escapes what Markdown would read as markup, so md2man keeps it as text.
func manText(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_[]<>#|", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
