package probe

import "bytes"

// Environ reads the environment pid was started with, from /proc/PID/environ. It is the
// environment of its last execve: what the program itself later sets does not show, and
// what a wrapper unset before exec'ing it is gone.
func (fs FS) Environ(pid int) (map[string]string, error) {
	b, err := readWhole(fs.path(pid, "environ"))
	if err != nil {
		return nil, err
	}
	return parseEnviron(b), nil
}

// parseEnviron splits NUL-separated VAR=VALUE strings; a string without "=" is skipped,
// and of a variable given twice the first counts, as getenv reads it.
func parseEnviron(b []byte) map[string]string {
	env := map[string]string{}
	for _, kv := range bytes.Split(b, []byte{0}) {
		k, v, ok := bytes.Cut(kv, []byte{'='})
		if !ok || len(k) == 0 {
			continue
		}
		if _, dup := env[string(k)]; !dup {
			env[string(k)] = string(v)
		}
	}
	return env
}
