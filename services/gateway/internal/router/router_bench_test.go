package router

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"sort"
	"strings"
	"testing"
	"time"

	contentapi "github.com/containerd/containerd/api/services/content/v1"
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

// contentServer stands for imaged's content Write: it answers every
// message with the offset reached, as an ingest does, and keeps nothing.
// For refs starting with "verify" it also answers with the digest of what
// it received so far.
type contentServer struct {
	contentapi.UnimplementedContentServer
}

func (contentServer) Write(ss contentapi.Content_WriteServer) error {
	var offset int64
	h := sha256.New()
	for {
		req, err := ss.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		offset += int64(len(req.Data))
		resp := &contentapi.WriteContentResponse{Action: req.Action, Offset: offset}
		if strings.HasPrefix(req.Ref, "verify") {
			h.Write(req.Data)
			resp.Digest = hex.EncodeToString(h.Sum(nil))
		}
		if err := ss.Send(resp); err != nil {
			return err
		}
	}
}

// benchWrite sends 64 MiB in 1 MiB WRITE messages on one Write stream,
// each answered before the next, as containerd's content writer does.
func benchWrite(b *testing.B, cc *grpc.ClientConn) {
	const total, chunk = 64 << 20, 1 << 20
	data := make([]byte, chunk)
	client := contentapi.NewContentClient(cc)
	b.SetBytes(total)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ws, err := client.Write(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		for off := int64(0); off < total; off += chunk {
			if err := ws.Send(&contentapi.WriteContentRequest{Action: contentapi.WriteAction_WRITE, Ref: "bench", Offset: off, Data: data}); err != nil {
				b.Fatal(err)
			}
			resp, err := ws.Recv()
			if err != nil {
				b.Fatal(err)
			}
			if resp.Offset != off+chunk {
				b.Fatalf("offset %d after writing up to %d", resp.Offset, off+chunk)
			}
		}
		if err := ws.CloseSend(); err != nil {
			b.Fatal(err)
		}
		if _, err := ws.Recv(); !errors.Is(err, io.EOF) {
			b.Fatalf("stream ended with %v", err)
		}
	}
}

// BenchmarkWriteDirect streams content writes to the backend directly.
func BenchmarkWriteDirect(b *testing.B) {
	f := newFixture(b)
	cc, err := grpcclient.Dial(f.backendSock)
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Close()
	benchWrite(b, cc)
}

// BenchmarkWriteViaGateway streams the same writes through the router.
func BenchmarkWriteViaGateway(b *testing.B) {
	f := newFixture(b)
	benchWrite(b, f.client)
}
