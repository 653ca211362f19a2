package container

import (
	"context"
	"fmt"
	"strings"

	apievents "github.com/containerd/containerd/api/events"
	api "github.com/containerd/containerd/api/services/containers/v1"
	"github.com/containerd/errdefs"
	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"berth.dev/pkg/events"
	"berth.dev/pkg/filters"
	"berth.dev/pkg/labels"
	"berth.dev/pkg/listcache"
	"berth.dev/pkg/namespace"
	"berth.dev/pkg/store"
)

// Store holds container records.
type Store struct {
	db     *badger.DB
	outbox *events.Outbox
	// listings are the namespaces' listings, kept between lists.
	listings listings
	tags     *listcache.Tagger
	// InUse, when set, refuses deleting a container that has a task.
	InUse func(ns, id string) bool
	// Deleted, when set, is called once a container's deletion is
	// committed, or found nothing to delete, to remove what was made ahead
	// for its task.
	Deleted func(ns, id string)
}

// New returns the store.
func New(db *badger.DB, outbox *events.Outbox) *Store {
	return &Store{db: db, outbox: outbox, tags: listcache.NewTagger()}
}

// Prefix is the record prefix of a namespace.
func Prefix(ns string) string { return "container/" + ns + "/" }

func key(ns, id string) string { return Prefix(ns) + id }

func validate(c *api.Container) error {
	if c.ID == "" || strings.ContainsAny(c.ID, "/\x00") || len(c.ID) > 76 {
		return fmt.Errorf("container id %q: must be non-empty, at most 76 characters, without '/': %w", c.ID, errdefs.ErrInvalidArgument)
	}
	if c.Runtime == nil || c.Runtime.Name == "" {
		return fmt.Errorf("container %q must have a runtime: %w", c.ID, errdefs.ErrInvalidArgument)
	}
	if c.Spec == nil {
		return fmt.Errorf("container %q must have a spec: %w", c.ID, errdefs.ErrInvalidArgument)
	}
	if c.SnapshotKey != "" && c.Snapshotter == "" {
		return fmt.Errorf("container %q: a snapshot key needs a snapshotter: %w", c.ID, errdefs.ErrInvalidArgument)
	}
	return labels.Validate(c.Labels)
}

// Get returns a container.
func (s *Store) Get(ctx context.Context, id string) (*api.Container, error) {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return nil, err
	}
	return s.GetIn(ns, id)
}

// GetIn returns a container of ns.
func (s *Store) GetIn(ns, id string) (*api.Container, error) {
	c := &api.Container{}
	if err := s.db.View(func(txn *badger.Txn) error { return store.Get(txn, key(ns, id), c) }); err != nil {
		return nil, fmt.Errorf("container %q: %w", id, err)
	}
	return c, nil
}

// List returns the containers matching filters.
func (s *Store) List(ctx context.Context, fs ...string) ([]*api.Container, error) {
	return store.ListFiltered(ctx, s.db, Prefix, func() *api.Container { return &api.Container{} }, fs,
		func(c *api.Container) filters.Adaptor { return adaptor{c} })
}

type adaptor struct{ c *api.Container }

func (a adaptor) Field(path []string) (string, bool) {
	switch path[0] {
	case "id":
		return a.c.ID, true
	case "image":
		return a.c.Image, true
	case "snapshotter":
		return a.c.Snapshotter, true
	case "runtime":
		if len(path) > 1 && path[1] == "name" && a.c.Runtime != nil {
			return a.c.Runtime.Name, true
		}
	case "labels":
		return filters.LabelsAdaptor(a.c.Labels, path)
	}
	return "", false
}

// Create records a container.
func (s *Store) Create(ctx context.Context, c *api.Container) (*api.Container, error) {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return nil, err
	}
	if err := validate(c); err != nil {
		return nil, err
	}
	now := timestamppb.Now()
	c.CreatedAt, c.UpdatedAt = now, now
	err = s.durable(ctx, ns, func(txn *badger.Txn, rec *events.Recorder) error {
		if ok, err := store.Exists(txn, key(ns, c.ID)); err != nil {
			return err
		} else if ok {
			return fmt.Errorf("container %q: %w", c.ID, errdefs.ErrAlreadyExists)
		}
		if err := store.Put(txn, key(ns, c.ID), c); err != nil {
			return err
		}
		return rec.Add(ns, events.TopicContainerCreate, &apievents.ContainerCreate{ID: c.ID, Image: c.Image,
			Runtime: &apievents.ContainerCreate_Runtime{Name: c.Runtime.Name, Options: c.Runtime.Options}})
	})
	return c, err
}

// Update changes the fields named by paths.
func (s *Store) Update(ctx context.Context, in *api.Container, paths []string) (*api.Container, error) {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return nil, err
	}
	out := &api.Container{}
	err = s.durable(ctx, ns, func(txn *badger.Txn, rec *events.Recorder) error {
		if err := store.Get(txn, key(ns, in.ID), out); err != nil {
			return fmt.Errorf("container %q: %w", in.ID, err)
		}
		if err := apply(out, in, paths); err != nil {
			return err
		}
		if err := validate(out); err != nil {
			return err
		}
		out.UpdatedAt = timestamppb.Now()
		if err := store.Put(txn, key(ns, out.ID), out); err != nil {
			return err
		}
		return rec.Add(ns, events.TopicContainerUpdate, &apievents.ContainerUpdate{ID: out.ID, Image: out.Image, Labels: out.Labels, SnapshotKey: out.SnapshotKey})
	})
	return out, err
}

// apply copies the fields of in named by paths onto c (all mutable ones
// when paths is empty).
func apply(c, in *api.Container, paths []string) error {
	if len(paths) == 0 {
		paths = []string{"labels", "spec", "image", "snapshotkey", "snapshotter", "runtime", "extensions", "sandbox"}
	}
	var rest []string
	c.Labels, rest = labels.Update(c.Labels, in.Labels, paths)
	c.Extensions, rest = labels.UpdateMap(c.Extensions, in.Extensions, "extensions", rest, func(*anypb.Any) bool { return true })
	for _, p := range rest {
		switch {
		case p == "spec":
			c.Spec = in.Spec
		case p == "image":
			c.Image = in.Image
		case p == "snapshotkey":
			c.SnapshotKey = in.SnapshotKey
		case p == "snapshotter":
			c.Snapshotter = in.Snapshotter
		case p == "runtime":
			c.Runtime = in.Runtime
		case p == "sandbox":
			c.Sandbox = in.Sandbox
		default:
			return labels.Unsupported(p, "container")
		}
	}
	return nil
}

// Delete removes a container without a task.
func (s *Store) Delete(ctx context.Context, id string) error {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return err
	}
	if s.InUse != nil && s.InUse(ns, id) {
		return fmt.Errorf("container %q has a task; delete it first: %w", id, errdefs.ErrFailedPrecondition)
	}
	err = s.durable(ctx, ns, func(txn *badger.Txn, rec *events.Recorder) error {
		if err := store.Delete(txn, key(ns, id)); err != nil {
			return fmt.Errorf("container %q: %w", id, err)
		}
		return rec.Add(ns, events.TopicContainerDelete, &apievents.ContainerDelete{ID: id})
	})
	// The id's task preparation goes with the container; a deletion that
	// finds no record (another took it meanwhile) looks for one too.
	if (err == nil || errdefs.IsNotFound(err)) && s.Deleted != nil {
		s.Deleted(ns, id)
	}
	return err
}

// durable commits fn's changes and syncs them: taskd's store does not sync
// each commit (a task is void after a reboot), but a container record
// outlives one, as in containerd. The namespace's cached listing is left
// out of lists until the write ends.
func (s *Store) durable(ctx context.Context, ns string, fn func(txn *badger.Txn, rec *events.Recorder) error) error {
	defer s.listings.writeBegins(ns)()
	if err := s.outbox.Update(ctx, fn); err != nil {
		return err
	}
	return s.db.Sync()
}
