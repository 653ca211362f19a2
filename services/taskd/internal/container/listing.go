package container

import (
	"context"
	"fmt"
	"sync"

	api "github.com/containerd/containerd/api/services/containers/v1"
	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"berth.dev/pkg/filters"
	"berth.dev/pkg/namespace"
	"berth.dev/pkg/store"
)

// A Listing is a namespace's containers in key order, kept in the encoding
// the containers service answers with: entry i is the encoding of a
// ListContainerMessage (field 1, the record as stored), and all of them
// together are the encoding of a ListContainersResponse. A listing is never
// changed once made: callers send its bytes as they are, at once from any
// number of calls.
type Listing struct {
	enc  []byte
	ends []int // where each entry ends in enc
	tag  string
}

// Tag names a listing the Store keeps (pkg/listcache): the same tag is
// the same listing. It is empty for one made for a call alone (filtered,
// or read while the namespace was written).
func (l *Listing) Tag() string { return l.tag }

// Len is the number of containers listed.
func (l *Listing) Len() int { return len(l.ends) }

// Response is the encoding of the ListContainersResponse listing them all.
func (l *Listing) Response() []byte { return l.enc }

// Entry is the encoding of the ListContainerMessage of container i.
func (l *Listing) Entry(i int) []byte {
	start := 0
	if i > 0 {
		start = l.ends[i-1]
	}
	return l.enc[start:l.ends[i]]
}

// Batches splits the entries into runs of at most size bytes (an entry
// larger than size is a run of its own), each a sub-slice of Response:
// the batches of pkg/batch, made without a copy.
func (l *Listing) Batches(size int) [][]byte {
	var out [][]byte
	start := 0
	for i, end := range l.ends {
		if end-start > size && i > 0 && l.ends[i-1] > start {
			out = append(out, l.enc[start:l.ends[i-1]])
			start = l.ends[i-1]
		}
	}
	if len(l.enc) > start {
		out = append(out, l.enc[start:])
	}
	return out
}

func (l *Listing) add(record []byte) {
	l.enc = protowire.AppendTag(l.enc, 1, protowire.BytesType)
	l.enc = protowire.AppendBytes(l.enc, record)
	l.ends = append(l.ends, len(l.enc))
}

// record returns the stored record of entry i.
func (l *Listing) record(i int) []byte {
	e := l.Entry(i)
	_, _, n := protowire.ConsumeTag(e)
	v, _ := protowire.ConsumeBytes(e[n:])
	return v
}

// Listing returns the containers of the namespace of ctx that pass filters
// fs. Without filters it is the namespace's cached listing (read from the
// store at the first list after a change), which a list sends with no
// record decoded, encoded or copied; with filters each record is decoded
// to be matched and a listing of those passing is made for the call.
func (s *Store) Listing(ctx context.Context, fs ...string) (*Listing, error) {
	ns, err := namespace.Required(ctx)
	if err != nil {
		return nil, err
	}
	f, err := filters.Parse(fs...)
	if err != nil {
		return nil, err
	}
	all, err := s.listing(ns)
	if err != nil || filters.MatchesEverything(f) {
		return all, err
	}
	out := &Listing{}
	for i := range all.Len() {
		c := &api.Container{}
		if err := proto.Unmarshal(all.record(i), c); err != nil {
			return nil, fmt.Errorf("decode container record: %w", err)
		}
		if f.Match(adaptor{c}) {
			out.enc = append(out.enc, all.Entry(i)...)
			out.ends = append(out.ends, len(out.enc))
		}
	}
	return out, nil
}

// listing returns ns's listing from the cache, or read from the store and
// kept when no write could have changed the namespace meanwhile.
func (s *Store) listing(ns string) (*Listing, error) {
	l, gen, keep := s.listings.get(ns)
	if l != nil {
		return l, nil
	}
	l = &Listing{}
	err := s.db.View(func(txn *badger.Txn) error {
		return store.EachEncoded(txn, Prefix(ns), func(_, value []byte) error {
			l.add(value)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	// An empty namespace (its containers gone, or about to be deleted)
	// is not kept, here nor, untagged, in the gateway: reading it again
	// finds nothing at no cost, and holding it would keep a namespace's
	// entry for good.
	if keep && l.Len() > 0 {
		l.tag = s.tags.Next()
		if !s.listings.put(ns, l, gen) {
			l.tag = ""
		}
	}
	return l, nil
}

// listings caches each namespace's Listing. Container records change only
// through the Store's own writes, and each write takes its namespace's
// listing out of the cache before it commits and again once it committed;
// while it is under way the namespace is listed from the store and not
// cached, so a list that starts after a write returned, or after the
// write's event was published (which follows the commit), sees it. A
// listing read from the store is kept only when no write began or ended
// anywhere since the read started (gen), else it might predate a commit.
type listings struct {
	mu      sync.Mutex
	byNS    map[string]*Listing
	writing map[string]int // writes under way per namespace
	gen     uint64         // writes begun and ended, all namespaces
}

func (c *listings) get(ns string) (l *Listing, gen uint64, keep bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.writing[ns] > 0 {
		return nil, 0, false
	}
	return c.byNS[ns], c.gen, true
}

func (c *listings) put(ns string, l *Listing, gen uint64) (kept bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen || c.writing[ns] > 0 {
		return false
	}
	if c.byNS == nil {
		c.byNS = map[string]*Listing{}
	}
	c.byNS[ns] = l
	return true
}

// writeBegins is called before a write of ns commits; the write calls the
// function returned once it committed or failed.
func (c *listings) writeBegins(ns string) (ended func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.writing == nil {
		c.writing = map[string]int{}
	}
	c.writing[ns]++
	c.gen++
	delete(c.byNS, ns)
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.writing[ns]--; c.writing[ns] == 0 {
			delete(c.writing, ns)
		}
		c.gen++
		delete(c.byNS, ns)
	}
}
