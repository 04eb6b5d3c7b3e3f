// Package rawio makes the system calls of allocscope's once-a-second burst without
// telling Go's scheduler. A syscall.Syscall (os.File and net.Conn I/O, unix.Open and
// unix.Read) goes through entersyscall, which wakes sysmon from its sleep while every P
// is idle and sets it polling every 20 µs for the rest of the burst and the next beats:
// measured, 40 of headless allocscope's 51 wakeups a second under load were sysmon's.
// RawSyscall does not enter the scheduler. It is for calls that return at once: procfs
// and cgroupfs files, non-blocking sockets and pipes, and a terminal's stderr.
package rawio

import (
	"errors"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// atFDCWD makes a relative path relative to the working directory, as open(2) does.
var atFDCWD int = unix.AT_FDCWD

// Read is read(2) on fd.
func Read(fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r, _, errno := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if errno != 0 {
		return 0, errno
	}
	return int(r), nil
}

// Write is write(2) on fd.
func Write(fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r, _, errno := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if errno != 0 {
		return 0, errno
	}
	return int(r), nil
}

// WriteAll writes all of p to fd, through partial writes and interruptions. A fd that
// would block (EAGAIN) returns what was written and that error, for the caller to
// finish with a write the scheduler knows of.
func WriteAll(fd int, p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n, err := Write(fd, p[done:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return done, err
		}
		done += n
	}
	return done, nil
}

// Open opens path read-only (and close-on-exec), retrying on EINTR. Its error is the
// bare errno.
func Open(path string) (int, error) {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return -1, err
	}
	for {
		r, _, errno := unix.RawSyscall6(unix.SYS_OPENAT, uintptr(atFDCWD), uintptr(unsafe.Pointer(p)), uintptr(unix.O_RDONLY|unix.O_CLOEXEC), 0, 0, 0)
		switch errno {
		case 0:
			return int(r), nil
		case unix.EINTR:
			continue
		}
		return -1, errno
	}
}

// Close is close(2) on fd; its EINTR is not retried, as close(2) says.
func Close(fd int) error {
	if _, _, errno := unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0); errno != 0 {
		return errno
	}
	return nil
}

// ReadFile reads the whole of path into buf's storage, grown as needed, and returns it:
// a caller that passes the last result's buffer back reads without allocating. Its
// errors are *os.PathError ("open" or "read") around the errno.
func ReadFile(path string, buf []byte) ([]byte, error) {
	fd, err := Open(path)
	if err != nil {
		return buf[:0], &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer Close(fd)
	buf = buf[:cap(buf)]
	if len(buf) == 0 {
		buf = make([]byte, 4096)
	}
	n := 0
	for {
		if n == len(buf) {
			buf = append(buf, make([]byte, len(buf))...)
		}
		m, err := Read(fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return buf[:0], &os.PathError{Op: "read", Path: path, Err: err}
		}
		if m == 0 {
			return buf[:n], nil
		}
		n += m
	}
}

// Size is the size statx(2) gives path, not following a last symlink. statx is the one
// stat call with the same number and layout on every architecture.
func Size(path string) (int64, error) {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return 0, err
	}
	var st unix.Statx_t
	for {
		_, _, errno := unix.RawSyscall6(unix.SYS_STATX, uintptr(atFDCWD), uintptr(unsafe.Pointer(p)), uintptr(unix.AT_SYMLINK_NOFOLLOW), uintptr(unix.STATX_SIZE), uintptr(unsafe.Pointer(&st)), 0)
		switch errno {
		case 0:
			return int64(st.Size), nil
		case unix.EINTR:
			continue
		}
		return 0, &os.PathError{Op: "statx", Path: path, Err: errno}
	}
}

// Names lists the directory at path, without "." and "..", unsorted. Its errors are
// *os.PathError around the errno.
func Names(path string) ([]string, error) {
	var names []string
	err := eachEntry(path, func(name []byte) { names = append(names, string(name)) })
	return names, err
}

// Count counts the entries of the directory at path, without "." and "..".
func Count(path string) (int, error) {
	n := 0
	err := eachEntry(path, func([]byte) { n++ })
	return n, err
}

func eachEntry(path string, f func(name []byte)) error {
	fd, err := Open(path)
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer Close(fd)
	buf := make([]byte, 8192)
	for {
		r, _, errno := unix.RawSyscall(unix.SYS_GETDENTS64, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return &os.PathError{Op: "readdirent", Path: path, Err: errno}
		}
		if r == 0 {
			return nil
		}
		// struct linux_dirent64: d_ino u64, d_off s64, d_reclen u16, d_type u8, d_name.
		for b := buf[:r]; len(b) >= 19; {
			reclen := int(*(*uint16)(unsafe.Pointer(&b[16])))
			if reclen < 19 || reclen > len(b) {
				return &os.PathError{Op: "readdirent", Path: path, Err: errors.New("malformed directory entry")}
			}
			name := b[19:reclen]
			for i, c := range name {
				if c == 0 {
					name = name[:i]
					break
				}
			}
			if string(name) != "." && string(name) != ".." {
				f(name)
			}
			b = b[reclen:]
		}
	}
}

// Writable says whether fd takes a write now: poll(2) with no wait. For a pipe it means
// a page of room, so a write of at most PIPE_BUF (4096) bytes does not block.
func Writable(fd int) bool {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	var ts unix.Timespec
	for {
		r, _, errno := unix.RawSyscall6(unix.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd[0])), 1, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
		switch errno {
		case 0:
			return r == 1 && pfd[0].Revents&unix.POLLOUT != 0 && pfd[0].Revents&(unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) == 0
		case unix.EINTR:
			continue
		}
		return false
	}
}
