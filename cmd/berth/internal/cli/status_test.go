package cli

import (
	"testing"
	"time"
)

func TestStateDescribe(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	created := now.Add(-time.Hour)
	for _, tc := range []struct {
		st   state
		want string
	}{
		{state{Status: "running"}, "Up About an hour"},
		{state{Status: "running", StartedAt: now.Add(-3 * time.Minute)}, "Up 3 minutes"},
		{state{Status: "exited", ExitCode: 3, ExitedAt: now.Add(-10 * time.Second)}, "Exited (3) 10 seconds ago"},
		{state{Status: "exited", ExitCode: 137}, "Exited (137)"},
		{state{Status: "created"}, "Created"},
	} {
		if got := tc.st.describe(created, now); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.st, got, tc.want)
		}
	}
}
