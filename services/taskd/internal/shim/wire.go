package shim

import (
	"bufio"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"sync"
)

// The shim speaks a small protocol of its own, gob messages on the unix
// socket: a header then a body each way, calls matched by sequence number
// so a blocking Wait does not hold up other calls. A header and its body
// go out in one write, so each call and answer wakes its reader once. It replaces net/rpc,
// whose HTTP and html/template dependencies cost the shim about 2 MiB of
// resident memory per container.

type requestHeader struct {
	Seq    uint64
	Method string
}

type responseHeader struct {
	Seq   uint64
	Error string
}

// errShutdown reports a connection that is closed or was lost.
var errShutdown = errors.New("shim connection is shut down")

// serveConn answers calls on c with the methods of rcvr shaped like
// `func (T) Name(req R, resp *P) error`.
func serveConn(rcvr any, c net.Conn) {
	defer c.Close()
	w := bufio.NewWriter(c)
	dec, enc := gob.NewDecoder(c), gob.NewEncoder(w)
	var wmu sync.Mutex
	reply := func(seq uint64, err error, body any) {
		h := responseHeader{Seq: seq}
		if err != nil {
			h.Error = err.Error()
		}
		wmu.Lock()
		defer wmu.Unlock()
		// A failed call has no body.
		if enc.Encode(&h) == nil && err == nil {
			enc.Encode(body)
		}
		w.Flush()
	}
	for {
		var h requestHeader
		if err := dec.Decode(&h); err != nil {
			return
		}
		if a, ok := rcvr.(*Service); ok && h.Method == attachMethod {
			// The connection becomes the attach stream.
			a.serveAttach(c, dec, &flushingEncoder{enc, w}, h.Seq)
			return
		}
		m := reflect.ValueOf(rcvr).MethodByName(h.Method)
		if !callable(m) {
			if dec.DecodeValue(reflect.Value{}) != nil {
				return
			}
			go reply(h.Seq, fmt.Errorf("shim: no method %q", h.Method), nil)
			continue
		}
		req := reflect.New(m.Type().In(0))
		if err := dec.Decode(req.Interface()); err != nil {
			return
		}
		svc, _ := rcvr.(*Service)
		if svc != nil {
			svc.calls.Add(1)
		}
		go func(seq uint64) {
			resp := reflect.New(m.Type().In(1).Elem())
			out := m.Call([]reflect.Value{req.Elem(), resp})
			err, _ := out[0].Interface().(error)
			reply(seq, err, resp.Interface())
			if svc != nil {
				svc.calls.Done()
			}
		}(h.Seq)
	}
}

var errorType = reflect.TypeFor[error]()

func callable(m reflect.Value) bool {
	if !m.IsValid() {
		return false
	}
	t := m.Type()
	return t.NumIn() == 2 && t.NumOut() == 1 && t.In(1).Kind() == reflect.Pointer && t.Out(0) == errorType
}

// flushingEncoder writes each value it encodes at once.
type flushingEncoder struct {
	enc *gob.Encoder
	w   *bufio.Writer
}

func (e *flushingEncoder) Encode(v any) error {
	if err := e.enc.Encode(v); err != nil {
		return err
	}
	return e.w.Flush()
}

// rpcClient multiplexes calls over one connection.
type rpcClient struct {
	conn    net.Conn
	wmu     sync.Mutex
	w       *bufio.Writer
	enc     *gob.Encoder
	mu      sync.Mutex
	seq     uint64
	pending map[uint64]*pendingCall
	err     error // set once the connection is lost
	// closed is closed once the connection is lost (for a shim that
	// exits, once it is gone).
	closed chan struct{}
}

type pendingCall struct {
	resp any
	done chan error
}

// remoteError is an error the shim returned, as opposed to a lost connection.
type remoteError string

func (e remoteError) Error() string { return string(e) }

func newRPCClient(c net.Conn) *rpcClient {
	w := bufio.NewWriter(c)
	cl := &rpcClient{conn: c, w: w, enc: gob.NewEncoder(w), pending: map[uint64]*pendingCall{}, closed: make(chan struct{})}
	go cl.read(gob.NewDecoder(c))
	return cl
}

// read delivers responses until the connection fails, then fails every
// call still waiting.
func (cl *rpcClient) read(dec *gob.Decoder) {
	var err error
	for err == nil {
		var h responseHeader
		if err = dec.Decode(&h); err != nil {
			break
		}
		cl.mu.Lock()
		call := cl.pending[h.Seq]
		delete(cl.pending, h.Seq)
		cl.mu.Unlock()
		switch {
		case h.Error != "":
			if call != nil {
				call.done <- remoteError(h.Error)
			}
			continue
		case call == nil:
			err = dec.DecodeValue(reflect.Value{})
			continue
		}
		err = dec.Decode(call.resp)
		call.done <- err
	}
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		err = errShutdown
	}
	cl.mu.Lock()
	cl.err = fmt.Errorf("%w: %v", errShutdown, err)
	for seq, call := range cl.pending {
		delete(cl.pending, seq)
		call.done <- cl.err
	}
	cl.mu.Unlock()
	close(cl.closed)
}

// Call sends method(req) and waits for its response in resp.
func (cl *rpcClient) Call(method string, req, resp any) error {
	call := &pendingCall{resp: resp, done: make(chan error, 1)}
	cl.mu.Lock()
	if cl.err != nil {
		cl.mu.Unlock()
		return cl.err
	}
	cl.seq++
	seq := cl.seq
	cl.pending[seq] = call
	cl.mu.Unlock()
	cl.wmu.Lock()
	err := cl.enc.Encode(&requestHeader{Seq: seq, Method: method})
	if err == nil {
		err = cl.enc.Encode(req)
	}
	if err == nil {
		err = cl.w.Flush()
	}
	cl.wmu.Unlock()
	if err != nil {
		cl.mu.Lock()
		delete(cl.pending, seq)
		cl.mu.Unlock()
		return fmt.Errorf("%w: %v", errShutdown, err)
	}
	return <-call.done
}

// Close ends the connection; calls in flight fail.
func (cl *rpcClient) Close() error { return cl.conn.Close() }
