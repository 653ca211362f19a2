package gc

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/opencontainers/go-digest"
)

func TestChildren(t *testing.T) {
	d1, d2 := digest.FromString("a"), digest.FromString("b")
	manifest := fmt.Sprintf(`{"schemaVersion":2,"config":{"digest":%q},"layers":[{"digest":%q},{"digest":"sha256:bad"}]}`, d1, d2)
	if got := Children([]byte(manifest)); fmt.Sprint(got) != fmt.Sprint([]digest.Digest{d1, d2}) {
		t.Fatalf("manifest children %v", got)
	}
	index := fmt.Sprintf(`{"manifests":[{"digest":%q}]}`, d2)
	if got := Children([]byte(index)); len(got) != 1 || got[0] != d2 {
		t.Fatalf("index children %v", got)
	}
	if got := Children([]byte("\x1f\x8b not json")); got != nil {
		t.Fatalf("layer parsed as a manifest: %v", got)
	}
}

func FuzzChildren(f *testing.F) {
	f.Add([]byte(`{"config":{"digest":"sha256:` + digest.FromString("x").Encoded() + `"},"layers":[]}`))
	f.Add([]byte(`{"manifests":[{"digest":1}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, d := range Children(b) {
			if d.Validate() != nil {
				t.Fatalf("invalid digest %q returned", d)
			}
		}
		if !json.Valid(b) && Children(b) != nil {
			t.Fatal("children from invalid JSON")
		}
	})
}
