package bus

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEnsureSeedsCreatesRootOnlyStableSeeds(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nats")
	if err := EnsureSeeds(dir); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v, %v", fi.Mode(), err)
	}
	keys := map[string]string{}
	for _, u := range EmbeddedUsers {
		fi, err := os.Stat(SeedFile(dir, u))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("seed of %s: mode %v, %v", u, fi.Mode(), err)
		}
		pub, err := PublicKey(dir, u)
		if err != nil || !strings.HasPrefix(pub, "U") {
			t.Fatalf("public key of %s: %q %v", u, pub, err)
		}
		keys[u] = pub
	}
	if len(keys) != len(EmbeddedUsers) {
		t.Fatal("users share a key")
	}
	// A second start (the gateway after a daemon, or a restart) keeps them.
	if err := EnsureSeeds(dir); err != nil {
		t.Fatal(err)
	}
	for u, pub := range keys {
		if again, _ := PublicKey(dir, u); again != pub {
			t.Fatalf("seed of %s changed", u)
		}
	}
}

func TestEnsureSeedsRefusesReadableSeeds(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nats")
	if err := EnsureSeeds(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(SeedFile(dir, UserTaskd), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := EnsureSeeds(dir); err == nil {
		t.Fatal("a seed others can read was accepted")
	}
}

func TestCredentialsDirectoryPicksTheUsersFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nats")
	if err := EnsureSeeds(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := credentialsOption(dir, UserImaged); err != nil {
		t.Fatalf("seed in a directory: %v", err)
	}
	if _, err := credentialsOption(dir, "nobody"); err == nil {
		t.Fatal("missing user's credentials accepted")
	}
	bad := filepath.Join(dir, "junk")
	os.WriteFile(bad, []byte("not a key"), 0o600)
	if _, err := credentialsOption(bad, ""); err == nil {
		t.Fatal("junk accepted as credentials")
	}
}
