package transfer

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	transfertypes "github.com/containerd/containerd/api/types/transfer"
	"github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/authn"
	"google.golang.org/protobuf/types/known/anypb"

	"berth.dev/services/imaged/internal/stream"
)

// callback asks the client for registry credentials over its auth stream
// (containerd's AuthRequest/AuthResponse), one question at a time.
type callback struct {
	ctx context.Context
	s   stream.Stream
	mu  sync.Mutex
}

// answerTimeout bounds the wait for a client that never answers.
const answerTimeout = time.Minute

func (c *callback) ask(ref, host string) (*transfertypes.AuthResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, err := stream.Any(&transfertypes.AuthRequest{Host: host, Reference: ref})
	if err != nil {
		return nil, err
	}
	if err := c.s.Send(a); err != nil {
		return nil, fmt.Errorf("ask for credentials for %s: %w", host, err)
	}
	type answer struct {
		a   *anypb.Any
		err error
	}
	got := make(chan answer, 1)
	go func() {
		a, err := c.s.Recv()
		got <- answer{a, err}
	}()
	var ans answer
	select {
	case ans = <-got:
	case <-c.ctx.Done():
		return nil, c.ctx.Err()
	case <-time.After(answerTimeout):
		return nil, fmt.Errorf("no credentials for %s from the client: %w", host, context.DeadlineExceeded)
	}
	if ans.err != nil {
		return nil, fmt.Errorf("credentials for %s: %w", host, ans.err)
	}
	var resp transfertypes.AuthResponse
	if err := ans.a.UnmarshalTo(&resp); err != nil {
		return nil, fmt.Errorf("credentials for %s: %v: %w", host, err, errdefs.ErrInvalidArgument)
	}
	return &resp, nil
}

// forHost returns an authenticator asking once, when first needed.
func (c *callback) forHost(ref, host string) authn.Authenticator {
	return &askOnce{c: c, ref: ref, host: host}
}

type askOnce struct {
	c         *callback
	ref, host string
	once      sync.Once
	cfg       *authn.AuthConfig
	err       error
}

func (a *askOnce) Authorization() (*authn.AuthConfig, error) {
	a.once.Do(func() {
		resp, err := a.c.ask(a.ref, a.host)
		if err != nil {
			a.err = err
			return
		}
		a.cfg = authConfig(resp)
	})
	return a.cfg, a.err
}

// authConfig maps containerd's answer onto go-containerregistry's.
func authConfig(r *transfertypes.AuthResponse) *authn.AuthConfig {
	switch r.AuthType {
	case transfertypes.AuthType_CREDENTIALS:
		return &authn.AuthConfig{Username: r.Username, Password: r.Secret}
	case transfertypes.AuthType_REFRESH:
		return &authn.AuthConfig{IdentityToken: r.Secret}
	case transfertypes.AuthType_HEADER:
		scheme, value, _ := strings.Cut(r.Secret, " ")
		if strings.EqualFold(scheme, "basic") {
			return &authn.AuthConfig{Auth: value}
		}
		return &authn.AuthConfig{RegistryToken: value}
	}
	return &authn.AuthConfig{}
}
