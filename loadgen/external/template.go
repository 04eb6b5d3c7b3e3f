// Package external runs the user's own load tool (wrk, vegeta, Locust, anything with a
// command line) against one lane, bounded in time and tied to allocscope's life, and
// reads the figures those tools print.
package external

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Placeholders are the words a command template may hold, each replaced per lane.
var Placeholders = []string{"url", "host", "port", "connections", "duration", "name", "lane", "csv"}

var placeholder = regexp.MustCompile(`\{([a-z_]+)\}`)

// Template is a load command with placeholders, as the user wrote it.
type Template struct{ text string }

// ParseTemplate checks a --load-command: not empty, and only known placeholders.
func ParseTemplate(text string) (Template, error) {
	if strings.TrimSpace(text) == "" {
		return Template{}, errors.New("--load-command is empty: give a command, e.g. 'wrk -t2 -c{connections} -d{duration} {url}'")
	}
	for _, m := range placeholder.FindAllStringSubmatch(text, -1) {
		if !slices.Contains(Placeholders, m[1]) {
			return Template{}, fmt.Errorf("--load-command: unknown placeholder {%s}: use {%s}", m[1], strings.Join(Placeholders, "}, {"))
		}
	}
	return Template{text: text}, nil
}

// String is the template as written.
func (t Template) String() string { return t.text }

// PerLane says whether the command names its lane's address, so that each lane gets
// load of its own; without {url}, {host} or {port} every lane runs the same command.
func (t Template) PerLane() bool {
	return t.Uses("url") || t.Uses("host") || t.Uses("port")
}

// Uses says whether the template holds {name}.
func (t Template) Uses(name string) bool { return strings.Contains(t.text, "{"+name+"}") }

// Values are what the placeholders stand for on one lane.
type Values struct {
	URL         string
	Connections int
	Duration    time.Duration
	Name        string
	Lane        int
	// CSV is the path prefix a tool writes its CSV files under (Locust's --csv).
	CSV string
}

// Expand is the shell command for one lane: each placeholder replaced by its value as
// one shell word, so a URL's '&' or '?' reaches the tool intact.
func (t Template) Expand(v Values) (string, error) {
	u, err := url.Parse(v.URL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("lane %s: %q is not a URL the load command can take", v.Name, v.URL)
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	words := map[string]string{
		"url": v.URL, "host": host, "port": port, "connections": strconv.Itoa(v.Connections),
		"duration": Seconds(v.Duration), "name": v.Name, "lane": strconv.Itoa(v.Lane), "csv": v.CSV,
	}
	return placeholder.ReplaceAllStringFunc(t.text, func(m string) string {
		return shellWord(words[m[1:len(m)-1]])
	}), nil
}

// Seconds is a duration as load tools take it: whole seconds, rounded up ("10s"), which
// wrk, vegeta and Locust all read.
func Seconds(d time.Duration) string {
	return strconv.Itoa(int(math.Ceil(d.Seconds()))) + "s"
}

var plainWord = regexp.MustCompile(`^[A-Za-z0-9_./:=@%+,-]+$`)

// shellWord is s as one word for a POSIX shell, quoted only when it has to be.
func shellWord(s string) string {
	if plainWord.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
