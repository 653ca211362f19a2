package cri

import (
	"context"
	"sync"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"berth.dev/services/gateway/internal/cri/store"
)

// eventBuffer is how far a GetContainerEvents caller may fall behind
// before it is cut off.
const eventBuffer = 256

// broadcaster fans container events out to GetContainerEvents callers.
type broadcaster struct {
	mu   sync.Mutex
	subs map[chan *runtimeapi.ContainerEventResponse]struct{}
}

func newBroadcaster() *broadcaster {
	return &broadcaster{subs: map[chan *runtimeapi.ContainerEventResponse]struct{}{}}
}

func (b *broadcaster) subscribe() (chan *runtimeapi.ContainerEventResponse, func()) {
	c := make(chan *runtimeapi.ContainerEventResponse, eventBuffer)
	b.mu.Lock()
	b.subs[c] = struct{}{}
	b.mu.Unlock()
	return c, func() {
		b.mu.Lock()
		if _, ok := b.subs[c]; ok {
			delete(b.subs, c)
			close(c)
		}
		b.mu.Unlock()
	}
}

func (b *broadcaster) active() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs) > 0
}

func (b *broadcaster) publish(ev *runtimeapi.ContainerEventResponse) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for c := range b.subs {
		select {
		case c <- ev:
		default:
			// Too slow: the caller sees its stream end and resubscribes.
			delete(b.subs, c)
			close(c)
		}
	}
}

// emit publishes a container's event with its pod's and containers'
// statuses, as the kubelet's evented PLEG reads them.
func (s *RuntimeService) emit(ctx context.Context, id string, typ runtimeapi.ContainerEventType) {
	if !s.events.active() {
		return
	}
	c, err := s.Store.Container(id)
	if err != nil {
		return
	}
	s.publishEvent(ctx, c, typ)
}

func (s *RuntimeService) emitDeleted(ctx context.Context, c *store.Container) {
	if s.events.active() {
		s.publishEvent(ctx, c, runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT)
	}
}

// emitSandbox publishes a pod's own lifecycle event (containerd sends the
// sandbox's under its id as a container event too); a removed pod carries
// the status it had.
func (s *RuntimeService) emitSandbox(ctx context.Context, id string, typ runtimeapi.ContainerEventType, last *runtimeapi.PodSandboxStatusResponse) {
	if !s.events.active() {
		return
	}
	ev := &runtimeapi.ContainerEventResponse{ContainerId: id, ContainerEventType: typ, CreatedAt: time.Now().UnixNano()}
	st := last
	if st == nil {
		st, _ = s.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id})
	}
	if st != nil {
		ev.PodSandboxStatus, ev.ContainersStatuses = st.Status, st.ContainersStatuses
	}
	s.events.publish(ev)
}

func (s *RuntimeService) publishEvent(ctx context.Context, c *store.Container, typ runtimeapi.ContainerEventType) {
	ev := &runtimeapi.ContainerEventResponse{ContainerId: c.ID, ContainerEventType: typ, CreatedAt: time.Now().UnixNano()}
	if st, err := s.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: c.SandboxID}); err == nil {
		ev.PodSandboxStatus, ev.ContainersStatuses = st.Status, st.ContainersStatuses
	}
	s.events.publish(ev)
}

// GetContainerEvents streams container lifecycle events until the caller
// goes away.
func (s *RuntimeService) GetContainerEvents(req *runtimeapi.GetEventsRequest, stream runtimeapi.RuntimeService_GetContainerEventsServer) error {
	c, cancel := s.events.subscribe()
	defer cancel()
	for {
		select {
		case <-stream.Context().Done():
			return nil
		case ev, ok := <-c:
			if !ok {
				return nil
			}
			if err := stream.Send(ev); err != nil {
				return err
			}
		}
	}
}
