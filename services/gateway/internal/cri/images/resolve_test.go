package images

import (
	"strings"
	"testing"

	imagesapi "github.com/containerd/containerd/api/services/images/v1"
	"github.com/opencontainers/go-digest"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func testImages() []*Image {
	a := &Image{ID: "sha256:" + repeat("ab", 32)}
	for _, name := range []string{"docker.io/library/busybox:latest", "docker.io/library/busybox:1.36",
		"docker.io/library/busybox@sha256:" + repeat("01", 32), a.ID} {
		addRecord(a, &imagesapi.Image{Name: name, Labels: map[string]string{PinnedLabel: "pinned"}})
	}
	b := &Image{ID: "sha256:" + repeat("ac", 32)}
	addRecord(b, &imagesapi.Image{Name: "registry.k8s.io/pause:3.10"})
	return []*Image{a, b}
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}

func TestMatch(t *testing.T) {
	all := testImages()
	for _, tc := range []struct {
		ref  string
		want int // index in all, -1 for none
	}{
		{"busybox", 0},
		{"busybox:latest", 0},
		{"docker.io/library/busybox:1.36", 0},
		{"library/busybox:1.36", 0},
		{"busybox@sha256:" + repeat("01", 32), 0},
		{"sha256:" + repeat("ab", 32), 0},
		{repeat("ab", 32), 0},
		{"abab", 0},
		{"aba", 0},
		{"a", -1},     // ambiguous prefix
		{"ac", 1},     // unique prefix
		{"pause", -1}, // :latest is not there
		{"registry.k8s.io/pause:3.10", 1},
		{"busybox:1.37", -1},
		{"sha256:" + repeat("cd", 32), -1},
		{"Not A Ref!", -1},
	} {
		got := match(all, tc.ref)
		switch {
		case tc.want < 0 && got != nil:
			t.Errorf("match(%q) = %s, want none", tc.ref, got.ID)
		case tc.want >= 0 && got != all[tc.want]:
			t.Errorf("match(%q) = %v, want %s", tc.ref, got, all[tc.want].ID)
		}
	}
}

func TestAddRecordSortsNames(t *testing.T) {
	img := testImages()[0]
	if len(img.RepoTags) != 2 || len(img.RepoDigests) != 1 {
		t.Fatalf("tags %v digests %v", img.RepoTags, img.RepoDigests)
	}
	if img.Name != "docker.io/library/busybox:latest" {
		t.Errorf("name = %q, want the first tag", img.Name)
	}
	if !img.pinned {
		t.Error("pinned label was not seen")
	}
	digestOnly := &Image{ID: "sha256:" + repeat("ee", 32)}
	addRecord(digestOnly, &imagesapi.Image{Name: "docker.io/library/busybox@sha256:" + repeat("01", 32)})
	addRecord(digestOnly, &imagesapi.Image{Name: "docker.io/library/busybox:tag"})
	if digestOnly.Name != "docker.io/library/busybox:tag" {
		t.Errorf("name = %q, want the tag over the digest", digestOnly.Name)
	}
}

func TestUser(t *testing.T) {
	for _, tc := range []struct {
		in   string
		uid  int64
		name string
	}{
		{"", -1, ""},
		{"0", 0, ""},
		{"1000:1000", 1000, ""},
		{"nobody", -1, "nobody"},
		{"www-data:www-data", -1, "www-data"},
	} {
		uid, name := user(tc.in)
		if (uid == nil) != (tc.uid < 0) || (uid != nil && *uid != tc.uid) || name != tc.name {
			t.Errorf("user(%q) = %v, %q; want %d, %q", tc.in, uid, name, tc.uid, tc.name)
		}
	}
}

func TestChainID(t *testing.T) {
	a, b := digest.FromString("a"), digest.FromString("b")
	if got := chainID([]digest.Digest{a}); got != a.String() {
		t.Errorf("one layer: %s, want its diff id", got)
	}
	want := digest.FromString(a.String() + " " + b.String()).String()
	if got := chainID([]digest.Digest{a, b}); got != want {
		t.Errorf("two layers: %s, want %s", got, want)
	}
}

func TestRegistryAuth(t *testing.T) {
	if registryAuth(nil) != nil {
		t.Error("nil auth sent")
	}
	if got := registryAuth(&runtimeapi.AuthConfig{ServerAddress: "x"}); got != nil {
		t.Errorf("an address alone sent credentials %v", got)
	}
	if got := registryAuth(&runtimeapi.AuthConfig{Username: "u", Password: "p"}); got.GetUsername() != "u" || got.GetPassword() != "p" {
		t.Errorf("got %v", got)
	}
}

func TestToRemove(t *testing.T) {
	img := testImages()[0] // tags busybox:latest and :1.36, one digest
	digestRef := "docker.io/library/busybox@sha256:" + repeat("01", 32)
	for _, tc := range []struct {
		ref  string
		want []string
	}{
		{"busybox:1.36", []string{"docker.io/library/busybox:1.36"}},
		{"busybox", []string{"docker.io/library/busybox:latest"}},
		{digestRef, []string{digestRef}},
		{img.ID, append(append([]string{}, img.RepoTags...), digestRef, img.ID)},
		{"abab", append(append([]string{}, img.RepoTags...), digestRef, img.ID)},
	} {
		if got := toRemove(img, tc.ref); strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("toRemove(%q) = %v, want %v", tc.ref, got, tc.want)
		}
	}
	last := &Image{ID: "sha256:" + repeat("ef", 32)}
	addRecord(last, &imagesapi.Image{Name: "docker.io/library/x:1"})
	addRecord(last, &imagesapi.Image{Name: "docker.io/library/x@sha256:" + repeat("02", 32)})
	if got := toRemove(last, "x:1"); len(got) != 3 || got[2] != last.ID {
		t.Errorf("removing the last tag removes %v, want every record", got)
	}
}
