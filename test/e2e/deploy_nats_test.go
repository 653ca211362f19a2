package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"berth.dev/pkg/bus"
	"berth.dev/pkg/bus/embedded"
	"berth.dev/test/e2e/harness"
)

// TestNATSConfigsLoad loads deploy/config's NATS configurations with
// nats-server's own parser (TLS files made up for the test) and checks that
// the permissions they give node1's daemons are the ones Berth's embedded
// server gives its own.
func TestNATSConfigsLoad(t *testing.T) {
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	etc := t.TempDir()
	writeTLSFiles(t, filepath.Join(etc, "nats"))
	for _, name := range []string{"nats.conf", "nats-cluster.conf", "nats-accounts.conf"} {
		data, err := os.ReadFile(filepath.Join(root, "deploy/config", name))
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(data), "/etc/berth/", etc+"/")
		if err := os.WriteFile(filepath.Join(etc, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("NATS_SERVER_NAME", "nats-1")
	for _, name := range []string{"nats.conf", "nats-cluster.conf"} {
		opts, err := server.ProcessConfigFile(filepath.Join(etc, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(opts.Nkeys) == 0 && len(opts.Accounts) == 0 {
			t.Fatalf("%s admits anybody", name)
		}
		checkNode1Permissions(t, name, opts)
		if name == "nats-cluster.conf" {
			if opts.JetStreamDomain != "hub" || opts.LeafNode.Port == 0 || opts.Cluster.Port == 0 || opts.TLSConfig == nil {
				t.Errorf("%s: domain %q leaf port %d cluster port %d tls %v", name, opts.JetStreamDomain, opts.LeafNode.Port, opts.Cluster.Port, opts.TLSConfig != nil)
			}
			if opts.ServerName != "nats-1" {
				t.Errorf("%s: server name %q from the environment", name, opts.ServerName)
			}
		}
	}
}

func checkNode1Permissions(t *testing.T, name string, opts *server.Options) {
	t.Helper()
	var got []*server.Permissions
	for _, u := range opts.Nkeys {
		if u.Permissions != nil {
			got = append(got, u.Permissions)
		}
	}
	for _, user := range []string{bus.UserGateway, bus.UserImaged, bus.UserSnapshotd, bus.UserTaskd} {
		want, err := embedded.ClusterPermissions(user, "node1")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(got, func(p *server.Permissions) bool { return samePermissions(p, want) }) {
			t.Errorf("%s: no user has %s's permissions %v / %v", name, user, want.Publish.Allow, want.Subscribe.Allow)
		}
	}
}

func samePermissions(a, b *server.Permissions) bool {
	same := func(x, y *server.SubjectPermission) bool {
		if x == nil || y == nil {
			return x == y
		}
		xs, ys := slices.Clone(x.Allow), slices.Clone(y.Allow)
		slices.Sort(xs)
		slices.Sort(ys)
		return slices.Equal(xs, ys) && len(x.Deny) == len(y.Deny)
	}
	return same(a.Publish, b.Publish) && same(a.Subscribe, b.Subscribe)
}

// writeTLSFiles makes a CA and a server certificate it signed.
func writeTLSFiles(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "berth test ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "nats-1"}, DNSNames: []string{"nats-1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	for name, block := range map[string]*pem.Block{
		"ca.pem":         {Type: "CERTIFICATE", Bytes: caDER},
		"server.pem":     {Type: "CERTIFICATE", Bytes: der},
		"server-key.pem": {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
