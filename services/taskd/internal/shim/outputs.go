package shim

import (
	"fmt"
	"io"
	"os"

	"github.com/containerd/errdefs"
)

// Modes of the files output is appended to.
const (
	fileLogMode = 0o644 // file://, as containerd's shim creates it
	criLogMode  = 0o640 // crilog://, as the kubelet's logs are
)

// openOutputs opens where the process's stdout and stderr go. As in
// containerd's shim, a file:// or binary:// stdout takes both streams;
// crilog:// does too (both streams go to the one CRI log, tagged). Only
// fifos (and nothing) are chosen stream by stream.
func (s *stdio) openOutputs(ids processIDs) error {
	out, err := parseOutput(s.paths.Stdout)
	if err != nil {
		return err
	}
	switch out.kind {
	case outFile:
		l, err := openLogFile(out.path, fileLogMode)
		if err != nil {
			return err
		}
		s.logs = append(s.logs, l)
		s.stdout, s.stderr = l, l.retain()
		return nil
	case outCRILog:
		l, err := openLogFile(out.path, criLogMode)
		if err != nil {
			return err
		}
		s.logs = append(s.logs, l)
		s.stdout, s.stderr = newCRIStream(l, "stdout"), newCRIStream(l.retain(), "stderr")
		return nil
	case outBinary:
		lg, err := startLogger(out, ids)
		if err != nil {
			return err
		}
		s.logger = lg
		s.stdout, s.stderr = lg.stdout, lg.stderr
		return nil
	}
	if s.stdout, err = openFifo(out); err != nil {
		return err
	}
	if s.paths.Terminal {
		return nil // everything is stdout
	}
	errOut, err := parseOutput(s.paths.Stderr)
	if err != nil {
		return err
	}
	if choosesBoth(errOut.kind) {
		return fmt.Errorf("stderr %q: a %s:// URI is taken from stdout (give it there): %w", s.paths.Stderr, errOut.kind, errdefs.ErrInvalidArgument)
	}
	s.stderr, err = openFifo(errOut)
	return err
}

// openFifo opens a client's output fifo (nil for no output).
func openFifo(o output) (io.WriteCloser, error) {
	if o.kind == outNone {
		return nil, nil
	}
	f, err := os.OpenFile(o.path, os.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", o.path, err)
	}
	return f, nil
}
