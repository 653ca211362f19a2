//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	apievents "github.com/containerd/containerd/api/events"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"berth.dev/pkg/bus"
	"berth.dev/pkg/events"
	eventsv1 "berth.dev/proto/berth/events/v1"
)

// tracked are the topics whose every event the ledger accounts for: each
// names one container (and exec), and every container id is used once.
var tracked = map[string]bool{
	events.TopicContainerCreate: true, events.TopicContainerDelete: true,
	events.TopicTaskCreate: true, events.TopicTaskStart: true, events.TopicTaskExit: true, events.TopicTaskDelete: true,
	events.TopicTaskExecAdded: true, events.TopicTaskExecStarted: true,
}

// eventKey names one lifecycle change: namespace, topic, container, exec
// (the container id again for the init process, as containerd does).
type eventKey struct{ ns, topic, id, exec string }

func (k eventKey) String() string { return k.ns + " " + k.topic + " " + k.id + "/" + k.exec }

// ledger is what the load did: changes that surely happened (the call
// returned success) and changes that may have (the call failed, perhaps
// after the change was made).
type ledger struct {
	mu   sync.Mutex
	sure map[eventKey]bool
	may  map[eventKey]bool
	ids  map[string]bool // ns/container ids the load used
	// leases the load failed to delete (its own leak, not the node's).
	leases map[string]bool
}

func newLedger() *ledger {
	return &ledger{sure: map[eventKey]bool{}, may: map[eventKey]bool{}, ids: map[string]bool{}, leases: map[string]bool{}}
}

// note records a change the load asked for: sure when the call succeeded.
func (l *ledger) note(ns, topic, id, exec string, err error) {
	if exec == "" && (topic == events.TopicTaskExit || topic == events.TopicTaskExecAdded || topic == events.TopicTaskExecStarted) {
		exec = id
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	k := eventKey{ns, topic, id, exec}
	l.ids[ns+"/"+id] = true
	if err == nil {
		l.sure[k] = true
	} else {
		l.may[k] = true
	}
}

// eventLog reads the node's BERTH_EVENTS_<node> stream as it grows.
type eventLog struct {
	r      *run
	next   map[string]uint64 // stream -> first sequence not read yet
	counts map[eventKey]int
	// seen describes each tracked event, to tell duplicates apart.
	seen  map[eventKey][]string
	ids   map[string]int // envelope id -> times seen
	total int
}

func newEventLog(r *run) *eventLog {
	return &eventLog{r: r, next: map[string]uint64{}, counts: map[eventKey]int{}, seen: map[eventKey][]string{}, ids: map[string]int{}}
}

// connect reaches the stack's NATS the way its daemons do: the external
// server, or the embedded one at the address the gateway wrote, logged in
// as the node's read-only admin user.
func (e *eventLog) connect() (*nats.Conn, error) {
	if e.r.nats != nil {
		return nats.Connect(e.r.nats.URL(), nats.Timeout(2*time.Second))
	}
	b, err := os.ReadFile(filepath.Join(e.r.st.State, "nats.url"))
	if err != nil {
		return nil, err
	}
	auth, err := bus.EmbeddedAuth(filepath.Join(e.r.st.State, "nats"), bus.UserAdmin)
	if err != nil {
		return nil, err
	}
	u := strings.TrimSpace(string(b))
	if !strings.Contains(u, "://") {
		u = "nats://" + u
	}
	return nats.Connect(u, append(auth, nats.Timeout(2*time.Second))...)
}

// read appends what the node's streams gained since the last read.
func (e *eventLog) read() error {
	nc, err := e.connect()
	if err != nil {
		return fmt.Errorf("nats: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	names := js.StreamNames(ctx)
	var streams []string
	for name := range names.Name() {
		if strings.HasPrefix(name, events.StreamName+"_") {
			streams = append(streams, name)
		}
	}
	if err := names.Err(); err != nil {
		return fmt.Errorf("streams: %w", err)
	}
	for _, name := range streams {
		if err := e.readStream(ctx, js, name); err != nil {
			return fmt.Errorf("stream %s: %w", name, err)
		}
	}
	return nil
}

func (e *eventLog) readStream(ctx context.Context, js jetstream.JetStream, name string) error {
	st, err := js.Stream(ctx, name)
	if err != nil {
		return err
	}
	last := st.CachedInfo().State.LastSeq
	if e.next[name] == 0 {
		e.next[name] = 1
	}
	if last < e.next[name] {
		return nil
	}
	cons, err := js.OrderedConsumer(ctx, name, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: e.next[name]})
	if err != nil {
		return err
	}
	for e.next[name] <= last {
		msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			return err
		}
		md, err := msg.Metadata()
		if err != nil {
			return err
		}
		if md.Sequence.Stream < e.next[name] {
			continue
		}
		e.next[name] = md.Sequence.Stream + 1
		env := &eventsv1.Envelope{}
		if err := proto.Unmarshal(msg.Data(), env); err != nil {
			return fmt.Errorf("event %d: %w", md.Sequence.Stream, err)
		}
		e.add(env)
	}
	return nil
}

func (e *eventLog) add(env *eventsv1.Envelope) {
	e.total++
	e.ids[env.Id]++
	if !tracked[env.Topic] {
		return
	}
	k := eventKey{ns: env.Namespace, topic: env.Topic}
	v, err := env.Event.UnmarshalNew()
	if err != nil {
		return
	}
	switch ev := v.(type) {
	case *apievents.ContainerCreate:
		k.id = ev.ID
	case *apievents.ContainerDelete:
		k.id = ev.ID
	case *apievents.TaskCreate:
		k.id = ev.ContainerID
	case *apievents.TaskStart:
		k.id = ev.ContainerID
	case *apievents.TaskDelete:
		// An exec's deletion names the exec; the init's names nothing or
		// the container.
		k.id, k.exec = ev.ContainerID, ev.ID
		if k.exec == k.id {
			k.exec = ""
		}
	case *apievents.TaskExit:
		k.id, k.exec = ev.ContainerID, ev.ID
	case *apievents.TaskExecAdded:
		k.id, k.exec = ev.ContainerID, ev.ExecID
	case *apievents.TaskExecStarted:
		k.id, k.exec = ev.ContainerID, ev.ExecID
	}
	e.counts[k]++
	e.seen[k] = append(e.seen[k], fmt.Sprintf("{id %s from %s at %s: %v}", env.Id, env.Source, env.Timestamp.AsTime().Format("15:04:05.000"), v))
}

// check reads the stream until every sure change is in it (or wait passes)
// and reports changes lost, changes published twice, and events nothing
// asked for.
func (e *eventLog) check(wait time.Duration) []string {
	l := e.r.ledger
	deadline := time.Now().Add(wait)
	var missing []string
	for {
		if err := e.read(); err != nil {
			missing = []string{"reading the stream: " + err.Error()}
		} else {
			missing = missing[:0]
			l.mu.Lock()
			for k := range l.sure {
				if e.counts[k] == 0 {
					missing = append(missing, "lost: "+k.String())
				}
			}
			l.mu.Unlock()
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	out := missing
	l.mu.Lock()
	for k, n := range e.counts {
		if n > 1 {
			out = append(out, fmt.Sprintf("published %d times: %s %s", n, k, strings.Join(e.seen[k], " ")))
		}
		if !l.sure[k] && !l.may[k] && l.ids[k.ns+"/"+k.id] && !e.implied(k) {
			out = append(out, "not asked for: "+k.String())
		}
	}
	l.mu.Unlock()
	for id, n := range e.ids {
		if n > 1 {
			out = append(out, fmt.Sprintf("envelope %s is in the stream %d times", id, n))
		}
	}
	sort.Strings(out)
	return out
}

// implied reports whether an event follows from a change the load asked
// for without being asked itself: a task's init exit follows its start or
// a kill (the load notes those as may), an exec's exit its start.
func (e *eventLog) implied(k eventKey) bool {
	l := e.r.ledger
	if k.topic != events.TopicTaskExit {
		return false
	}
	for _, t := range []string{events.TopicTaskStart, events.TopicTaskExecStarted, events.TopicTaskCreate} {
		for _, x := range []string{"", k.exec} {
			kk := eventKey{k.ns, t, k.id, x}
			if l.sure[kk] || l.may[kk] {
				return true
			}
		}
	}
	return false
}

// await reads the stream until k is in it or wait passes.
func (e *eventLog) await(k eventKey, wait time.Duration) bool {
	deadline := time.Now().Add(wait)
	for e.counts[k] == 0 && time.Now().Before(deadline) {
		e.read()
		if e.counts[k] == 0 {
			time.Sleep(300 * time.Millisecond)
		}
	}
	return e.counts[k] > 0
}
