package shim

import (
	"bytes"
	"encoding/gob"
	"io"
	"net"
	"testing"
	"time"
)

// FuzzServeConn feeds arbitrary bytes to the shim's side of its protocol:
// a peer on the socket (taskd, or anything that reached the socket) can
// make the shim end the connection, never crash or hang it.
func FuzzServeConn(f *testing.F) {
	var call bytes.Buffer
	enc := gob.NewEncoder(&call)
	enc.Encode(&requestHeader{Seq: 1, Method: "Double"})
	enc.Encode(ProcessRequest{ExecID: "abc"})
	enc.Encode(&requestHeader{Seq: 2, Method: "Missing"})
	enc.Encode(Empty{})
	f.Add(call.Bytes())
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		srv, cli := net.Pipe()
		e := &echo{release: make(chan struct{})}
		defer close(e.release)
		done := make(chan struct{})
		go func() {
			serveConn(e, srv)
			close(done)
		}()
		go io.Copy(io.Discard, cli)
		cli.Write(data)
		cli.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("the shim's connection handler hung on its input")
		}
	})
}
