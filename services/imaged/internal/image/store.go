package image

import (
	"context"
	"fmt"
	"strings"

	apievents "github.com/containerd/containerd/api/events"
	api "github.com/containerd/containerd/api/services/images/v1"
	"github.com/containerd/errdefs"
	"github.com/dgraph-io/badger/v4"
	"github.com/opencontainers/go-digest"
	"google.golang.org/protobuf/types/known/timestamppb"

	"berth.dev/pkg/events"
	"berth.dev/pkg/filters"
	"berth.dev/pkg/labels"
	"berth.dev/pkg/namespace"
	"berth.dev/pkg/store"
)

// Store holds image records.
type Store struct {
	db     *badger.DB
	outbox *events.Outbox
}

// New returns the store.
func New(db *badger.DB, outbox *events.Outbox) *Store { return &Store{db: db, outbox: outbox} }

// Prefix is the record prefix of a namespace's images.
func Prefix(ns string) string { return "image/" + ns + "/" }

func key(ns, name string) string { return Prefix(ns) + name }

func validate(img *api.Image) error {
	if strings.TrimSpace(img.Name) == "" {
		return fmt.Errorf("image name must not be empty: %w", errdefs.ErrInvalidArgument)
	}
	if img.Target == nil || img.Target.MediaType == "" {
		return fmt.Errorf("image %s: target media type must be set: %w", img.Name, errdefs.ErrInvalidArgument)
	}
	if _, err := digest.Parse(img.Target.Digest); err != nil {
		return fmt.Errorf("image %s: target digest %q: %v: %w", img.Name, img.Target.Digest, err, errdefs.ErrInvalidArgument)
	}
	return labels.Validate(img.Labels)
}

// Get returns an image.
func (s *Store) Get(ctx context.Context, name string) (*api.Image, error) {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return nil, err
	}
	img := &api.Image{}
	if err := s.db.View(func(txn *badger.Txn) error { return store.Get(txn, key(ns, name), img) }); err != nil {
		return nil, fmt.Errorf("image %q: %w", name, err)
	}
	return img, nil
}

// List returns the images matching filters.
func (s *Store) List(ctx context.Context, fs ...string) ([]*api.Image, error) {
	return store.ListFiltered(ctx, s.db, Prefix, func() *api.Image { return &api.Image{} }, fs,
		func(img *api.Image) filters.Adaptor { return adaptor{img} })
}

type adaptor struct{ i *api.Image }

func (a adaptor) Field(path []string) (string, bool) {
	switch path[0] {
	case "name":
		return a.i.Name, true
	case "target":
		if len(path) < 2 || a.i.Target == nil {
			return "", false
		}
		switch path[1] {
		case "digest":
			return a.i.Target.Digest, true
		case "mediatype":
			return a.i.Target.MediaType, true
		}
	case "labels":
		return filters.LabelsAdaptor(a.i.Labels, path)
	}
	return "", false
}

// Create records a new image.
func (s *Store) Create(ctx context.Context, img *api.Image) (*api.Image, error) {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return nil, err
	}
	if err := validate(img); err != nil {
		return nil, err
	}
	now := timestamppb.Now()
	img.CreatedAt, img.UpdatedAt = now, now
	err = s.outbox.Update(ctx, func(txn *badger.Txn, rec *events.Recorder) error {
		if ok, err := store.Exists(txn, key(ns, img.Name)); err != nil {
			return err
		} else if ok {
			return fmt.Errorf("image %q: %w", img.Name, errdefs.ErrAlreadyExists)
		}
		if err := store.Put(txn, key(ns, img.Name), img); err != nil {
			return err
		}
		return rec.Add(ns, events.TopicImageCreate, &apievents.ImageCreate{Name: img.Name, Labels: img.Labels})
	})
	return img, err
}

// Update changes the fields named by paths (all of them when empty).
func (s *Store) Update(ctx context.Context, in *api.Image, paths []string) (*api.Image, error) {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return nil, err
	}
	out := &api.Image{}
	err = s.outbox.Update(ctx, func(txn *badger.Txn, rec *events.Recorder) error {
		if err := store.Get(txn, key(ns, in.Name), out); err != nil {
			return fmt.Errorf("image %q: %w", in.Name, err)
		}
		if len(paths) == 0 {
			created := out.CreatedAt
			out = in
			out.CreatedAt = created
		} else {
			var rest []string
			out.Labels, rest = labels.Update(out.Labels, in.Labels, paths)
			for _, p := range rest {
				switch p {
				case "target":
					out.Target = in.Target
				case "annotations":
					// containerd keeps annotations on the target.
					if out.Target != nil && in.Target != nil {
						out.Target.Annotations = in.Target.Annotations
					}
				default:
					return labels.Unsupported(p, "image")
				}
			}
		}
		if err := validate(out); err != nil {
			return err
		}
		out.UpdatedAt = timestamppb.Now()
		if err := store.Put(txn, key(ns, out.Name), out); err != nil {
			return err
		}
		return rec.Add(ns, events.TopicImageUpdate, &apievents.ImageUpdate{Name: out.Name, Labels: out.Labels})
	})
	return out, err
}

// Delete removes an image record.
func (s *Store) Delete(ctx context.Context, name string) error {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return err
	}
	return s.outbox.Update(ctx, func(txn *badger.Txn, rec *events.Recorder) error {
		if err := store.Delete(txn, key(ns, name)); err != nil {
			return fmt.Errorf("image %q: %w", name, err)
		}
		return rec.Add(ns, events.TopicImageDelete, &apievents.ImageDelete{Name: name})
	})
}
