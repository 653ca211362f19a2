package registry

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/authn"
)

// Credentials come from a docker config.json-style file:
// {"auths": {"host": {"auth": base64(user:password)}}}.
func Credentials(path, host string) authn.Authenticator {
	data, err := os.ReadFile(path)
	if err != nil {
		return authn.Anonymous
	}
	var cfg struct {
		Auths map[string]struct {
			Auth     string `json:"auth"`
			Username string `json:"username"`
			Password string `json:"password"`
		} `json:"auths"`
	}
	if json.Unmarshal(data, &cfg) != nil {
		return authn.Anonymous
	}
	for key, a := range cfg.Auths {
		k := strings.TrimPrefix(strings.TrimPrefix(key, "https://"), "http://")
		if strings.TrimSuffix(k, "/") != host && !(host == "docker.io" && strings.Contains(k, "index.docker.io")) {
			continue
		}
		if a.Username != "" {
			return &authn.Basic{Username: a.Username, Password: a.Password}
		}
		if raw, err := base64.StdEncoding.DecodeString(a.Auth); err == nil {
			if user, pass, ok := strings.Cut(string(raw), ":"); ok {
				return &authn.Basic{Username: user, Password: pass}
			}
		}
	}
	return authn.Anonymous
}

// Given are credentials that came with a request (the CRI's AuthConfig).
// It returns nil when they are all empty, so the caller falls back to the
// auth file.
type Given struct {
	Username, Password, Auth, IdentityToken, RegistryToken string
}

// Authenticator turns the given credentials into one for
// go-containerregistry, or nil when none were given.
func (g Given) Authenticator() (authn.Authenticator, error) {
	cfg := authn.AuthConfig{Username: g.Username, Password: g.Password, IdentityToken: g.IdentityToken, RegistryToken: g.RegistryToken}
	if g.Auth != "" && cfg.Username == "" {
		raw, err := base64.StdEncoding.DecodeString(g.Auth)
		if err != nil {
			return nil, fmt.Errorf("auth is not base64: %v: %w", err, errdefs.ErrInvalidArgument)
		}
		user, pass, ok := strings.Cut(string(raw), ":")
		if !ok {
			return nil, fmt.Errorf("auth is not user:password: %w", errdefs.ErrInvalidArgument)
		}
		cfg.Username, cfg.Password = user, pass
	}
	if cfg == (authn.AuthConfig{}) {
		return nil, nil
	}
	return authn.FromConfig(cfg), nil
}
