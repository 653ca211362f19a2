package shim

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/containerd/errdefs"
)

// Kinds of output a process's stdout and stderr can go to.
const (
	outNone   = ""       // discarded
	outFifo   = "fifo"   // a client's fifo, a bare path (ctr, containerd's cio)
	outFile   = "file"   // file:///path: appended to a file
	outCRILog = "crilog" // crilog:///path: the Kubernetes CRI log format
	outBinary = "binary" // binary:///path?k=v: a logger process reads it
)

// output is a parsed stdout or stderr URI.
type output struct {
	kind, path string
	query      url.Values
}

// parseOutput reads an output URI the way containerd's shim does: a bare
// path is a fifo, anything else names its kind by scheme.
func parseOutput(s string) (output, error) {
	if s == "" {
		return output{kind: outNone}, nil
	}
	if !strings.Contains(s, "://") {
		return output{kind: outFifo, path: s}, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return output{}, fmt.Errorf("stdio URI %q: %v: %w", s, err, errdefs.ErrInvalidArgument)
	}
	switch u.Scheme {
	case outFile, outCRILog, outBinary:
	default:
		return output{}, fmt.Errorf("unsupported stdio URI %q: want a fifo path, file://, crilog:// or binary://: %w", s, errdefs.ErrInvalidArgument)
	}
	if u.Host != "" || !filepath.IsAbs(u.Path) {
		return output{}, fmt.Errorf("stdio URI %q must name an absolute path (%s:///path): %w", s, u.Scheme, errdefs.ErrInvalidArgument)
	}
	return output{kind: u.Scheme, path: filepath.Clean(u.Path), query: u.Query()}, nil
}

// Kinds of stdin.
const (
	inNone   = ""       // /dev/null
	inFifo   = "fifo"   // a client's fifo
	inAttach = "attach" // attach://: fed by Attach clients
)

// input is a parsed stdin URI.
type input struct {
	kind, path string
	// once closes stdin when the first attached client is done with it
	// (attach://?once=true, CRI's StdinOnce).
	once bool
}

func parseInput(s string) (input, error) {
	if s == "" {
		return input{kind: inNone}, nil
	}
	if !strings.Contains(s, "://") {
		return input{kind: inFifo, path: s}, nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != inAttach || u.Host != "" || (u.Path != "" && u.Path != "/") {
		return input{}, fmt.Errorf("unsupported stdin URI %q: want a fifo path or attach://: %w", s, errdefs.ErrInvalidArgument)
	}
	in := input{kind: inAttach}
	switch once := u.Query().Get("once"); once {
	case "", "false":
	case "true":
		in.once = true
	default:
		return input{}, fmt.Errorf("stdin URI %q: once must be true or false: %w", s, errdefs.ErrInvalidArgument)
	}
	return in, nil
}

// ValidateStdio checks a process's stdio URIs, so taskd refuses bad ones
// before it starts a shim.
func ValidateStdio(s Stdio) error {
	if _, err := parseInput(s.Stdin); err != nil {
		return err
	}
	out, err := parseOutput(s.Stdout)
	if err != nil {
		return err
	}
	errOut, err := parseOutput(s.Stderr)
	if err != nil {
		return err
	}
	if !choosesBoth(out.kind) && choosesBoth(errOut.kind) {
		return fmt.Errorf("stderr %q: a %s:// URI is taken from stdout (give it there): %w", s.Stderr, errOut.kind, errdefs.ErrInvalidArgument)
	}
	return nil
}

// choosesBoth tells the output kinds that, given as stdout, take stderr too.
func choosesBoth(kind string) bool { return kind == outFile || kind == outCRILog || kind == outBinary }
