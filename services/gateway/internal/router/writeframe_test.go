package router

import (
	"bytes"
	"testing"

	api "github.com/containerd/containerd/api/services/content/v1"
	"google.golang.org/protobuf/proto"
)

// A write request split across receive buffers of any size comes apart
// into its data, left in the buffers, and every other field.
func TestSplitDataAcrossBuffers(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 5000)
	want := &api.WriteContentRequest{Action: api.WriteAction_COMMIT, Ref: "ref-1", Total: 1 << 40, Expected: "sha256:abc",
		Offset: 300, Data: data, Labels: map[string]string{"a": "b", "containerd.io/gc.ref": "x"}}
	enc, err := proto.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{1, 3, 7, 16 << 10, len(enc)} {
		var bufs [][]byte
		for b := enc; len(b) > 0; {
			n := min(size, len(b))
			bufs = append(bufs, b[:n])
			b = b[n:]
		}
		rest, parts, err := splitData(bufs)
		if err != nil {
			t.Fatalf("buffers of %d: %v", size, err)
		}
		got := &api.WriteContentRequest{}
		if err := proto.Unmarshal(rest, got); err != nil {
			t.Fatal(err)
		}
		if len(got.Data) != 0 {
			t.Fatalf("buffers of %d: data left in the rest", size)
		}
		got.Data = bytes.Join(parts, nil)
		if !proto.Equal(got, want) {
			t.Fatalf("buffers of %d: got %v", size, got)
		}
	}
}

func TestSplitDataRefusesTruncatedMessages(t *testing.T) {
	enc, _ := proto.Marshal(&api.WriteContentRequest{Ref: "r", Data: []byte("some data")})
	for n := 1; n < len(enc); n++ {
		if n == 3 {
			continue // cut after the ref: a whole message of its own
		}
		if _, _, err := splitData([][]byte{enc[:n]}); err == nil {
			t.Fatalf("a message cut at %d of %d bytes was taken", n, len(enc))
		}
	}
}
