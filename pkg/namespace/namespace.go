package namespace

import (
	"context"
	"fmt"
	"regexp"

	"github.com/containerd/errdefs"
	"google.golang.org/grpc/metadata"
)

const (
	// Metadata is the gRPC metadata key carrying the namespace.
	Metadata = "containerd-namespace"
	// Default is the namespace ctr uses when none is given.
	Default   = "default"
	maxLength = 76
)

// Same rule as containerd's identifiers: alphanumerics separated by single
// '.', '_' or '-', starting and ending with an alphanumeric.
var valid = regexp.MustCompile(`^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$`)

type key struct{}

// WithNamespace returns a context carrying ns both for this process and for
// outgoing gRPC calls.
func WithNamespace(ctx context.Context, ns string) context.Context {
	ctx = context.WithValue(ctx, key{}, ns)
	md, ok := metadata.FromOutgoingContext(ctx)
	if !ok {
		md = metadata.MD{}
	} else {
		md = md.Copy()
	}
	md.Set(Metadata, ns)
	return metadata.NewOutgoingContext(ctx, md)
}

// FromContext returns the namespace of ctx, looking at the value set by
// WithNamespace first and at incoming gRPC metadata second.
func FromContext(ctx context.Context) (string, bool) {
	if ns, ok := ctx.Value(key{}).(string); ok {
		return ns, true
	}
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(Metadata); len(v) > 0 {
			return v[0], true
		}
	}
	return "", false
}

// Required returns the validated namespace of ctx.
func Required(ctx context.Context) (string, error) {
	ns, ok := FromContext(ctx)
	if !ok || ns == "" {
		return "", fmt.Errorf("namespace is required: %w", errdefs.ErrFailedPrecondition)
	}
	if err := Validate(ns); err != nil {
		return "", err
	}
	return ns, nil
}

// Validate checks a namespace name.
func Validate(ns string) error {
	if ns == "" {
		return fmt.Errorf("namespace name must not be empty: %w", errdefs.ErrInvalidArgument)
	}
	if len(ns) > maxLength {
		return fmt.Errorf("namespace %q longer than %d characters: %w", ns, maxLength, errdefs.ErrInvalidArgument)
	}
	if !valid.MatchString(ns) {
		return fmt.Errorf("namespace %q must match %v: %w", ns, valid, errdefs.ErrInvalidArgument)
	}
	return nil
}
