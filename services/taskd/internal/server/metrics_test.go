package server

import (
	"context"
	"fmt"
	"testing"

	"github.com/containerd/containerd/api/types"
	"github.com/containerd/errdefs"
)

func TestCollectMetricsLeavesOutTasksThatCannotAnswer(t *testing.T) {
	answers := map[string]error{
		"running": nil,
		"deleted": fmt.Errorf("task gone: %w", errdefs.ErrNotFound),
		"exiting": fmt.Errorf("shim connection lost: %w", errdefs.ErrUnavailable),
		"also":    nil,
	}
	metric := func(_ context.Context, id string) (*types.Metric, error) {
		if err := answers[id]; err != nil {
			return nil, err
		}
		return &types.Metric{ID: id}, nil
	}
	got := collectMetrics(context.Background(), []string{"running", "deleted", "exiting", "also"}, metric)
	if len(got) != 2 || got[0].ID != "running" || got[1].ID != "also" {
		t.Fatalf("metrics %v, want running and also", got)
	}
}
