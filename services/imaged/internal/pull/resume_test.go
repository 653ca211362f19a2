package pull

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"
	"go.uber.org/zap"

	"berth.dev/pkg/events"
	"berth.dev/pkg/namespace"
	"berth.dev/pkg/store"
	"berth.dev/services/imaged/internal/content"
)

func newPuller(t *testing.T) *Puller {
	db, err := store.Open(t.TempDir(), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ob, _ := events.NewOutbox(db, "test")
	cs, err := content.New(t.TempDir(), db, ob)
	if err != nil {
		t.Fatal(err)
	}
	return &Puller{Content: cs}
}

// An interrupted download resumes at the ingest's offset.
func TestWriteFromResumes(t *testing.T) {
	p := newPuller(t)
	ctx := namespace.WithNamespace(context.Background(), "test")
	data := []byte(strings.Repeat("resumable ", 1000))
	dgst := digest.FromBytes(data).String()
	w, err := p.Content.Writer(ctx, "pull-"+dgst, int64(len(data)), dgst)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data[:4000])
	w.Close()
	var asked int64 = -1
	err = p.writeFrom(ctx, dgst, int64(len(data)), func(off int64) (io.ReadCloser, int64, error) {
		asked = off
		return io.NopCloser(bytes.NewReader(data[off:])), off, nil
	}, nil)
	if err != nil || asked != 4000 {
		t.Fatalf("resume asked from %d: %v", asked, err)
	}
	if _, err := p.Content.Info(ctx, dgst); err != nil {
		t.Fatal(err)
	}
}

// A registry that ignores the range sends the whole blob: the ingest
// restarts and still verifies.
func TestWriteFromRestartsWithoutRange(t *testing.T) {
	p := newPuller(t)
	ctx := namespace.WithNamespace(context.Background(), "test")
	data := []byte(strings.Repeat("whole ", 1000))
	dgst := digest.FromBytes(data).String()
	w, _ := p.Content.Writer(ctx, "pull-"+dgst, int64(len(data)), dgst)
	w.Write(data[:100])
	w.Close()
	err := p.writeFrom(ctx, dgst, int64(len(data)), func(int64) (io.ReadCloser, int64, error) {
		return io.NopCloser(bytes.NewReader(data)), 0, nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
}

func TestRangeFetcherAgainstRegistry(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	img, _ := random.Image(4096, 1)
	ref, _ := name.ParseReference(host+"/r/img:1", name.Insecure)
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	d, _ := layers[0].Digest()
	rc, _ := layers[0].Compressed()
	whole, _ := io.ReadAll(rc)
	f := &rangeFetcher{repo: ref.Context(), auth: authn.Anonymous, rt: remote.DefaultTransport}
	size, _ := layers[0].Size()
	body, from, err := f.fetch(context.Background(), d.String(), 10, size)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	got, _ := io.ReadAll(body)
	if !bytes.Equal(got, whole[from:]) {
		t.Fatalf("fetched %d bytes from %d, want the blob's tail", len(got), from)
	}
	t.Logf("registry answered from offset %d", from)
}

// An ingest that holds the whole blob is committed without downloading.
func TestWriteFromCommitsCompleteIngest(t *testing.T) {
	p := newPuller(t)
	ctx := namespace.WithNamespace(context.Background(), "test")
	data := []byte("complete but not committed")
	dgst := digest.FromBytes(data).String()
	w, _ := p.Content.Writer(ctx, "pull-"+dgst, int64(len(data)), dgst)
	w.Write(data)
	w.Close()
	err := p.writeFrom(ctx, dgst, int64(len(data)), func(int64) (io.ReadCloser, int64, error) {
		t.Fatal("downloaded again")
		return nil, 0, nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
}

// A blob is written with its labels, and one already there gains those it
// lacks and keeps its others (the pull labels blobs another pull wrote).
func TestWriteLabelsNewAndExistingBlobs(t *testing.T) {
	p := newPuller(t)
	ctx := namespace.WithNamespace(context.Background(), "test")
	data := []byte("config")
	dgst := digest.FromBytes(data).String()
	if err := p.write(ctx, dgst, int64(len(data)), bytes.NewReader(data), map[string]string{"a": "1"}); err != nil {
		t.Fatal(err)
	}
	if err := p.write(ctx, dgst, int64(len(data)), bytes.NewReader(data), map[string]string{"b": "2"}); err != nil {
		t.Fatal(err)
	}
	info, err := p.Content.Info(ctx, dgst)
	if err != nil || info.Labels["a"] != "1" || info.Labels["b"] != "2" {
		t.Fatalf("labels %v: %v", info.GetLabels(), err)
	}
}
