// Package atomicfile writes files so that a reader sees the old content or the new, never
// part of it, and a crash or power cut right after the write keeps one of the two.
package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFile writes data to path with mode perm: into a temporary file in the same
// directory, synced, then renamed over path, and the directory synced so that the rename
// itself survives a crash. An error leaves whatever was at path as it was. Errors name
// path, not the temporary file.
func WriteFile(path string, data []byte, perm fs.FileMode) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return named("create", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// CreateTemp makes the file private (0600); Chmod, unlike the umask, gives exactly perm.
	if err := tmp.Chmod(perm); err != nil {
		return named("chmod", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		return named("write", path, err)
	}
	// Without this sync, a crash after the rename can leave path empty on ext4 and xfs:
	// the rename may reach the disk before the data.
	if err := tmp.Sync(); err != nil {
		return named("sync", path, err)
	}
	if err := tmp.Close(); err != nil {
		return named("close", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return named("rename", path, err)
	}
	// The rename is a change to the directory, which is only durable once it is synced.
	// The file is in place either way, so a directory that cannot be synced is no error.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// named keeps err's cause and names path in it, not the temporary file.
func named(op, path string, err error) error {
	var pe *os.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		err = pe.Err
	case errors.As(err, &le):
		err = le.Err
	}
	return &os.PathError{Op: op, Path: path, Err: err}
}
