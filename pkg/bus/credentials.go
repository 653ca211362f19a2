package bus

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// The users of the embedded server: one per daemon, and admin for the
// node's operator tools (read-only on events, see embedded.Permissions).
const (
	UserGateway   = "gateway"
	UserImaged    = "imaged"
	UserSnapshotd = "snapshotd"
	UserTaskd     = "taskd"
	UserAdmin     = "admin"
)

// EmbeddedUsers lists every user the embedded server knows.
var EmbeddedUsers = []string{UserGateway, UserImaged, UserSnapshotd, UserTaskd, UserAdmin}

// SeedFile is where user's nkey seed lives in the credentials dir.
func SeedFile(dir, user string) string { return filepath.Join(dir, user+".nk") }

// InboxPrefix is user's reply subject prefix. Each user has its own so that
// the server can let it subscribe to its replies and nobody else's.
func InboxPrefix(user string) string { return "_INBOX_" + user }

// ExternalInboxPrefix is the reply subject prefix of user of node on an
// external cluster, which many nodes share.
func ExternalInboxPrefix(node, user string) string { return InboxPrefix(node + "_" + user) }

// EnsureSeeds creates the credentials dir (0700, owned by this process's
// user) and an nkey seed (0600) for every embedded user that has none. The
// gateway and each daemon call it at start, whichever runs first creates
// the seeds, under a lock, and they stay until the state dir is cleared
// (at boot), so a restarted gateway accepts the daemons that kept running.
func EnsureSeeds(dir string) error {
	if err := secureDir(dir); err != nil {
		return err
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("nats credentials: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("nats credentials lock: %w", err)
	}
	for _, u := range EmbeddedUsers {
		if err := ensureSeed(SeedFile(dir, u)); err != nil {
			return err
		}
	}
	return nil
}

// secureDir refuses a credentials dir another user could have planted or
// can read.
func secureDir(dir string) error {
	// The state dir above is searchable by all, as the node socket in it
	// needs; only this dir is closed.
	if err := os.MkdirAll(filepath.Dir(dir), 0o711); err != nil {
		return fmt.Errorf("nats credentials: %w", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !os.IsExist(err) {
		return fmt.Errorf("nats credentials: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("nats credentials: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("nats credentials: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("nats credentials dir %s is not a directory owned by uid %d", dir, os.Geteuid())
	}
	return nil
}

func ensureSeed(path string) error {
	if fi, err := os.Lstat(path); err == nil {
		if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o077 != 0 {
			return fmt.Errorf("nats seed %s must be a regular file readable only by its owner", path)
		}
		return nil
	}
	kp, err := nkeys.CreateUser()
	if err != nil {
		return fmt.Errorf("nats seed: %w", err)
	}
	seed, err := kp.Seed()
	if err != nil {
		return fmt.Errorf("nats seed: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(seed, '\n'), 0o600); err != nil {
		return fmt.Errorf("nats seed: %w", err)
	}
	return os.Rename(tmp, path)
}

// PublicKey returns the public nkey of user's seed.
func PublicKey(dir, user string) (string, error) {
	seed, err := os.ReadFile(SeedFile(dir, user))
	if err != nil {
		return "", fmt.Errorf("nats seed of %s: %w", user, err)
	}
	kp, err := nkeys.ParseDecoratedNKey(seed)
	if err != nil {
		return "", fmt.Errorf("nats seed of %s: %w", user, err)
	}
	defer kp.Wipe()
	return kp.PublicKey()
}

// EmbeddedAuth returns the options that log user in to the embedded server:
// its nkey, and its own inbox prefix. Operator tools use UserAdmin.
func EmbeddedAuth(dir, user string) ([]nats.Option, error) {
	nk, err := nats.NkeyOptionFromSeed(SeedFile(dir, user))
	if err != nil {
		return nil, fmt.Errorf("nats credentials of %s: %w", user, err)
	}
	return []nats.Option{nk, nats.CustomInboxPrefix(InboxPrefix(user))}, nil
}
