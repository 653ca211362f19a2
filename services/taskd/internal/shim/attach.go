package shim

import (
	"bufio"
	"encoding/gob"
	"fmt"
	"net"
	"time"

	"github.com/containerd/errdefs"
)

// Attaching takes over a connection to the shim: after the call's header
// and AttachRequest, and the shim's response header, the shim sends
// AttachFrames until the process's output ends and the client sends
// AttachInputs, until either side closes the connection.

// AttachRequest names the process to attach to ("" is init).
type AttachRequest struct {
	ExecID string
}

// AttachInput is what an attached client sends.
type AttachInput struct {
	Stdin      []byte
	CloseStdin bool
	// EndOfInput says the client will send nothing more (with
	// attach://?once=true that closes stdin).
	EndOfInput    bool
	Width, Height uint32
}

const attachMethod = "Attach"

// serveAttach streams a process's output to c and its input from c.
func (s *Service) serveAttach(c net.Conn, dec *gob.Decoder, enc *flushingEncoder, seq uint64) {
	defer c.Close()
	var req AttachRequest
	if err := dec.Decode(&req); err != nil {
		return
	}
	p, err := s.process(req.ExecID)
	if err == nil && p.stdio == nil {
		err = fmt.Errorf("process %q is not running", req.ExecID)
	}
	h := responseHeader{Seq: seq}
	if err != nil {
		h.Error = err.Error()
		enc.Encode(&h)
		return
	}
	// Subscribed before answering: output after the answer reaches the
	// client.
	io := p.stdio
	frames, ok := io.hub.subscribe()
	if enc.Encode(&h) != nil || !ok {
		// Gone, or the output already ended: so does the stream.
		if ok {
			io.hub.unsubscribe(frames)
		}
		return
	}
	go func() {
		defer io.hub.unsubscribe(frames)
		for {
			var in AttachInput
			if err := dec.Decode(&in); err != nil {
				// Gone: with StdinOnce its stdin is done too.
				if io.in.once {
					io.closeStdin()
				}
				return
			}
			io.writeStdin(in.Stdin)
			if in.Width > 0 && in.Height > 0 {
				io.resize(in.Width, in.Height)
			}
			if in.CloseStdin || (in.EndOfInput && io.in.once) {
				io.closeStdin()
			}
		}
	}()
	for f := range frames {
		c.SetWriteDeadline(time.Now().Add(attachWriteTimeout))
		if err := enc.Encode(&f); err != nil {
			io.hub.unsubscribe(frames)
			for range frames {
			}
			return
		}
	}
}

// attachWriteTimeout drops a client that stopped reading altogether.
const attachWriteTimeout = 30 * time.Second

// AttachConn is taskd's end of an attached process's stdio.
type AttachConn struct {
	c   net.Conn
	enc *flushingEncoder
	dec *gob.Decoder
}

// Attach joins a process's stdio on a connection of its own.
func (c *Client) Attach(execID string) (*AttachConn, error) {
	conn, err := net.DialTimeout("unix", c.Socket, 2*time.Second)
	if err != nil {
		return nil, fmt.Errorf("shim of %s: %v: %w", c.Dir, err, errdefs.ErrUnavailable)
	}
	a := &AttachConn{c: conn, enc: &flushingEncoder{}, dec: gob.NewDecoder(conn)}
	a.enc.w = bufio.NewWriter(conn)
	a.enc.enc = gob.NewEncoder(a.enc.w)
	err = a.enc.enc.Encode(&requestHeader{Seq: 1, Method: attachMethod})
	if err == nil {
		err = a.enc.Encode(&AttachRequest{ExecID: execID})
	}
	var h responseHeader
	if err == nil {
		err = a.dec.Decode(&h)
	}
	if err != nil {
		conn.Close()
		return nil, classify(err)
	}
	if h.Error != "" {
		conn.Close()
		return nil, classify(remoteError(h.Error))
	}
	return a, nil
}

// Recv returns the next output frame; io.EOF once the process's output
// ended.
func (a *AttachConn) Recv() (AttachFrame, error) {
	var f AttachFrame
	err := a.dec.Decode(&f)
	return f, err
}

// Send passes input to the process.
func (a *AttachConn) Send(in AttachInput) error { return a.enc.Encode(&in) }

// Close leaves the process's stdio.
func (a *AttachConn) Close() error { return a.c.Close() }
