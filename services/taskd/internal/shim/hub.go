package shim

import "sync"

// attachBuffer is how many output frames an attached client may lag behind
// before frames are dropped for it: a slow client never slows the process.
const attachBuffer = 64

// AttachFrame is output sent to an attached client.
type AttachFrame struct {
	Stream int // streamStdout or streamStderr
	Data   []byte
}

// hub fans a process's output out to its attached clients.
type hub struct {
	mu     sync.Mutex
	subs   map[chan AttachFrame]struct{}
	closed bool
}

func newHub() *hub { return &hub{subs: map[chan AttachFrame]struct{}{}} }

// publish hands p to every client that has room for it.
func (h *hub) publish(stream int, p []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subs) == 0 {
		return
	}
	f := AttachFrame{Stream: stream, Data: append([]byte(nil), p...)}
	for ch := range h.subs {
		select {
		case ch <- f:
		default: // this client is too slow: it misses the frame
		}
	}
}

// subscribe adds a client; false once the process's output ended.
func (h *hub) subscribe() (chan AttachFrame, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, false
	}
	ch := make(chan AttachFrame, attachBuffer)
	h.subs[ch] = struct{}{}
	return ch, true
}

func (h *hub) unsubscribe(ch chan AttachFrame) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[ch]; ok {
		delete(h.subs, ch)
		close(ch)
	}
}

// close ends every client's stream after what was published reaches it.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for ch := range h.subs {
		close(ch)
	}
	h.subs = map[chan AttachFrame]struct{}{}
}
