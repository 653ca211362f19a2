package log

import (
	"context"
	"fmt"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

type loggerKey struct{}

// nop is returned by G when no logger was attached, so libraries may log
// unconditionally.
var nop = zap.NewNop()

// G returns the logger carried by ctx.
func G(ctx context.Context) *zap.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*zap.Logger); ok {
		return l
	}
	return nop
}

// WithLogger returns a context carrying l.
func WithLogger(ctx context.Context, l *zap.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// With returns a context whose logger has the extra fields.
func With(ctx context.Context, fields ...zap.Field) context.Context {
	return WithLogger(ctx, G(ctx).With(fields...))
}

// New builds the JSON logger a daemon writes to stderr (journald captures it).
// level is one of debug, info, warn, error.
func New(daemon, level string) (*zap.Logger, error) {
	var lvl zapcore.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	cfg := zap.NewProductionConfig()
	cfg.Level = zap.NewAtomicLevelAt(lvl)
	cfg.Sampling = nil
	cfg.EncoderConfig.TimeKey = "time"
	cfg.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	l, err := cfg.Build()
	if err != nil {
		return nil, err
	}
	return l.With(zap.String("daemon", daemon)), nil
}
