package grpcserver

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestCodecSendsEncodedAsItIs(t *testing.T) {
	enc := Encoded("\x0a\x03abc")
	out, err := codec{}.Marshal(enc)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Materialize(); !bytes.Equal(got, enc) {
		t.Fatalf("Encoded went out as %q", got)
	}
	// The bytes are not copied: they are the handler's.
	if &out[0].ReadOnlyData()[0] != &enc[0] {
		t.Fatal("Encoded was copied")
	}
	out.Free()
	if !bytes.Equal(enc, []byte("\x0a\x03abc")) {
		t.Fatal("freeing what was sent changed the Encoded bytes")
	}

	m := wrapperspb.String("abc")
	out, err = codec{}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := proto.Marshal(m)
	if got := out.Materialize(); !bytes.Equal(got, want) {
		t.Fatalf("a message went out as %q, want %q", got, want)
	}
	back := &wrapperspb.StringValue{}
	if err := (codec{}).Unmarshal(out, back); err != nil || back.Value != "abc" {
		t.Fatalf("unmarshal: %v, %v", back, err)
	}
}
