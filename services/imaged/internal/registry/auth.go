package registry

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"

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
