package config

import (
	"bytes"
	"flag"
	"strings"
	"testing"
)

type testConfig struct {
	Common
	Metrics string `env:"BERTH_TEST_METRICS_ADDR" doc:"metrics address"`
	Limit   int    `env:"BERTH_TEST_LIMIT" envDefault:"3" doc:"a limit"`
}

// callerEnv is what a developer's shell may hold: the tests below must not
// see it, since they pass their own environment.
var callerEnv = map[string]string{
	"BERTH_ROOT": "/caller/root", "BERTH_STATE": "/caller/state", "BERTH_LOG_LEVEL": "debug",
	"BERTH_NATS_URL": "nats://caller:4222", "BERTH_TEST_LIMIT": "99",
}

func setCallerEnv(t *testing.T) {
	for k, v := range callerEnv {
		t.Setenv(k, v)
	}
}

func TestLoadEnvThenFlags(t *testing.T) {
	setCallerEnv(t)
	var c testConfig
	var out bytes.Buffer
	environ := map[string]string{"BERTH_ROOT": "/tmp/r", "BERTH_TEST_LIMIT": "7"}
	printed, err := load(&c, &c.Common, flag.NewFlagSet("t", flag.ContinueOnError), []string{"--state", "/tmp/s"}, environ, &out)
	if err != nil || printed {
		t.Fatalf("load: %v printed=%v", err, printed)
	}
	if c.Root != "/tmp/r" || c.State != "/tmp/s" || c.Limit != 7 || c.LogLevel != "info" || c.NATSURL != "" {
		t.Fatalf("unexpected config %+v", c)
	}
	if got := c.Socket("gateway"); got != "/tmp/s/berth.sock" {
		t.Fatalf("gateway socket %q", got)
	}
}

func TestPrintConfig(t *testing.T) {
	setCallerEnv(t)
	var c testConfig
	var out bytes.Buffer
	printed, err := load(&c, &c.Common, flag.NewFlagSet("t", flag.ContinueOnError), []string{"--print-config"}, nil, &out)
	if err != nil || !printed {
		t.Fatalf("load: %v printed=%v", err, printed)
	}
	for _, want := range []string{"BERTH_ROOT=/var/lib/berth", "BERTH_STATE=/run/berth", "BERTH_TEST_LIMIT=3\t# a limit", "BERTH_NATS_URL=\t"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("print-config lacks %q:\n%s", want, out.String())
		}
	}
}

func TestNodeID(t *testing.T) {
	for id, ok := range map[string]bool{"n1": true, "node_2-b": true, "a.b": false, "a*": false, "a>": false, "a b": false, "": true} {
		_, err := NATS{NodeID: id}.Node()
		if (err == nil) != ok {
			t.Errorf("node id %q: %v", id, err)
		}
	}
	if got, err := (NATS{NodeID: "n7"}).Node(); err != nil || got != "n7" {
		t.Fatalf("Node() = %q, %v", got, err)
	}
}

// TestLoadReadsProcessEnvironment: Load itself takes the process's variables.
func TestLoadReadsProcessEnvironment(t *testing.T) {
	setCallerEnv(t)
	var c testConfig
	if _, err := Load(&c, &c.Common, flag.NewFlagSet("t", flag.ContinueOnError), nil, nil); err != nil {
		t.Fatal(err)
	}
	if c.Root != "/caller/root" || c.State != "/caller/state" || c.Limit != 99 || c.NATSServers()[0] != "nats://caller:4222" {
		t.Fatalf("unexpected config %+v", c)
	}
}
