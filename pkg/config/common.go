package config

import (
	"fmt"
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

// Modes of the top-level directories, as containerd has them: the root holds
// every image and database and is root's alone; the state dir holds the
// sockets and the containers' bundles, which others may need to traverse.
const (
	RootMode  os.FileMode = 0o700
	StateMode os.FileMode = 0o711
)

// MakeDirs creates the root and the state directory with their modes.
func (c Common) MakeDirs() error {
	if err := mkdir(c.Root, RootMode); err != nil {
		return err
	}
	return mkdir(c.State, StateMode)
}

// DataDir returns (and creates) a daemon's directory under the root.
func (c Common) DataDir(daemon string) (string, error) {
	if err := mkdir(c.Root, RootMode); err != nil {
		return "", err
	}
	dir := filepath.Join(c.Root, daemon)
	return dir, mkdir(dir, 0o711)
}

// mkdir creates dir (and its parents) with exactly perm, whatever the umask.
// An existing directory keeps its mode: BERTH_ROOT or BERTH_STATE may name a
// directory the operator set up on purpose.
func mkdir(dir string, perm os.FileMode) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, perm); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	return os.Chmod(dir, perm)
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
