package batch

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	api "github.com/containerd/containerd/api/services/containers/v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/emptypb"
)

// encoded returns the encodings of n containers with specs of size bytes.
func encoded(t *testing.T, n, size int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		b, err := proto.Marshal(&api.Container{ID: fmt.Sprintf("c%d", i), Spec: &anypb.Any{Value: bytes.Repeat([]byte{'s'}, size)}})
		if err != nil {
			t.Fatal(err)
		}
		out[i] = b
	}
	return out
}

func TestAddSplitGivesEachMessage(t *testing.T) {
	for _, tc := range []struct {
		name       string
		containers [][]byte
		batches    int
	}{
		{"small", encoded(t, 500, 2400), 39}, // 13 to a batch
		{"each larger than a batch", encoded(t, 3, 2*Size), 3},
		{"empty messages", [][]byte{{}, {}}, 1},
		{"one", encoded(t, 1, 10), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var batches [][]byte
			for _, c := range tc.containers {
				batches = Add(batches, c)
			}
			if len(batches) != tc.batches {
				t.Fatalf("%d containers in %d batches, want %d", len(tc.containers), len(batches), tc.batches)
			}
			var got [][]byte
			for _, b := range batches {
				msgs, ok := Split(b)
				if !ok {
					t.Fatalf("batch of %d bytes does not split", len(b))
				}
				if len(b) > Size && len(msgs) > 1 {
					t.Fatalf("batch of %d bytes holds %d messages; only a message larger than Size goes alone", len(b), len(msgs))
				}
				got = append(got, msgs...)
			}
			if len(got) != len(tc.containers) {
				t.Fatalf("split into %d messages, want %d", len(got), len(tc.containers))
			}
			// Each piece is a whole message, read as the daemon's own
			// unbatched message would be.
			for i, m := range got {
				var back api.ListContainerMessage
				if err := proto.Unmarshal(m, &back); err != nil {
					t.Fatal(err)
				}
				if want := mustContainer(t, tc.containers[i]); back.Container == nil || !proto.Equal(back.Container, want) {
					t.Fatalf("message %d holds %v, want %v", i, back.Container, want)
				}
			}
		})
	}
}

func mustContainer(t *testing.T, b []byte) *api.Container {
	c := &api.Container{}
	if err := proto.Unmarshal(b, c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSplitRefusesWhatIsNoBatch(t *testing.T) {
	other, err := proto.Marshal(&api.ListContainersRequest{Filters: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	withOther, err := proto.Marshal(&api.UpdateContainerRequest{Container: &api.Container{ID: "x"}, UpdateMask: nil})
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"empty":            nil,
		"other field":      append([]byte{0x12, 0x01, 'a'}, other...),
		"varint field 1":   {0x08, 0x01},
		"truncated":        {0x0a, 0x05, 'a'},
		"bad tag":          {0x80},
		"trailing rubbish": append(append([]byte{}, withOther...), 0xff),
	} {
		if msgs, ok := Split(b); ok {
			t.Errorf("%s: split into %d messages", name, len(msgs))
		}
	}
}

func TestMessageEncodesToItsBytes(t *testing.T) {
	var batches [][]byte
	for _, c := range encoded(t, 20, 100) {
		batches = Add(batches, c)
	}
	got, err := proto.Marshal(Message(batches[0]))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, batches[0]) {
		t.Fatalf("Message encodes to %d bytes, not the batch's %d", len(got), len(batches[0]))
	}
	if _, ok := Message(nil).(*emptypb.Empty); !ok {
		t.Fatal("an empty batch is not an empty message")
	}
}

func TestRequested(t *testing.T) {
	out := metadata.MD{}
	Request(out)
	if !Requested(metadata.NewIncomingContext(context.Background(), out)) {
		t.Fatal("a request for batches is not seen")
	}
	if Requested(context.Background()) || Requested(metadata.NewIncomingContext(context.Background(), metadata.Pairs(Metadata, "0"))) {
		t.Fatal("batches seen as requested without the ask")
	}
}
