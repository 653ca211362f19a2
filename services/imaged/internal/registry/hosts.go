package registry

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/pelletier/go-toml/v2"
)

// Endpoint is one place to pull from.
type Endpoint struct {
	// Host is host[:port] as the registry API is addressed.
	Host string
	// PlainHTTP talks http:// instead of https://.
	PlainHTTP bool
	// SkipVerify accepts any TLS certificate.
	SkipVerify bool
}

type hostsFile struct {
	Server string `toml:"server"`
	Host   map[string]struct {
		Capabilities []string `toml:"capabilities"`
		SkipVerify   bool     `toml:"skip_verify"`
	} `toml:"host"`
}

// Endpoints returns where to pull host's images from: the mirrors listed in
// <dir>/<host>/hosts.toml that can pull, then its server (by default the
// host itself over https, docker.io meaning registry-1.docker.io).
func Endpoints(dir, host string) ([]Endpoint, error) {
	def := Endpoint{Host: host}
	if host == "docker.io" {
		def.Host = "registry-1.docker.io"
	}
	data, err := os.ReadFile(filepath.Join(dir, host, "hosts.toml"))
	if os.IsNotExist(err) {
		return []Endpoint{def}, nil
	}
	if err != nil {
		return nil, err
	}
	var f hostsFile
	if err := toml.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s/hosts.toml: %v: %w", host, err, errdefs.ErrInvalidArgument)
	}
	var out []Endpoint
	urls := make([]string, 0, len(f.Host))
	for u := range f.Host {
		urls = append(urls, u)
	}
	// TOML tables have no order once decoded; keep the file's.
	sort.Slice(urls, func(i, j int) bool {
		return strings.Index(string(data), urls[i]) < strings.Index(string(data), urls[j])
	})
	for _, u := range urls {
		h := f.Host[u]
		if len(h.Capabilities) > 0 && !contains(h.Capabilities, "pull") {
			continue
		}
		ep, err := parseURL(u)
		if err != nil {
			return nil, err
		}
		ep.SkipVerify = h.SkipVerify
		out = append(out, ep)
	}
	if f.Server != "" {
		ep, err := parseURL(f.Server)
		if err != nil {
			return nil, err
		}
		out = append(out, ep)
	} else {
		out = append(out, def)
	}
	return out, nil
}

// PlainHTTP returns eps with host's own endpoint switched to http://, for a
// pull asked to reach a registry without TLS; mirrors keep their scheme.
func PlainHTTP(eps []Endpoint, host string) []Endpoint {
	out := make([]Endpoint, len(eps))
	for i, ep := range eps {
		if ep.Host == host {
			ep.PlainHTTP = true
		}
		out[i] = ep
	}
	return out
}

func parseURL(u string) (Endpoint, error) {
	var ep Endpoint
	switch {
	case strings.HasPrefix(u, "http://"):
		ep = Endpoint{Host: hostOf(u[len("http://"):]), PlainHTTP: true}
	case strings.HasPrefix(u, "https://"):
		ep = Endpoint{Host: hostOf(u[len("https://"):])}
	}
	if ep.Host == "" || strings.ContainsAny(ep.Host, " \t\n@?#") {
		return Endpoint{}, fmt.Errorf("hosts.toml: %q is not an http(s) URL with a host: %w", u, errdefs.ErrInvalidArgument)
	}
	return ep, nil
}

func hostOf(s string) string {
	h, _, _ := strings.Cut(s, "/")
	return h
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
