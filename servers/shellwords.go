package servers

import (
	"slices"
	"strings"
)

// CommandArgv is a --target command's argv: its words, split as a POSIX shell would, so
// it runs with no shell in its process tree (a single-process server's peak is then its
// own, exact, not a tree's sum). A command that needs the shell (pipes, lists,
// redirections, expansions, globs, variable assignments, keywords) runs as sh -c COMMAND.
func CommandArgv(command string) []string {
	if words, ok := splitWords(command); ok && len(words) > 0 {
		return words
	}
	return []string{"sh", "-c", command}
}

// shellOnly are the first words that mean something only to the shell.
var shellOnly = []string{"!", "{", "}", "if", "then", "else", "elif", "fi", "case", "esac", "for", "while", "until",
	"do", "done", "function", "exec", "cd", "export", "unset", "set", "eval", ".", "source", "alias", "ulimit", "umask", "trap", "time"}

// splitWords splits s into words by blanks, single quotes, double quotes and
// backslashes; ok is false when s holds anything else a shell would act on.
func splitWords(s string) (words []string, ok bool) {
	var word strings.Builder
	inWord, quoted := false, false
	end := func() {
		if inWord {
			words = append(words, word.String())
		}
		word.Reset()
		inWord, quoted = false, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			end()
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, false
			}
			word.WriteString(s[i+1 : i+1+j])
			inWord, quoted, i = true, true, i+1+j
		case c == '"':
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				return nil, false
			}
			inner := s[i+1 : i+1+j]
			// Inside double quotes $, ` and \ still act.
			if strings.ContainsAny(inner, "$`\\") {
				return nil, false
			}
			word.WriteString(inner)
			inWord, quoted, i = true, true, i+1+j
		case c == '\\':
			if i+1 >= len(s) || s[i+1] == '\n' {
				return nil, false
			}
			word.WriteByte(s[i+1])
			inWord, quoted, i = true, true, i+1
		case strings.IndexByte("|&;<>()$`*?[]~#\n\r", c) >= 0:
			// # starts a comment only at a word's start; elsewhere it is a letter.
			if c == '#' && inWord {
				word.WriteByte(c)
				continue
			}
			return nil, false
		case c == '=' && len(words) == 0 && !quoted:
			// NAME=VALUE before the command is an assignment for the shell.
			return nil, false
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	end()
	if len(words) > 0 && slices.Contains(shellOnly, words[0]) {
		return nil, false
	}
	return words, true
}
