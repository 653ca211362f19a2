package listcache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync/atomic"

	"google.golang.org/grpc/metadata"
)

// Metadata keys. The gateway sets Held alone (it forwards none of its
// clients' metadata under it); Tag and Unchanged are the daemon's
// header, which the gateway does not pass on.
const (
	// Held is the tag of the listing the gateway holds, in the request
	// ("-" when it holds none: the gateway asks for a tag).
	Held = "berth-listing-held"
	// Tag is the tag of the listing answered, in the daemon's header;
	// absent when the answer is not one to keep (filtered, or read while
	// the records changed).
	Tag = "berth-listing-tag"
	// Unchanged, "1" in the daemon's header, says the held listing is
	// still the answer: no message follows.
	Unchanged = "berth-listing-unchanged"
)

// None is Held's value when the gateway holds no listing.
const None = "-"

// Asked returns the tag the caller of ctx holds (None for none) and
// whether it keeps listings at all: only then does the daemon tag its
// answer.
func Asked(ctx context.Context) (held string, ok bool) {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get(Held); len(v) > 0 {
		return v[0], true
	}
	return "", false
}

// Tagger makes tags unique to one daemon process: a restarted daemon
// never answers "unchanged" to a tag of its predecessor.
type Tagger struct {
	process string
	n       atomic.Uint64
}

// NewTagger returns a tagger for this process.
func NewTagger() *Tagger {
	b := make([]byte, 8)
	rand.Read(b) //nolint:errcheck // crypto/rand.Read does not fail
	return &Tagger{process: hex.EncodeToString(b)}
}

// Next returns a new tag.
func (t *Tagger) Next() string {
	return t.process + "-" + strconv.FormatUint(t.n.Add(1), 10)
}
