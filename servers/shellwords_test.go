package servers

import (
	"reflect"
	"testing"
)

func TestCommandArgv(t *testing.T) {
	for _, c := range []struct {
		command string
		want    []string
	}{
		{"python3 -m http.server {port} --bind 127.0.0.1", []string{"python3", "-m", "http.server", "{port}", "--bind", "127.0.0.1"}},
		{"  nginx  -p /tmp/x\t-g 'daemon off;'  ", []string{"nginx", "-p", "/tmp/x", "-g", "daemon off;"}},
		{`waitress-serve "--listen=127.0.0.1:{port}" app:app`, []string{"waitress-serve", "--listen=127.0.0.1:{port}", "app:app"}},
		{`server --name=a\ b it's''`, nil}, // an unclosed quote: the shell's error to give
		{`server --name=a\ b ''`, []string{"server", "--name=a b", ""}},
		{"server --tag=a#b", []string{"server", "--tag=a#b"}},
		{"/usr/bin/env X=1 server", []string{"/usr/bin/env", "X=1", "server"}},
	} {
		got := CommandArgv(c.command)
		if c.want == nil {
			c.want = []string{"sh", "-c", c.command}
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: got %q, want %q", c.command, got, c.want)
		}
	}
	// Anything the shell acts on keeps the shell.
	for _, command := range []string{
		"server | tee log", "server && true", "server; echo", "server > log", "server < in", "(server)",
		"server $PORT", "server `date`", `server "$HOME"`, "server *.conf", "server file?", "server [ab]", "server ~/x",
		"server # comment", "server\nother", "PORT=1 server", "exec server", "cd /tmp", "if true", "server \\",
	} {
		if got := CommandArgv(command); !reflect.DeepEqual(got, []string{"sh", "-c", command}) {
			t.Errorf("%q: got %q, want it run by sh -c", command, got)
		}
	}
}
