package fdsocket

import (
	"encoding/json"
	"fmt"
	"net"
	"os"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

// maxMessage bounds one JSON message.
const maxMessage = 64 << 10

// Send writes msg and, when f is not nil, its descriptor.
func Send(c *net.UnixConn, msg any, f *os.File) error {
	b, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	if len(b) > maxMessage {
		return fmt.Errorf("message of %d bytes: %w", len(b), errdefs.ErrInvalidArgument)
	}
	var oob []byte
	if f != nil {
		oob = unix.UnixRights(int(f.Fd()))
	}
	_, _, err = c.WriteMsgUnix(b, oob, nil)
	return err
}

// Receive reads one message into msg and returns the descriptor sent with
// it, nil when there was none.
func Receive(c *net.UnixConn, msg any) (*os.File, error) {
	buf := make([]byte, maxMessage)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, err
	}
	fds, err := rights(oob[:oobn])
	if err != nil {
		return nil, err
	}
	if len(fds) > 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("message carries %d descriptors: %w", len(fds), errdefs.ErrInvalidArgument)
	}
	var f *os.File
	if len(fds) == 1 {
		f = os.NewFile(uintptr(fds[0]), "received")
	}
	if err := json.Unmarshal(buf[:n], msg); err != nil {
		if f != nil {
			f.Close()
		}
		return nil, fmt.Errorf("message: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	return f, nil
}

func rights(oob []byte) ([]int, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("control message: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	var fds []int
	for i := range msgs {
		got, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			continue
		}
		fds = append(fds, got...)
	}
	return fds, nil
}
