package shim

import (
	"errors"
	"net"
	"strings"
	"testing"
)

type echo struct{ release chan struct{} }

func (e *echo) Double(req ProcessRequest, st *State) error {
	st.Pid = len(req.ExecID) * 2
	return nil
}

func (e *echo) Block(_ Empty, st *State) error {
	<-e.release
	st.Status = "released"
	return nil
}

func (e *echo) Fail(_ Empty, _ *Empty) error { return errors.New("process \"x\" not found") }

func (e *echo) Nothing(_ Empty, _ *Empty) error { return nil }

func TestWire(t *testing.T) {
	srv, cli := net.Pipe()
	e := &echo{release: make(chan struct{})}
	go serveConn(e, srv)
	c := newRPCClient(cli)
	t.Cleanup(func() { c.Close() })

	blocked := make(chan error, 1)
	var bst State
	go func() { blocked <- c.Call("Block", Empty{}, &bst) }()
	// Other calls are answered while Block waits.
	var st State
	if err := c.Call("Double", ProcessRequest{ExecID: "abc"}, &st); err != nil || st.Pid != 6 {
		t.Fatalf("Double: %v %+v", err, st)
	}
	if err := c.Call("Nothing", Empty{}, &Empty{}); err != nil {
		t.Fatalf("Nothing: %v", err)
	}
	err := c.Call("Fail", Empty{}, &Empty{})
	var re remoteError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("Fail: %v", err)
	}
	if err := c.Call("Missing", Empty{}, &Empty{}); err == nil || !strings.Contains(err.Error(), "no method") {
		t.Fatalf("Missing: %v", err)
	}
	close(e.release)
	if err := <-blocked; err != nil || bst.Status != "released" {
		t.Fatalf("Block: %v %+v", err, bst)
	}
	srv.Close()
	if err := c.Call("Double", ProcessRequest{}, &st); !errors.Is(err, errShutdown) {
		t.Fatalf("after close: %v", err)
	}
}
