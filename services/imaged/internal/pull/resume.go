package pull

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// rangeFetcher fetches blobs from a registry, whole or the rest of one
// with a Range request, so a download cut short resumes where its ingest
// stopped. It leaves verification to the ingest, which hashes as it
// writes: a blob is hashed once.
type rangeFetcher struct {
	repo name.Repository
	auth authn.Authenticator
	rt   http.RoundTripper

	once   sync.Once
	authed http.RoundTripper
	err    error
}

// fetch returns the blob (size bytes) from offset, or from 0 when the
// registry does not honour the range.
func (f *rangeFetcher) fetch(ctx context.Context, dgst string, offset, size int64) (io.ReadCloser, int64, error) {
	// One authenticated transport (one ping, one token) for every blob.
	f.once.Do(func() {
		f.authed, f.err = transport.NewWithContext(ctx, f.repo.Registry, f.auth, f.rt, []string{f.repo.Scope(transport.PullScope)})
	})
	rt, err := f.authed, f.err
	if err != nil {
		return nil, 0, err
	}
	url := fmt.Sprintf("%s://%s/v2/%s/blobs/%s", f.repo.Registry.Scheme(), f.repo.RegistryStr(), f.repo.RepositoryStr(), dgst)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, 0, err
	}
	if offset > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-"+strconv.FormatInt(size-1, 10))
	}
	client := &http.Client{Transport: rt}
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	if resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && offset > 0 {
		resp.Body.Close()
		req.Header.Del("Range")
		if resp, err = client.Do(req); err != nil {
			return nil, 0, err
		}
	}
	switch resp.StatusCode {
	case http.StatusPartialContent:
		return resp.Body, offset, nil
	case http.StatusOK:
		return resp.Body, 0, nil
	}
	resp.Body.Close()
	return nil, 0, fmt.Errorf("blob %s: registry answered %s", dgst, resp.Status)
}
