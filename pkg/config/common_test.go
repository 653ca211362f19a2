package config

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestMakeDirsModes(t *testing.T) {
	// A restrictive umask must not change the modes, nor a lax one.
	for _, umask := range []int{0o022, 0o077, 0} {
		old := syscall.Umask(umask)
		base := t.TempDir()
		c := Common{Root: filepath.Join(base, "lib", "berth"), State: filepath.Join(base, "run", "berth")}
		err := c.MakeDirs()
		var dataDir string
		if err == nil {
			dataDir, err = c.DataDir("imaged")
		}
		syscall.Umask(old)
		if err != nil {
			t.Fatal(err)
		}
		if got := mode(t, c.Root); got != 0o700 {
			t.Errorf("umask %03o: root mode %v, want 0700", umask, got)
		}
		if got := mode(t, c.State); got != 0o711 {
			t.Errorf("umask %03o: state mode %v, want 0711", umask, got)
		}
		if got := mode(t, dataDir); got != 0o711 {
			t.Errorf("umask %03o: data dir mode %v, want 0711", umask, got)
		}
	}
}

func TestDataDirCreatesRootPrivate(t *testing.T) {
	c := Common{Root: filepath.Join(t.TempDir(), "root")}
	if _, err := c.DataDir("taskd"); err != nil {
		t.Fatal(err)
	}
	if got := mode(t, c.Root); got != 0o700 {
		t.Fatalf("root created by DataDir has mode %v, want 0700", got)
	}
}

func TestMakeDirsKeepsAnExistingDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	c := Common{Root: dir, State: filepath.Join(dir, "state")}
	if err := c.MakeDirs(); err != nil {
		t.Fatal(err)
	}
	if got := mode(t, dir); got != 0o755 {
		t.Fatalf("existing root's mode changed to %v", got)
	}
}
