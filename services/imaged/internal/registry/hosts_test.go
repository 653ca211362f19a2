package registry

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestEndpointsMirrorsThenServer(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "docker.io"), 0o755)
	os.WriteFile(filepath.Join(dir, "docker.io", "hosts.toml"), []byte(`server = "https://registry-1.docker.io"
[host."http://127.0.0.1:5000"]
  capabilities = ["pull", "resolve"]
[host."https://push-only.example"]
  capabilities = ["push"]
[host."https://mirror.example/v2"]
  capabilities = ["pull"]
  skip_verify = true
`), 0o644)
	eps, err := Endpoints(dir, "docker.io")
	if err != nil {
		t.Fatal(err)
	}
	want := "[{127.0.0.1:5000 true false} {mirror.example false true} {registry-1.docker.io false false}]"
	if got := fmt.Sprint(eps); got != want {
		t.Fatalf("endpoints %s, want %s", got, want)
	}
	eps, _ = Endpoints(dir, "quay.io")
	if fmt.Sprint(eps) != "[{quay.io false false}]" {
		t.Fatalf("no hosts.toml: %v", eps)
	}
}

func FuzzEndpoints(f *testing.F) {
	f.Add([]byte("server = \"https://r.example\"\n[host.\"http://127.0.0.1:5000\"]\n  capabilities = [\"pull\"]\n"))
	f.Add([]byte("[host.\"ftp://x\"]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "h.example"), 0o755)
		os.WriteFile(filepath.Join(dir, "h.example", "hosts.toml"), data, 0o644)
		eps, err := Endpoints(dir, "h.example")
		if err != nil {
			return
		}
		if len(eps) == 0 {
			t.Fatal("no endpoint and no error")
		}
		for _, ep := range eps {
			if ep.Host == "" {
				t.Fatalf("empty host in %v", eps)
			}
		}
	})
}

func TestPlainHTTPOnlyForTheRegistryItself(t *testing.T) {
	eps := PlainHTTP([]Endpoint{{Host: "mirror.local"}, {Host: "reg.local:5000"}}, "reg.local:5000")
	if eps[0].PlainHTTP || !eps[1].PlainHTTP {
		t.Fatalf("%+v", eps)
	}
}
