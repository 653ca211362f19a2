package cri

import (
	"testing"

	"github.com/containerd/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestContainerLogPath(t *testing.T) {
	for _, tc := range []struct {
		dir, rel, want string
		bad            bool
	}{
		{"/var/log/pods/x", "c/0.log", "/var/log/pods/x/c/0.log", false},
		{"/var/log/pods/x", "", "", false},
		{"/var/log/pods/x", "/abs.log", "", true},
		{"/var/log/pods/x", "../../etc/passwd", "", true},
		{"", "rel.log", "", true},
		{"", "/abs/0.log", "/abs/0.log", false},
	} {
		got, err := containerLogPath(tc.dir, tc.rel)
		if tc.bad {
			if !errdefs.IsInvalidArgument(err) {
				t.Errorf("%q %q: got %q %v, want InvalidArgument", tc.dir, tc.rel, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q %q: got %q %v, want %q", tc.dir, tc.rel, got, err, tc.want)
		}
	}
}

func TestSelects(t *testing.T) {
	labels := map[string]string{"app": "web", "tier": "front"}
	if !selects(nil, labels) || !selects(map[string]string{"app": "web"}, labels) {
		t.Error("matching selector refused")
	}
	if selects(map[string]string{"app": "db"}, labels) || selects(map[string]string{"zone": ""}, labels) {
		t.Error("non-matching selector accepted")
	}
}

func TestResolvConf(t *testing.T) {
	b, err := resolvConf(&runtimeapi.DNSConfig{Servers: []string{"10.0.0.10", "10.0.0.11"}, Searches: []string{"a.svc", "svc"}, Options: []string{"ndots:5"}})
	want := "nameserver 10.0.0.10\nnameserver 10.0.0.11\nsearch a.svc svc\noptions ndots:5\n"
	if err != nil || string(b) != want {
		t.Fatalf("got %q %v, want %q", b, err, want)
	}
	if _, err := resolvConf(&runtimeapi.DNSConfig{Servers: []string{"1.1.1.1\nnameserver evil"}}); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("newline in a server: %v", err)
	}
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]int{"": 15, "SIGTERM": 15, "SIGQUIT": 3, "KILL": 9, "2": 2, "bogus": 15} {
		if got := int(parseSignal(in)); got != want {
			t.Errorf("%q: got %d, want %d", in, got, want)
		}
	}
}
