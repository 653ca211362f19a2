package router

import (
	"context"
	"sort"
	"testing"
	"time"

	versionapi "github.com/containerd/containerd/api/services/version/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"berth.dev/pkg/grpcclient"
)

// benchUnary measures a unary call and reports the median and p99 besides
// the mean, since the gateway's goal is stated at the median.
func benchUnary(b *testing.B, cc *grpc.ClientConn) {
	client := versionapi.NewVersionClient(cc)
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if _, err := client.Version(ctx, &emptypb.Empty{}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkUnaryDirect calls the backend daemon's socket directly.
func BenchmarkUnaryDirect(b *testing.B) {
	f := newFixture(b)
	cc, err := grpcclient.Dial(f.backendSock)
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Close()
	benchUnary(b, cc)
}

// BenchmarkUnaryViaGateway makes the same call through the router.
func BenchmarkUnaryViaGateway(b *testing.B) {
	f := newFixture(b)
	benchUnary(b, f.client)
}
