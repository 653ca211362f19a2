package server

import (
	"fmt"
	"sync"

	streamingapi "github.com/containerd/containerd/api/services/streaming/v1"
	"github.com/containerd/errdefs"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/emptypb"

	"berth.dev/services/imaged/internal/stream"
)

// Streaming serves containerd.services.streaming.v1: a client opens a
// stream, names it in its first message, and a transfer finds it by that
// name while the call lasts.
type Streaming struct {
	streamingapi.UnimplementedStreamingServer
	Streams *stream.Manager
}

// Register adds the service to srv.
func (s *Streaming) Register(srv *grpc.Server) { streamingapi.RegisterStreamingServer(srv, s) }

// Stream registers the stream and holds it open until imaged closes it or
// the client goes away.
func (s *Streaming) Stream(ss streamingapi.Streaming_StreamServer) error {
	first, err := ss.Recv()
	if err != nil {
		return err
	}
	var init streamingapi.StreamInit
	if err := first.UnmarshalTo(&init); err != nil {
		return fmt.Errorf("a stream starts with StreamInit, not %s: %w", first.GetTypeUrl(), errdefs.ErrInvalidArgument)
	}
	st := &serverStream{ss: ss, closed: make(chan struct{})}
	unregister, err := s.Streams.Register(ss.Context(), init.ID, st)
	if err != nil {
		return err
	}
	defer unregister()
	ack, err := stream.Any(&emptypb.Empty{})
	if err != nil {
		return err
	}
	if err := ss.Send(ack); err != nil {
		return err
	}
	select {
	case <-ss.Context().Done():
	case <-st.closed:
	}
	return nil
}

// serverStream is a client's stream as a transfer uses it.
type serverStream struct {
	ss     streamingapi.Streaming_StreamServer
	once   sync.Once
	closed chan struct{}
}

func (s *serverStream) Send(a *anypb.Any) error   { return s.ss.Send(a) }
func (s *serverStream) Recv() (*anypb.Any, error) { return s.ss.Recv() }
func (s *serverStream) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}
