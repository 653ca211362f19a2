package fdsocket

import (
	"errors"

	"github.com/containerd/errdefs"
)

// errorKinds carry errdefs classes across a socket, by name.
var errorKinds = []struct {
	name string
	err  error
}{
	{"not-found", errdefs.ErrNotFound},
	{"already-exists", errdefs.ErrAlreadyExists},
	{"invalid-argument", errdefs.ErrInvalidArgument},
	{"failed-precondition", errdefs.ErrFailedPrecondition},
	{"resource-exhausted", errdefs.ErrResourceExhausted},
	{"out-of-range", errdefs.ErrOutOfRange},
	{"unavailable", errdefs.ErrUnavailable},
	{"aborted", errdefs.ErrAborted},
	{"data-loss", errdefs.ErrDataLoss},
}

// ErrorKind names the errdefs class of err, empty for none of them.
func ErrorKind(err error) string {
	for _, k := range errorKinds {
		if errors.Is(err, k.err) {
			return k.name
		}
	}
	return ""
}

// KindError is the error msg of the class kind named, as ErrorKind names
// it on the other side; its message is msg alone.
func KindError(msg, kind string) error {
	for _, k := range errorKinds {
		if k.name == kind {
			return &classed{msg: msg, class: k.err}
		}
	}
	return errors.New(msg)
}

type classed struct {
	msg   string
	class error
}

func (e *classed) Error() string { return e.msg }
func (e *classed) Unwrap() error { return e.class }
