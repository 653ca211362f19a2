package format

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0B", 999: "999B", 1000: "1kB", 1234567: "1.23MB", 5 << 30: "5.37GB"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
	if got := BinarySize(3 << 20); got != "3MiB" {
		t.Errorf("BinarySize = %q", got)
	}
}

func TestAgo(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for d, want := range map[time.Duration]string{
		0: "Less than a second ago", 30 * time.Second: "30 seconds ago", 70 * time.Second: "About a minute ago",
		3 * time.Minute: "3 minutes ago", 5 * time.Hour: "5 hours ago", 72 * time.Hour: "3 days ago",
	} {
		if got := Ago(now.Add(-d), now); got != want {
			t.Errorf("Ago(-%v) = %q, want %q", d, got, want)
		}
	}
	if Ago(time.Time{}, now) != "" {
		t.Error("zero time should render empty")
	}
}

func TestTableAligns(t *testing.T) {
	var b bytes.Buffer
	tb := NewTable(&b, "NAME", "SIZE")
	tb.Row("a", 1)
	tb.Row("longer-name", "2kB")
	tb.Flush()
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 || strings.Index(lines[0], "SIZE") != strings.Index(lines[2], "2kB") {
		t.Fatalf("not aligned:\n%s", b.String())
	}
}
