package cli

import (
	"context"

	"github.com/containerd/containerd/v2/pkg/namespaces"
)

func namespaceOf(ctx context.Context) string {
	ns, _ := namespaces.Namespace(ctx)
	return ns
}
