package shim

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// logFile is a file output is appended to, shared by the streams naming the
// same path, and reopened by ReopenLog after the caller renamed it.
type logFile struct {
	path string
	perm os.FileMode

	mu   sync.Mutex
	f    *os.File
	refs int
}

func openLogFile(path string, perm os.FileMode) (*logFile, error) {
	l := &logFile{path: path, perm: perm, refs: 1}
	f, err := l.open()
	if err != nil {
		return nil, err
	}
	l.f = f
	return l, nil
}

func (l *logFile) open() (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(l.path), 0o755); err != nil {
		return nil, fmt.Errorf("log directory: %w", err)
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, l.perm)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	return f, nil
}

// Write appends p in one write, so lines of several streams never mix.
func (l *logFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return 0, os.ErrClosed
	}
	return l.f.Write(p)
}

// reopen starts a new file at the path (the old one was renamed away).
func (l *logFile) reopen() error {
	f, err := l.open()
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		f.Close()
		return fmt.Errorf("log %s is closed: not running", l.path)
	}
	l.f.Close()
	l.f = f
	return nil
}

func (l *logFile) retain() *logFile {
	l.mu.Lock()
	l.refs++
	l.mu.Unlock()
	return l
}

// Close closes the file once every stream writing to it closed.
func (l *logFile) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.refs--; l.refs > 0 || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
