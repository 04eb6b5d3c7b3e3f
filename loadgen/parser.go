package loadgen

import (
	"bytes"
	"errors"
)

// errParse marks a response that is not HTTP/1.x as this parser knows it.
var errParse = errors.New("malformed response")

// maxHeaderBytes bounds what a connection buffers while waiting for the end of headers.
const maxHeaderBytes = 64 << 10

type parseState uint8

const (
	stHeaders    parseState = iota
	stBody                  // Content-Length body: remaining bytes
	stChunkSize             // reading a chunk-size line
	stChunkData             // chunk data plus its CRLF: remaining bytes
	stTrailers              // after the last chunk, until an empty line
	stUntilClose            // no length: the body ends when the server closes
)

// response is a minimal incremental HTTP/1.1 response parser. It keeps only what it
// must between reads: partial header or chunk-size lines.
type response struct {
	state     parseState
	partial   []byte // an unfinished header block or chunk-size line
	remaining int64
	status    int
	close     bool // the server said Connection: close
	head      bool // the request was HEAD: no body whatever the headers say
	// interim: the head just read was a 1xx (100 Continue, 103 Early Hints), which the
	// final response follows on the same request: not a response of its own.
	interim bool
}

// feed consumes b and returns how many bytes it used and whether a whole response ended
// there. Call again with the rest for pipelined responses.
func (r *response) feed(b []byte) (used int, done bool, err error) {
	for used < len(b) {
		switch r.state {
		case stHeaders:
			n, ok, err := r.headers(b[used:])
			used += n
			if err != nil {
				return used, false, err
			}
			if !ok {
				return used, false, nil
			}
			if r.interim {
				r.interim = false
				continue
			}
			if r.state == stHeaders {
				return used, true, nil // no body
			}
		case stBody, stChunkData:
			n := int64(len(b) - used)
			if n > r.remaining {
				n = r.remaining
			}
			used += int(n)
			r.remaining -= n
			if r.remaining == 0 {
				if r.state == stBody {
					r.state = stHeaders
					return used, true, nil
				}
				r.state = stChunkSize
			}
		case stChunkSize, stTrailers:
			line, n, ok := r.line(b[used:])
			used += n
			if !ok {
				continue
			}
			if r.state == stTrailers {
				if len(line) == 0 {
					r.state = stHeaders
					return used, true, nil
				}
				continue
			}
			size, err := chunkSize(line)
			if err != nil {
				return used, false, err
			}
			if size == 0 {
				r.state = stTrailers
			} else {
				r.state, r.remaining = stChunkData, size+2
			}
		case stUntilClose:
			return len(b), false, nil
		}
	}
	return used, false, nil
}

// eof ends a close-delimited body; for any other state the connection broke mid-response.
func (r *response) eof() bool {
	if r.state == stUntilClose {
		r.state = stHeaders
		return true
	}
	return false
}

// inProgress says whether part of a response has been read.
func (r *response) inProgress() bool {
	return r.state != stHeaders || len(r.partial) > 0
}

// line returns a CRLF-terminated line without its CRLF, buffering a partial one.
func (r *response) line(b []byte) (line []byte, used int, ok bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		r.partial = append(r.partial, b...)
		return nil, len(b), false
	}
	line = b[:i]
	if len(r.partial) > 0 {
		r.partial = append(r.partial, line...)
		line = r.partial
		r.partial = r.partial[:0]
	}
	return bytes.TrimSuffix(line, []byte{'\r'}), i + 1, true
}

var headerEnd = []byte("\r\n\r\n")

func (r *response) headers(b []byte) (used int, ok bool, err error) {
	var block []byte
	if len(r.partial) == 0 {
		if i := bytes.Index(b, headerEnd); i >= 0 {
			block, used = b[:i+2], i+4
		}
	} else {
		// The end may straddle the previous read: search the joined bytes.
		old := len(r.partial)
		r.partial = append(r.partial, b...)
		if i := bytes.Index(r.partial, headerEnd); i >= 0 {
			block, used = r.partial[:i+2], i+4-old
		}
	}
	if block == nil {
		if len(r.partial) == 0 {
			r.partial = append(r.partial, b...)
		}
		if len(r.partial) > maxHeaderBytes {
			return len(b), false, errParse
		}
		return len(b), false, nil
	}
	err = r.parseHeaderBlock(block)
	r.partial = r.partial[:0]
	return used, err == nil, err
}

func (r *response) parseHeaderBlock(block []byte) error {
	eol := bytes.IndexByte(block, '\n')
	status := block[:eol]
	// "HTTP/1.1 200 OK"
	if len(status) < 12 || !bytes.HasPrefix(status, []byte("HTTP/1.")) || status[8] != ' ' {
		return errParse
	}
	code := 0
	for _, c := range status[9:12] {
		if c < '0' || c > '9' {
			return errParse
		}
		code = code*10 + int(c-'0')
	}
	r.status = code
	r.close = status[7] == '0' // HTTP/1.0 closes unless told otherwise
	length := int64(-1)
	chunked := false
	for rest := block[eol+1:]; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		line := bytes.TrimSuffix(rest[:i], []byte{'\r'})
		rest = rest[i+1:]
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			continue
		}
		name, value := line[:colon], bytes.TrimSpace(line[colon+1:])
		switch {
		case bytes.EqualFold(name, []byte("content-length")):
			var n int64
			if len(value) == 0 || len(value) > 18 {
				return errParse
			}
			for _, c := range value {
				if c < '0' || c > '9' {
					return errParse
				}
				n = n*10 + int64(c-'0')
			}
			// Two lengths that disagree make the body's end unknowable (RFC 9112 6.3).
			if length >= 0 && length != n {
				return errParse
			}
			length = n
		case bytes.EqualFold(name, []byte("transfer-encoding")):
			chunked = bytes.Contains(bytes.ToLower(value), []byte("chunked"))
		case bytes.EqualFold(name, []byte("connection")):
			v := bytes.ToLower(value)
			if bytes.Contains(v, []byte("close")) {
				r.close = true
			} else if bytes.Contains(v, []byte("keep-alive")) {
				r.close = false
			}
		}
	}
	r.interim = code >= 100 && code < 200 && code != 101
	switch {
	case r.head || code == 204 || code == 304 || (code >= 100 && code < 200):
		r.state = stHeaders
	case chunked:
		r.state = stChunkSize
	case length == 0:
		r.state = stHeaders
	case length > 0:
		r.state, r.remaining = stBody, length
	default:
		r.state, r.close = stUntilClose, true
	}
	return nil
}

func chunkSize(line []byte) (int64, error) {
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimSpace(line)
	if len(line) == 0 || len(line) > 15 {
		return 0, errParse
	}
	var n int64
	for _, c := range line {
		switch {
		case c >= '0' && c <= '9':
			n = n<<4 | int64(c-'0')
		case c >= 'a' && c <= 'f':
			n = n<<4 | int64(c-'a'+10)
		case c >= 'A' && c <= 'F':
			n = n<<4 | int64(c-'A'+10)
		default:
			return 0, errParse
		}
	}
	return n, nil
}
