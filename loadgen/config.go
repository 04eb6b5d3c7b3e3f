// Package loadgen is an HTTP/1.1 load generator: keep-alive connections driven by an
// epoll loop per core (as wrk does), closed or open loop, latency in HDR histograms,
// per-second snapshots. Several targets run in one process or, past the open-files
// limit, in a worker process each.
package loadgen

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Defaults, named like autocannon's flags.
const (
	DefaultConnections = 10
	DefaultDuration    = 10 * time.Second
	DefaultPipelining  = 1
	DefaultTimeout     = 10 * time.Second
	// MaxDuration bounds a run given only an amount (-a): every load test stops by itself.
	MaxDuration = 10 * time.Minute
)

// Config describes one load test against one target.
type Config struct {
	// Name labels the target in snapshots; defaults to the URL's host:port.
	Name        string            `json:"name"`
	URL         string            `json:"url"`
	Method      string            `json:"method"`
	Headers     map[string]string `json:"headers,omitempty"`
	Body        string            `json:"body,omitempty"`
	Connections int               `json:"connections"`
	Duration    time.Duration     `json:"duration"`
	// Amount stops the test after this many responses (0: run for Duration).
	Amount     uint64 `json:"amount,omitempty"`
	Pipelining int    `json:"pipelining"`
	// Rate, when > 0, is the open-loop request rate (req/s) across all connections;
	// latency is then measured from each request's scheduled send time.
	Rate    float64       `json:"rate,omitempty"`
	Warmup  time.Duration `json:"warmup,omitempty"`
	Timeout time.Duration `json:"timeout"`
	// Workers is the number of event loops (0: one per core).
	Workers int `json:"workers,omitempty"`
	// Engine is how the loops do I/O: EngineAuto (io_uring where the kernel allows it,
	// epoll otherwise), EngineEpoll or EngineUring.
	Engine string `json:"engine,omitempty"`
	// Addr is the URL's host resolved (IP:port), set by Resolve: a worker process given
	// a resolved config does not look the host up again.
	Addr string `json:"addr,omitempty"`
	// Mix, when set, is what each connection sends in turn, in proportion to the
	// requests' weights, instead of Method, the URL's path, and Body. Each request's path
	// and query go to the URL's address; Headers are added to each request's own, and
	// Body is the body of those that have none.
	Mix []Request `json:"mix,omitempty"`
	// KeepHistogram makes a worker process send its latency histogram with its result:
	// the cycles of a soak and the steps of a shape are merged by it (Merge), and their
	// percentiles are those of the merged histogram. A single load needs only the summary.
	KeepHistogram bool `json:"keep_histogram,omitempty"`
}

// Engines.
const (
	EngineAuto  = "auto"
	EngineEpoll = "epoll"
	EngineUring = "io_uring"
)

// KnownEngine says whether e names an engine; empty means EngineAuto.
func KnownEngine(e string) bool {
	return e == "" || e == EngineAuto || e == EngineEpoll || e == EngineUring
}

// withDefaults fills unset fields.
func (c Config) withDefaults() Config {
	if c.Method == "" {
		c.Method = "GET"
	}
	if c.Connections == 0 {
		c.Connections = DefaultConnections
	}
	if c.Duration == 0 {
		c.Duration = DefaultDuration
		if c.Amount > 0 {
			c.Duration = MaxDuration
		}
	}
	if c.Pipelining == 0 {
		c.Pipelining = DefaultPipelining
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// target is the parsed destination.
type target struct {
	addr     *net.TCPAddr
	hostPort string
	path     string
}

// parseURL checks the URL's form, with no lookup.
func (c Config) parseURL() (*url.URL, string, error) {
	raw := c.URL
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "", fmt.Errorf("URL %q: %v", c.URL, err)
	}
	if u.Scheme != "http" {
		return nil, "", fmt.Errorf("URL %q: only http:// is supported (no TLS)", c.URL)
	}
	if u.Hostname() == "" {
		return nil, "", fmt.Errorf("URL %q has no host", c.URL)
	}
	port := u.Port()
	if port == "" {
		port = "80"
	}
	if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
		return nil, "", fmt.Errorf("URL %q: bad port %q", c.URL, port)
	}
	return u, port, nil
}

// target resolves the destination, within ctx, unless Resolve already did.
func (c Config) target(ctx context.Context) (target, error) {
	u, port, err := c.parseURL()
	if err != nil {
		return target{}, err
	}
	t := target{hostPort: u.Host, path: u.RequestURI()}
	if c.Addr != "" {
		a, err := net.ResolveTCPAddr("tcp", c.Addr)
		if err != nil {
			return target{}, fmt.Errorf("resolved address %q: %v", c.Addr, err)
		}
		t.addr = a
		return t, nil
	}
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, u.Hostname())
	if err != nil || len(addrs) == 0 {
		return target{}, fmt.Errorf("URL %q: cannot resolve %s", c.URL, u.Hostname())
	}
	ip := addrs[0].IP
	for _, a := range addrs {
		if a.IP.To4() != nil {
			ip = a.IP
			break
		}
	}
	p, _ := strconv.Atoi(port)
	t.addr = &net.TCPAddr{IP: ip, Port: p}
	return t, nil
}

// Resolve looks the URL's host up once, within ctx, and returns the config with Addr set.
func (c Config) Resolve(ctx context.Context) (Config, error) {
	t, err := c.target(ctx)
	if err != nil {
		return c, err
	}
	c.Addr = t.addr.String()
	return c, nil
}

// Validate checks a config on its own, in one line per problem. It looks nothing up:
// Start and Resolve do, once, within the caller's context.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.Connections < 1:
		return fmt.Errorf("connections must be at least 1 (got %d)", c.Connections)
	case c.Duration < 0:
		return fmt.Errorf("duration must be positive (got %s)", c.Duration)
	case c.Duration > MaxDuration:
		return fmt.Errorf("duration %s is over the %s limit", c.Duration, MaxDuration)
	case c.Pipelining < 1 || c.Pipelining > 1024:
		return fmt.Errorf("pipelining must be 1 to 1024 (got %d)", c.Pipelining)
	case c.Rate < 0:
		return fmt.Errorf("rate must be positive (got %g)", c.Rate)
	case c.Warmup < 0 || c.Warmup >= c.Duration:
		return fmt.Errorf("warmup %s must be shorter than the duration %s", c.Warmup, c.Duration)
	case !KnownEngine(c.Engine):
		return fmt.Errorf("engine %q is not auto, epoll or io_uring", c.Engine)
	case c.Workers < 0 || c.Workers > 256:
		return fmt.Errorf("workers must be 0 (one per core) to 256 (got %d)", c.Workers)
	case c.Timeout <= 0:
		return fmt.Errorf("timeout must be positive (got %s)", c.Timeout)
	case strings.ContainsAny(c.Method, " \r\n"):
		return fmt.Errorf("method %q is not a single word", c.Method)
	}
	for k, v := range c.Headers {
		if strings.ContainsAny(k, ":\r\n ") || strings.ContainsAny(v, "\r\n") {
			return fmt.Errorf("header %q: names cannot hold ':' or spaces, values no line breaks", k)
		}
	}
	if err := validateMix(c.Mix); err != nil {
		return err
	}
	_, _, err := c.parseURL()
	return err
}

// validateMix checks each request of a mix, and that its cycle fits MaxCycle.
func validateMix(mix []Request) error {
	g, sum := 0, 0
	for i, r := range mix {
		if !targetMethods[r.Method] {
			return fmt.Errorf("mix request %d: bad method %q: use GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS", i+1, r.Method)
		}
		if r.Weight < 1 {
			return fmt.Errorf("mix request %d (%s %s): weight %d must be at least 1", i+1, r.Method, r.URL, r.Weight)
		}
		if _, err := requestURI(r.URL); err != nil {
			return fmt.Errorf("mix request %d: %v", i+1, err)
		}
		for k, v := range r.Headers {
			if strings.ContainsAny(k, ":\r\n ") || strings.ContainsAny(v, "\r\n") {
				return fmt.Errorf("mix request %d: header %q: names cannot hold ':' or spaces, values no line breaks", i+1, k)
			}
		}
		g, sum = gcd(g, r.Weight), sum+r.Weight
	}
	if len(mix) > 0 && sum/g > MaxCycle {
		return fmt.Errorf("the mix's weights sum to %d (over their common factor %d): at most %d, so scale them down", sum/g, g, MaxCycle)
	}
	return nil
}

// requestURI is what a request line sends for raw: its path and query.
func requestURI(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("URL %q: %v", raw, err)
	}
	return u.RequestURI(), nil
}

// reservedFDs covers what a generator process holds besides its connections.
const reservedFDs = 64

// Limits is what a process may open.
type Limits struct {
	OpenFiles uint64 // the hard RLIMIT_NOFILE
	// EphemeralPorts is the size of net.ipv4.ip_local_port_range: connections to one
	// destination address and port cannot exceed it.
	EphemeralPorts int
}

// CurrentLimits reads this machine's limits.
func CurrentLimits() Limits {
	var l Limits
	var rl unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) == nil {
		l.OpenFiles = rl.Max
	}
	l.EphemeralPorts = 28232 // Linux default 32768-60999
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		f := strings.Fields(string(b))
		if len(f) == 2 {
			lo, _ := strconv.Atoi(f[0])
			hi, _ := strconv.Atoi(f[1])
			if hi > lo {
				l.EphemeralPorts = hi - lo + 1
			}
		}
	}
	return l
}

// CheckPlan refuses, in one line that says what to change, configs that one process
// cannot run together within the limits.
func CheckPlan(limits Limits, configs ...Config) error {
	need := uint64(reservedFDs)
	for _, c := range configs {
		c = c.withDefaults()
		need += uint64(c.Connections)
		if c.Connections > limits.EphemeralPorts {
			return fmt.Errorf("%d connections to %s need more local ports than the %d in net.ipv4.ip_local_port_range: use at most %d connections",
				c.Connections, c.URL, limits.EphemeralPorts, limits.EphemeralPorts)
		}
	}
	if limits.OpenFiles > 0 && need > limits.OpenFiles {
		if len(configs) == 1 {
			return fmt.Errorf("%d connections need %d open files but this process may have at most %d: use -c %d or less",
				configs[0].withDefaults().Connections, need, limits.OpenFiles, limits.OpenFiles-reservedFDs)
		}
		return fmt.Errorf("%d targets need %d open files together but one process may have at most %d: run each target in its own worker process",
			len(configs), need, limits.OpenFiles)
	}
	return nil
}

// raiseFDLimit lifts the soft open-files limit to the hard one.
func raiseFDLimit() {
	var rl unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) == nil && rl.Cur < rl.Max {
		rl.Cur = rl.Max
		unix.Setrlimit(unix.RLIMIT_NOFILE, &rl)
	}
}

// requests are what the connections send: the mix, or the one request the config
// describes, each with its path, its headers over the config's, and its body.
func (c Config) requests(t target) []Request {
	if len(c.Mix) == 0 {
		return []Request{{Method: c.Method, URL: t.path, Headers: c.Headers, Body: []byte(c.Body), Weight: 1}}
	}
	out := make([]Request, len(c.Mix))
	for i, r := range c.Mix {
		r.URL, _ = requestURI(r.URL) // Validate checked it
		h := make(map[string]string, len(c.Headers)+len(r.Headers))
		for k, v := range c.Headers {
			h[k] = v
		}
		for k, v := range r.Headers {
			h[k] = v
		}
		r.Headers = h
		if r.Body == nil && c.Body != "" {
			r.Body = []byte(c.Body)
		}
		out[i] = r
	}
	return out
}

// requestBytes serialises a request once, for every connection: the request line, Host
// and what the user added, nothing else. wrk sends the same; a default User-Agent, as autocannon sends,
// cost the built-in server 0.6 µs a request (8% of its time), measured on 2 cores.
// r.URL is the request's path and query.
func requestBytes(r Request, hostPort string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", r.Method, r.URL, hostPort)
	for k, v := range r.Headers {
		if strings.EqualFold(k, "host") || strings.EqualFold(k, "content-length") {
			continue
		}
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	if len(r.Body) > 0 || r.Method == "POST" || r.Method == "PUT" || r.Method == "PATCH" {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(r.Body))
	}
	b.WriteString("\r\n")
	b.Write(r.Body)
	return []byte(b.String())
}
