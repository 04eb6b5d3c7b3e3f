package loadgen

import (
	"strings"
	"testing"
)

// feedAll feeds the input in pieces of every size and counts whole responses.
func feedAll(t *testing.T, in string, step int) (statuses []int, closed bool, err error) {
	t.Helper()
	var r response
	b := []byte(in)
	for off := 0; off < len(b); {
		end := off + step
		if end > len(b) {
			end = len(b)
		}
		chunk := b[off:end]
		for len(chunk) > 0 {
			n, done, err := r.feed(chunk)
			if err != nil {
				return statuses, r.close, err
			}
			chunk = chunk[n:]
			if done {
				statuses = append(statuses, r.status)
			}
		}
		off = end
	}
	if r.eof() {
		statuses = append(statuses, r.status)
	}
	return statuses, r.close, nil
}

func TestParserFraming(t *testing.T) {
	cases := []struct {
		name  string
		in    string
		want  []int
		close bool
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!", []int{200}, false},
		{"pipelined", strings.Repeat("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi", 3), []int{200, 200, 200}, false},
		{"chunked", "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: y\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", []int{201, 404}, false},
		{"close-delimited", "HTTP/1.1 200 OK\r\n\r\nall of this until the end", []int{200}, true},
		{"no body codes", "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n", []int{204, 304}, false},
		{"connection close", "HTTP/1.1 503 Busy\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", []int{503}, true},
		{"http/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", []int{200}, true},
		{"100 continue is not a response", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", []int{200}, false},
		{"interim responses pipelined", strings.Repeat("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 16), []int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}, false},
		{"any three digits", "HTTP/1.1 999 Odd\r\nContent-Length: 0\r\n\r\n", []int{999}, false},
		{"the same length twice", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", []int{200}, false},
	}
	for _, c := range cases {
		for _, step := range []int{1, 2, 3, 7, 64, 1 << 16} {
			got, closed, err := feedAll(t, c.in, step)
			if err != nil {
				t.Fatalf("%s step %d: %v", c.name, step, err)
			}
			if len(got) != len(c.want) || closed != c.close {
				t.Fatalf("%s step %d: statuses %v close %v, want %v close %v", c.name, step, got, closed, c.want, c.close)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Fatalf("%s step %d: statuses %v, want %v", c.name, step, got, c.want)
				}
			}
		}
	}
}

func TestParserRejectsGarbage(t *testing.T) {
	for _, in := range []string{
		"SSH-2.0-OpenSSH\r\n\r\n",
		"HTTP/1.1 2x0 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", maxHeaderBytes+10),
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 50\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
	} {
		if _, _, err := feedAll(t, in, 5); err == nil {
			t.Errorf("accepted %.40q", in)
		}
	}
}

func TestEveryStatusClassIsCounted(t *testing.T) {
	var s Status
	for _, code := range []int{0, 101, 200, 404, 503, 600, 999} {
		s[code/100]++
	}
	m := s.Map()
	for _, class := range []string{"0xx", "1xx", "2xx", "4xx", "5xx", "6xx", "9xx"} {
		if m[class] != 1 {
			t.Fatalf("class %s: %d, want 1 (%v)", class, m[class], m)
		}
	}
}

func FuzzParser(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"), uint8(3))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n"), uint8(1))
	f.Fuzz(func(t *testing.T, in []byte, step uint8) {
		var r response
		s := int(step%32) + 1
		for off := 0; off < len(in); off += s {
			end := min(off+s, len(in))
			chunk := in[off:end]
			for len(chunk) > 0 {
				n, _, err := r.feed(chunk)
				if err != nil {
					return
				}
				if n <= 0 || n > len(chunk) {
					t.Fatalf("feed used %d of %d bytes", n, len(chunk))
				}
				chunk = chunk[n:]
			}
		}
	})
}
