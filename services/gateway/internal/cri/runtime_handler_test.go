package cri

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/containerd/containerd/api/types/runc/options"
	"github.com/containerd/typeurl/v2"
)

func TestRuntimeHandlersNameTheirBinary(t *testing.T) {
	s := &RuntimeService{}
	if r := s.runtime(""); r.Name != runcRuntime || r.Options != nil {
		t.Fatalf("default handler: %+v, want taskd's default runtime", r)
	}
	for _, h := range []string{handlerRunc, handlerCrun} {
		r := s.runtime(h)
		v, err := typeurl.UnmarshalAny(r.Options)
		if err != nil {
			t.Fatal(err)
		}
		if o := v.(*options.Options); o.BinaryName != h || r.Name != runcRuntime {
			t.Fatalf("handler %q: runtime %s, binary %q", h, r.Name, o.BinaryName)
		}
	}
	s.SystemdCgroup = true
	v, _ := typeurl.UnmarshalAny(s.runtime("").Options)
	if o := v.(*options.Options); !o.SystemdCgroup || o.BinaryName != "" {
		t.Fatalf("systemd cgroups on the default handler: %+v", o)
	}
	// The CRI's own default handler (BERTH_CRI_DEFAULT_RUNTIME) names its
	// binary for pods that ask for none.
	s.DefaultHandler = handlerRunc
	v, _ = typeurl.UnmarshalAny(s.runtime("").Options)
	if o := v.(*options.Options); o.BinaryName != handlerRunc || !o.SystemdCgroup {
		t.Fatalf("CRI default handler runc: %+v", o)
	}
}

func TestCrunHandlerOnlyWhereInstalled(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PATH", dir)
	if !KnownHandler("") || !KnownHandler(handlerRunc) || KnownHandler(handlerCrun) || KnownHandler("kata") {
		t.Fatalf("handlers without crun: %q", Handlers())
	}
	if err := os.WriteFile(filepath.Join(dir, "crun"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if !KnownHandler(handlerCrun) {
		t.Fatalf("handlers with crun: %q", Handlers())
	}
}
