package config

import (
	"os"
	"path/filepath"
	"strings"
)

// Common holds what every Berth daemon shares.
type Common struct {
	Root     string `env:"BERTH_ROOT" envDefault:"/var/lib/berth" doc:"root of persistent data; each daemon keeps its store under <root>/<daemon>"`
	State    string `env:"BERTH_STATE" envDefault:"/run/berth" doc:"runtime state: sockets, the embedded NATS address and credentials, shim state"`
	LogLevel string `env:"BERTH_LOG_LEVEL" envDefault:"info" doc:"debug, info, warn or error"`
	NATS
}

// Socket returns the path of a daemon's unix socket in the state dir.
func (c Common) Socket(daemon string) string {
	if daemon == "gateway" {
		return filepath.Join(c.State, "berth.sock")
	}
	return filepath.Join(c.State, daemon+".sock")
}

// DataDir returns (and creates) a daemon's directory under the root.
func (c Common) DataDir(daemon string) (string, error) {
	dir := filepath.Join(c.Root, daemon)
	return dir, os.MkdirAll(dir, 0o711)
}

// NATSServers returns the configured external servers, or nil for embedded.
func (c Common) NATSServers() []string { return splitList(c.NATSURL) }

// EmbeddedNATSFile is where the gateway records the address of the NATS
// server it embeds, for the other daemons of the same stack.
func (c Common) EmbeddedNATSFile() string {
	return filepath.Join(c.State, "nats.url")
}

// EmbeddedNATSCredsDir holds the nkey seeds of the embedded server's users,
// one root-only file per daemon, created at the first start after boot.
func (c Common) EmbeddedNATSCredsDir() string {
	return filepath.Join(c.State, "nats")
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
