package stream

import (
	"context"

	"berth.dev/pkg/namespace"
)

func withNS(ns string) context.Context { return namespace.WithNamespace(context.Background(), ns) }
