package grpcserver

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"berth.dev/pkg/log"
)

var (
	handled = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "berth_grpc_requests_total",
		Help: "gRPC requests served, by method and status code.",
	}, []string{"method", "code"})
	latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "berth_grpc_request_duration_seconds",
		Help:    "gRPC request duration, by method.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
	}, []string{"method"})
)

func init() {
	prometheus.MustRegister(handled, latency)
}

func observe(ctx context.Context, method string, start time.Time, err error) {
	code := status.Code(err)
	d := time.Since(start)
	handled.WithLabelValues(method, code.String()).Inc()
	latency.WithLabelValues(method).Observe(d.Seconds())
	switch code {
	case codes.OK:
		log.G(ctx).Debug("handled", zap.Duration("duration", d))
	case codes.Unknown, codes.Internal, codes.DataLoss:
		log.G(ctx).Error("request failed", zap.String("code", code.String()), zap.Error(err))
	default:
		log.G(ctx).Debug("request refused", zap.String("code", code.String()), zap.Error(err))
	}
}
