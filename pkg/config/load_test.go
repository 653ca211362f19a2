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

func TestLoadEnvThenFlags(t *testing.T) {
	t.Setenv("BERTH_ROOT", "/tmp/r")
	t.Setenv("BERTH_TEST_LIMIT", "7")
	var c testConfig
	var out bytes.Buffer
	printed, err := Load(&c, &c.Common, flag.NewFlagSet("t", flag.ContinueOnError), []string{"--state", "/tmp/s"}, &out)
	if err != nil || printed {
		t.Fatalf("Load: %v printed=%v", err, printed)
	}
	if c.Root != "/tmp/r" || c.State != "/tmp/s" || c.Limit != 7 || c.LogLevel != "info" {
		t.Fatalf("unexpected config %+v", c)
	}
	if got := c.Socket("gateway"); got != "/tmp/s/berth.sock" {
		t.Fatalf("gateway socket %q", got)
	}
}

func TestPrintConfig(t *testing.T) {
	var c testConfig
	var out bytes.Buffer
	printed, err := Load(&c, &c.Common, flag.NewFlagSet("t", flag.ContinueOnError), []string{"--print-config"}, &out)
	if err != nil || !printed {
		t.Fatalf("Load: %v printed=%v", err, printed)
	}
	for _, want := range []string{"BERTH_ROOT=/var/lib/berth", "BERTH_TEST_LIMIT=3\t# a limit", "BERTH_NATS_URL="} {
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
