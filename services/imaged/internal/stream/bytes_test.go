package stream

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"testing"

	transfertypes "github.com/containerd/containerd/api/types/transfer"
	"google.golang.org/protobuf/types/known/anypb"
)

// pipe is one end of an in-memory stream pair.
type pipe struct {
	in, out chan *anypb.Any
	closed  chan struct{}
}

func pair() (*pipe, *pipe) {
	a, b := make(chan *anypb.Any, 4), make(chan *anypb.Any, 4)
	ca, cb := make(chan struct{}), make(chan struct{})
	return &pipe{in: a, out: b, closed: ca}, &pipe{in: b, out: a, closed: cb}
}

func (p *pipe) Send(a *anypb.Any) error { p.out <- a; return nil }
func (p *pipe) Recv() (*anypb.Any, error) {
	a, ok := <-p.in
	if !ok {
		return nil, io.EOF
	}
	return a, nil
}
func (p *pipe) Close() error { close(p.out); return nil }

// client plays containerd's sending side: Data only within the window
// the receiver granted.
func sendAsClient(t *testing.T, s *pipe, data []byte) {
	var granted int64
	for len(data) > 0 {
		for granted == 0 {
			a, err := s.Recv()
			if err != nil {
				t.Error(err)
				return
			}
			var u transfertypes.WindowUpdate
			if err := a.UnmarshalTo(&u); err != nil {
				t.Errorf("sender got %s", a.TypeUrl)
				return
			}
			granted += int64(u.Update)
		}
		n := min(int64(len(data)), granted, maxData)
		s.Send(mustAny(&transfertypes.Data{Data: data[:n]}))
		granted -= n
		data = data[n:]
	}
	s.Close()
}

func TestReaderHonoursTheWindow(t *testing.T) {
	server, client := pair()
	data := make([]byte, 300*1024+17)
	rand.Read(data)
	go func() {
		sendAsClient(t, client, data)
		for range client.in { // drain the grants sent after the end
		}
	}()
	got, err := io.ReadAll(Reader(server))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, sent %d, or they differ", len(got), len(data))
	}
}

func TestWriterWaitsForGrants(t *testing.T) {
	server, client := pair()
	data := make([]byte, 200*1024+5)
	rand.Read(data)
	received := make(chan []byte)
	go func() {
		var buf bytes.Buffer
		client.Send(mustAny(&transfertypes.WindowUpdate{Update: window}))
		window := int64(window)
		for {
			a, err := client.Recv()
			if err != nil {
				received <- buf.Bytes()
				return
			}
			var d transfertypes.Data
			if err := a.UnmarshalTo(&d); err != nil {
				t.Errorf("receiver got %s", a.TypeUrl)
			}
			window -= int64(len(d.Data))
			if window < 0 {
				t.Errorf("sender overran the window by %d", -window)
			}
			buf.Write(d.Data)
			if window == 0 {
				window += 2 * maxData
				client.Send(mustAny(&transfertypes.WindowUpdate{Update: 2 * maxData}))
			}
		}
	}()
	w := Writer(context.Background(), server)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if got := <-received; !bytes.Equal(got, data) {
		t.Fatalf("received %d bytes, wrote %d, or they differ", len(got), len(data))
	}
}

func TestManagerScopesByNamespace(t *testing.T) {
	m := NewManager()
	a, _ := pair()
	ctx := withNS("one")
	done, err := m.Register(ctx, "s1", a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Register(ctx, "s1", a); err == nil {
		t.Fatal("registered the same id twice")
	}
	if _, err := m.Get(withNS("two"), "s1"); err == nil {
		t.Fatal("another namespace sees the stream")
	}
	if got, err := m.Get(ctx, "s1"); err != nil || got != a {
		t.Fatalf("get: %v", err)
	}
	done()
	if _, err := m.Get(ctx, "s1"); err == nil {
		t.Fatal("stream still there after its call ended")
	}
}
