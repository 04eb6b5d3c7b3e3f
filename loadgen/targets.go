package loadgen

import (
	"bufio"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Request is one request of a mix, read from a targets file in vegeta's http format.
type Request struct {
	Method string `json:"method"`
	// URL is the target's URL as written; only its path and query are sent, to the
	// address the load test drives.
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	// Body is the content of the target's @file, nil for none.
	Body []byte `json:"body,omitempty"`
	// Weight is how many of each cycle of requests are this one (1 unless a
	// "# weight: N" line says otherwise).
	Weight int `json:"weight"`
}

// Methods a targets file may name: vegeta's.
var targetMethods = map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "OPTIONS": true}

// MaxCycle bounds a mix's cycle, the sum of its weights divided by their common factor:
// every connection's requests are written from one buffer holding a whole cycle.
const MaxCycle = 1000

// weightPrefix starts the one comment line allocscope reads: vegeta skips it as a comment,
// so a weighted file still drives vegeta (with every weight 1).
const weightPrefix = "# weight:"

// ReadTargets reads a targets file. A relative @body path is read from the file's own
// directory, so a file and its bodies move together.
func ReadTargets(path string) ([]Request, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("targets: %w", err)
	}
	defer f.Close()
	return ParseTargets(f, path, filepath.Dir(path))
}

// ParseTargets reads targets in vegeta's http format: a "METHOD URL" line, then header
// lines "Name: value", then an optional "@path" body, each target ended by a blank line
// or the next "METHOD URL" line; lines starting with # are comments, except "# weight: N"
// within a target. name labels errors ("name:LINE: what is wrong"); dir resolves
// relative body paths.
func ParseTargets(r io.Reader, name, dir string) ([]Request, error) {
	var out []Request
	var cur *Request // the target being read, nil between targets
	bodyRead := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	fail := func(format string, a ...any) ([]Request, error) {
		return nil, fmt.Errorf("%s:%d: %s", name, n, fmt.Sprintf(format, a...))
	}
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
			cur = nil
			continue
		case strings.HasPrefix(line, weightPrefix):
			if cur == nil {
				return fail("%q belongs to a target: put it after the target's METHOD URL line", line)
			}
			w, err := strconv.Atoi(strings.TrimSpace(line[len(weightPrefix):]))
			if err != nil || w < 1 {
				return fail("weight %q must be a whole number of at least 1", strings.TrimSpace(line[len(weightPrefix):]))
			}
			cur.Weight = w
			continue
		case strings.HasPrefix(line, "#"):
			continue
		}
		if method, rest, ok := strings.Cut(line, " "); ok && targetMethods[method] || cur == nil {
			if !ok || strings.HasSuffix(method, ":") {
				return fail("%q is not a target: write METHOD URL, e.g. GET http://localhost/alloc, and its headers under it", line)
			}
			if !targetMethods[method] {
				return fail("bad method %q: use GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS", method)
			}
			raw := strings.TrimSpace(rest)
			u, err := url.Parse(raw)
			if err != nil || u.Scheme != "http" || u.Host == "" {
				return fail("bad URL %q: write an http:// URL with a host, e.g. http://localhost/alloc", raw)
			}
			out = append(out, Request{Method: method, URL: raw, Weight: 1})
			cur, bodyRead = &out[len(out)-1], false
			continue
		}
		if bodyRead {
			return fail("%q follows the target's body: the @file line comes last", line)
		}
		if strings.HasPrefix(line, "@") {
			p := line[1:]
			if strings.HasPrefix(p, "<<") {
				return fail("inline bodies (@<<) are not supported: put the body in a file and write @path")
			}
			if p == "" {
				return fail("@ names no body file: write @path/to/body")
			}
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return fail("body: %v", err)
			}
			cur.Body, bodyRead = b, true
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" || strings.ContainsAny(k, " \t") {
			return fail("bad header %q: write Name: value", line)
		}
		if cur.Headers == nil {
			cur.Headers = map[string]string{}
		}
		cur.Headers[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %v", name, n+1, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no targets: write one METHOD URL line per target", name)
	}
	return out, nil
}

// cycle orders a mix's requests by weight as smooth weighted round-robin does (nginx's):
// each request's share of any stretch of the cycle is as close to its weight as whole
// requests allow, so even a connection that stops early keeps the mix. It returns
// indexes into mix, one cycle long (the weights' sum over their common factor).
func cycle(mix []Request) []int {
	g := 0
	for _, r := range mix {
		g = gcd(g, r.Weight)
	}
	total := 0
	w := make([]int, len(mix))
	for i, r := range mix {
		w[i] = r.Weight / g
		total += w[i]
	}
	cur := make([]int, len(mix))
	seq := make([]int, 0, total)
	for range total {
		best := 0
		for i := range mix {
			cur[i] += w[i]
			if cur[i] > cur[best] {
				best = i
			}
		}
		cur[best] -= total
		seq = append(seq, best)
	}
	return seq
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
