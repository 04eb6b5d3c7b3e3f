package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// example is one allocscope command the docs show.
type example struct {
	where string   // file:line
	argv  []string // after the program's name
	needs string   // the packages its recipe needs beyond allocscope's, as the docs mark them
	// inText: a code span in prose, where "allocscope report" names the command.
	inText bool
}

func (e example) String() string { return e.where + ": allocscope " + strings.Join(e.argv, " ") }

// Every allocscope command in README.md and docs/ is read by allocscope's own parser
// and its plan checked, nothing run: a flag renamed or removed, a value no longer taken,
// fails here, not in a reader's terminal.
func TestExamplesInTheDocsParse(t *testing.T) {
	files := []string{"../../README.md"}
	more, _ := filepath.Glob("../../docs/*.md")
	files = append(files, more...)
	var all []example
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, docExamples(strings.TrimPrefix(f, "../../"), string(src))...)
	}
	// The README alone shows more than this many; fewer means the extraction broke.
	if len(all) < 15 {
		t.Fatalf("found %d allocscope commands in the docs, expected at least 15: %v", len(all), all)
	}
	dryRun = true
	defer func() { dryRun = false }()
	for _, e := range all {
		if err := checkExample(e.argv, e.inText); err != nil {
			t.Errorf("%s\n\t%s", e, oneLine(err.Error()))
		} else if e.needs == "" && !e.inText && runsOtherPrograms(e.argv) {
			t.Errorf("%s\n\truns programs of its own: name their Debian packages in a <!-- needs: PKG... --> line before its block", e)
		} else if e.needs != "" {
			t.Logf("%s (needs %s)", e, e.needs)
		}
	}
	t.Logf("%d commands in %s parsed", len(all), strings.Join(files, ", "))
}

// runsOtherPrograms says whether a recipe starts programs besides allocscope and its
// servers: a --target command (not a remote URL) or a --load-command.
func runsOtherPrograms(argv []string) bool {
	for i, a := range argv {
		name, value, inline := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || (name != "target" && name != "load-command") {
			continue
		}
		if !inline && i+1 < len(argv) {
			value = argv[i+1]
		}
		if name == "load-command" || !strings.Contains(value, "=http://") && !strings.Contains(value, "=https://") {
			return true
		}
	}
	return false
}

// checkExample parses argv as allocscope would: commands that honour dryRun check their
// plan and stop; the others' flags and arguments are parsed and nothing of theirs runs.
// In prose, a command's name alone ("allocscope report") only has to name one.
func checkExample(argv []string, inText bool) error {
	root := newRoot()
	c, rest, err := root.Find(argv)
	switch {
	case err != nil || c == root && !strings.HasPrefix(argv[0], "-") && strings.ToUpper(argv[0]) != argv[0]:
		return fmt.Errorf("no command %q: see allocscope help", argv[0])
	case inText && c != root && len(rest) == 0 && !c.DisableFlagParsing:
		return nil
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Annotations[dryRunAnnotation] == "" {
			c.Run, c.RunE = nil, func(*cobra.Command, []string) error { return nil }
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	for _, c := range root.Commands() {
		walk(c)
	}
	return execute(root, argv)
}

var (
	fence     = regexp.MustCompile("^\\s*(```+|~~~+)\\s*([A-Za-z0-9_-]*)")
	needsMark = regexp.MustCompile(`<!--\s*needs:\s*(.*?)\s*-->`)
	codeSpan  = regexp.MustCompile("`([^`]+)`")
)

// shellFences are the code blocks that hold commands; an untagged block is a screen or
// a file, whose lines are commands only when prompted with "$ ".
var shellFences = map[string]bool{"bash": true, "sh": true, "shell": true, "console": true, "yaml": true, "yml": true}

// docExamples finds the allocscope commands in a Markdown document: the lines of shell
// code blocks (continued with a backslash, prompted or not, in pipes and substitutions)
// and the code spans of its text that are whole commands, not synopses.
func docExamples(name, doc string) []example {
	var out []example
	lines := strings.Split(doc, "\n")
	add := func(line int, text, needs string, inText bool) {
		cmds, comment := shellCommands(text)
		if _, n, ok := strings.Cut(comment, "needs:"); ok {
			needs = strings.TrimSpace(n)
		}
		for _, words := range cmds {
			if argv, ok := allocscopeArgv(words); ok {
				out = append(out, example{where: fmt.Sprintf("%s:%d", name, line), argv: argv, needs: needs, inText: inText})
			}
		}
	}
	var para []string
	paraStart := 0
	flushPara := func() {
		text := strings.Join(para, "\n")
		for _, m := range codeSpan.FindAllStringSubmatchIndex(text, -1) {
			span := strings.ReplaceAll(strings.ReplaceAll(text[m[2]:m[3]], "\n", " "), `\|`, "|")
			if isSynopsis(span) {
				continue
			}
			add(paraStart+strings.Count(text[:m[0]], "\n"), span, "", true)
		}
		para = nil
	}
	needs := ""
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if m := needsMark.FindStringSubmatch(line); m != nil {
			needs = m[1]
		}
		m := fence.FindStringSubmatch(line)
		if m == nil {
			if strings.TrimSpace(line) == "" {
				flushPara()
			} else {
				if para == nil {
					paraStart = i + 1
				}
				para = append(para, line)
			}
			continue
		}
		flushPara()
		shell, blockNeeds := shellFences[m[2]], needs
		needs = ""
		for i++; i < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[i]), m[1]); i++ {
			start := i + 1
			text := strings.TrimSpace(lines[i])
			for strings.HasSuffix(text, `\`) && i+1 < len(lines) {
				i++
				text = strings.TrimSuffix(text, `\`) + " " + strings.TrimSpace(lines[i])
			}
			text = strings.TrimPrefix(strings.TrimPrefix(text, "- "), "run: ")
			prompted := strings.HasPrefix(text, "$ ")
			if shell || prompted {
				add(start, strings.TrimPrefix(text, "$ "), blockNeeds, false)
			}
		}
	}
	flushPara()
	return out
}

// isSynopsis tells a command's synopsis ([flags], PID..., a|b) from a command.
func isSynopsis(s string) bool {
	return strings.Contains(s, "…") || strings.Contains(s, "...") || regexp.MustCompile(`(^|\s)\[`).MatchString(s)
}

// allocscopeArgv is the arguments of a simple command that runs allocscope: by name, by
// path, or as go run ./cmd/allocscope; ok is false for any other command.
func allocscopeArgv(words []string) ([]string, bool) {
	for len(words) > 0 && strings.Contains(words[0], "=") && !strings.HasPrefix(words[0], "-") {
		words = words[1:] // VAR=value before the command
	}
	switch {
	case len(words) >= 3 && words[0] == "go" && words[1] == "run" && strings.HasSuffix(strings.TrimSuffix(words[2], "/"), "cmd/allocscope"):
		words = words[2:]
	case len(words) == 0 || (words[0] != "allocscope" && !strings.HasSuffix(words[0], "/allocscope")):
		return nil, false
	}
	if len(words) < 2 {
		return nil, false // the name alone, in prose
	}
	return words[1:], true
}

// shellCommands splits a line of shell into its simple commands' words, as sh would
// quote them ($VAR and $(…) kept as written), without redirections; the commands in
// $(…) and <(…) are among them; comment is what follows an unquoted #.
func shellCommands(line string) (cmds [][]string, comment string) {
	var words []string
	var word strings.Builder
	inWord, skipNext := false, false
	endWord := func() {
		if inWord && !skipNext {
			words = append(words, word.String())
		} else if inWord {
			skipNext = false
		}
		word.Reset()
		inWord = false
	}
	endCmd := func() {
		endWord()
		if len(words) > 0 {
			cmds = append(cmds, words)
		}
		words, skipNext = nil, false
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			endWord()
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				j = len(line) - i - 1
			}
			word.WriteString(line[i+1 : i+1+j])
			inWord, i = true, i+1+j
		case c == '"':
			for i++; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' && i+1 < len(line) && strings.IndexByte("\"\\$`", line[i+1]) >= 0 {
					i++
				}
				word.WriteByte(line[i])
			}
			inWord = true
		case c == '\\' && i+1 < len(line):
			word.WriteByte(line[i+1])
			inWord, i = true, i+1
		case (c == '$' || c == '<') && i+1 < len(line) && line[i+1] == '(':
			depth, j := 1, i+2
			for ; j < len(line) && depth > 0; j++ {
				switch line[j] {
				case '(':
					depth++
				case ')':
					depth--
				}
			}
			inner, _ := shellCommands(line[i+2 : j-1])
			cmds = append(cmds, inner...)
			word.WriteString(line[i:j])
			inWord, i = true, j-1
		case c == '#' && !inWord:
			endCmd()
			return cmds, strings.TrimSpace(line[i+1:])
		case c == '>' || c == '<':
			if s := word.String(); inWord && strings.Trim(s, "0123456789") == "" {
				word.Reset()
				inWord = false
			}
			endWord()
			for i+1 < len(line) && (line[i+1] == '>' || line[i+1] == '&') {
				i++
			}
			skipNext = true
		case strings.IndexByte("|&;()", c) >= 0:
			endCmd()
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	endCmd()
	return cmds, ""
}

// The extraction itself: what is a command, what is not, and the words sh would pass.
func TestDocExamplesAreFoundAsTheShellWouldRunThem(t *testing.T) {
	doc := "Run `allocscope run -c 5` or see `allocscope replay RUN.json [--view panels|chart]`;\n" +
		"the `allocscope` binary, `cmd/allocscope/`, `allocscope watch PID...`, `allocscope\nreport a.json`.\n\n" +
		"```\nallocscope │ system · jemalloc\n$ allocscope version\n```\n\n" +
		"<!-- needs: python3 -->\n```bash\n" +
		"allocscope run --target 'py=python3 -m http.server {port}' \\\n  --runs 3 -d 20   # a comment\n" +
		"source <(allocscope completion bash)  # or: allocscope completion zsh > \"${fpath[1]}/_allocscope\"\n" +
		"\"$RUNNER_TEMP/allocscope/bin/allocscope\" report x.json -o \"$OUT/r.md\" 2>&1 | allocscope compare a b\n" +
		"go run ./cmd/allocscope servers build # needs: cargo\n```\n"
	var got []string
	for _, e := range docExamples("d.md", doc) {
		got = append(got, fmt.Sprintf("%s %q %s", e.where, e.argv, e.needs))
	}
	want := []string{
		`d.md:1 ["run" "-c" "5"] `,
		`d.md:2 ["report" "a.json"] `,
		`d.md:7 ["version"] `,
		`d.md:12 ["run" "--target" "py=python3 -m http.server {port}" "--runs" "3" "-d" "20"] python3`,
		`d.md:14 ["completion" "bash"] python3`,
		`d.md:15 ["report" "x.json" "-o" "$OUT/r.md"] python3`,
		`d.md:15 ["compare" "a" "b"] python3`,
		`d.md:16 ["servers" "build"] cargo`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
