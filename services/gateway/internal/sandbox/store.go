package sandbox

import (
	"context"
	"fmt"
	"strings"

	"github.com/containerd/containerd/api/types"
	"github.com/containerd/errdefs"
	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"berth.dev/pkg/filters"
	"berth.dev/pkg/labels"
	"berth.dev/pkg/namespace"
	"berth.dev/pkg/store"
)

// Store holds sandbox records per namespace.
type Store struct{ db *badger.DB }

// New returns the store over db.
func New(db *badger.DB) *Store { return &Store{db: db} }

func prefix(ns string) string  { return "sandbox/" + ns + "/" }
func key(ns, id string) string { return prefix(ns) + id }

// Create records sb, stamping its times.
func (s *Store) Create(ctx context.Context, sb *types.Sandbox) (*types.Sandbox, error) {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return nil, err
	}
	if err := validate(sb); err != nil {
		return nil, err
	}
	now := timestamppb.Now()
	sb.CreatedAt, sb.UpdatedAt = now, now
	err = store.Update(ctx, s.db, func(txn *badger.Txn) error {
		if ok, err := store.Exists(txn, key(ns, sb.SandboxID)); err != nil {
			return err
		} else if ok {
			return fmt.Errorf("sandbox %q: %w", sb.SandboxID, errdefs.ErrAlreadyExists)
		}
		return store.Put(txn, key(ns, sb.SandboxID), sb)
	})
	return sb, err
}

func validate(sb *types.Sandbox) error {
	switch {
	case sb == nil || sb.SandboxID == "":
		return fmt.Errorf("sandbox needs an id: %w", errdefs.ErrInvalidArgument)
	case strings.ContainsAny(sb.SandboxID, "/\x00"):
		return fmt.Errorf("sandbox id %q: %w", sb.SandboxID, errdefs.ErrInvalidArgument)
	case sb.Runtime == nil || sb.Runtime.Name == "":
		return fmt.Errorf("sandbox %q needs a runtime name: %w", sb.SandboxID, errdefs.ErrInvalidArgument)
	}
	return labels.Validate(sb.Labels)
}

// Get returns one record.
func (s *Store) Get(ctx context.Context, id string) (*types.Sandbox, error) {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return nil, err
	}
	sb := &types.Sandbox{}
	err = s.db.View(func(txn *badger.Txn) error { return store.Get(txn, key(ns, id), sb) })
	if err != nil {
		return nil, fmt.Errorf("sandbox %q: %w", id, err)
	}
	return sb, nil
}

// Update applies the fields of upd named by paths (all updatable fields
// when paths is empty), as containerd's sandbox store does.
func (s *Store) Update(ctx context.Context, upd *types.Sandbox, paths ...string) (*types.Sandbox, error) {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return nil, err
	}
	if upd == nil || upd.SandboxID == "" {
		return nil, fmt.Errorf("sandbox needs an id: %w", errdefs.ErrInvalidArgument)
	}
	if len(paths) == 0 {
		paths = []string{"labels", "extensions", "spec", "runtime", "sandboxer"}
	}
	out := &types.Sandbox{}
	err = store.Update(ctx, s.db, func(txn *badger.Txn) error {
		if err := store.Get(txn, key(ns, upd.SandboxID), out); err != nil {
			return fmt.Errorf("sandbox %q: %w", upd.SandboxID, err)
		}
		var rest []string
		out.Labels, rest = labels.Update(out.Labels, upd.Labels, paths)
		out.Extensions, rest = labels.UpdateMap(out.Extensions, upd.Extensions, "extensions", rest, func(v *anypb.Any) bool { return v != nil })
		for _, p := range rest {
			if err := apply(out, upd, p); err != nil {
				return err
			}
		}
		if err := validate(out); err != nil {
			return err
		}
		out.UpdatedAt = timestamppb.Now()
		return store.Put(txn, key(ns, upd.SandboxID), out)
	})
	return out, err
}

func apply(out, upd *types.Sandbox, path string) error {
	switch {
	case path == "spec":
		out.Spec = upd.Spec
	case path == "runtime":
		out.Runtime = upd.Runtime
	case path == "sandboxer":
		out.Sandboxer = upd.Sandboxer
	default:
		return labels.Unsupported(path, "sandbox")
	}
	return nil
}

// Delete removes a record.
func (s *Store) Delete(ctx context.Context, id string) error {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return err
	}
	return store.Update(ctx, s.db, func(txn *badger.Txn) error {
		if err := store.Delete(txn, key(ns, id)); err != nil {
			return fmt.Errorf("sandbox %q: %w", id, err)
		}
		return nil
	})
}

// List returns the namespace's records.
func (s *Store) List(ctx context.Context) ([]*types.Sandbox, error) {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return nil, err
	}
	return store.List(s.db, prefix(ns), func() *types.Sandbox { return &types.Sandbox{} }, func(*types.Sandbox) bool { return true })
}

// Match reports whether sb passes f (fields: id, sandboxer, runtime.name,
// labels.<key>), containerd's sandbox filter fields.
func Match(f filters.Filter, sb *types.Sandbox) bool {
	return f.Match(filters.AdapterFunc(func(p []string) (string, bool) {
		switch p[0] {
		case "id":
			return sb.SandboxID, true
		case "sandboxer":
			return sb.Sandboxer, true
		case "runtime":
			if len(p) == 2 && p[1] == "name" && sb.Runtime != nil {
				return sb.Runtime.Name, true
			}
		case "labels":
			return filters.LabelsAdaptor(sb.Labels, p)
		}
		return "", false
	}))
}
