package transfer

import (
	"context"
	"fmt"

	transfertypes "github.com/containerd/containerd/api/types/transfer"
	"github.com/containerd/errdefs"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"berth.dev/services/imaged/internal/content"
	"berth.dev/services/imaged/internal/image"
	"berth.dev/services/imaged/internal/pull"
	"berth.dev/services/imaged/internal/stream"
)

// Service runs transfers.
type Service struct {
	Puller  *pull.Puller
	Images  *image.Store
	Content *content.Store
	Streams *stream.Manager
	// Tmp is where imported archives are spooled.
	Tmp string
}

// Transfer moves src to dst, both containerd transfer objects
// (containerd.types.transfer.*), reporting progress on the stream named
// progressID when it is not empty.
func (s *Service) Transfer(ctx context.Context, src, dst *anypb.Any, progressID string) error {
	from, err := unpackObject("source", src)
	if err != nil {
		return err
	}
	to, err := unpackObject("destination", dst)
	if err != nil {
		return err
	}
	pr := &progress{}
	if progressID != "" {
		st, err := s.Streams.Get(ctx, progressID)
		if err != nil {
			return fmt.Errorf("progress stream: %w", err)
		}
		defer st.Close()
		pr.s = st
	}
	switch f := from.(type) {
	case *transfertypes.OCIRegistry:
		if t, ok := to.(*transfertypes.ImageStore); ok {
			return s.pull(ctx, f, t, pr)
		}
	case *transfertypes.ImageStore:
		switch t := to.(type) {
		case *transfertypes.OCIRegistry:
			return s.push(ctx, f, t, pr)
		case *transfertypes.ImageExportStream:
			return s.export(ctx, f, t, pr)
		case *transfertypes.ImageStore:
			return s.tag(ctx, f, t)
		}
	case *transfertypes.ImageImportStream:
		if t, ok := to.(*transfertypes.ImageStore); ok {
			return s.importArchive(ctx, f, t, pr)
		}
	}
	return fmt.Errorf("unable to transfer from %s to %s: %w", src.GetTypeUrl(), dst.GetTypeUrl(), errdefs.ErrNotImplemented)
}

func unpackObject(what string, a *anypb.Any) (proto.Message, error) {
	if a == nil {
		return nil, fmt.Errorf("transfer needs a %s: %w", what, errdefs.ErrInvalidArgument)
	}
	m, err := a.UnmarshalNew()
	if err != nil {
		return nil, fmt.Errorf("transfer %s %s: %v: %w", what, a.GetTypeUrl(), err, errdefs.ErrNotImplemented)
	}
	return m, nil
}
