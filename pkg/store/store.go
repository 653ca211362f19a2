package store

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"go.uber.org/zap"
)

// Option changes how Open opens a store.
type Option func(*badger.Options)

// WithoutSyncWrites leaves each commit in the page cache instead of
// syncing it: it survives the daemon's crash, not the machine's. For a
// store whose records a reboot makes void (taskd's tasks: their processes
// are gone) and which syncs (DB.Sync) the records that must outlive one.
func WithoutSyncWrites() Option {
	return func(o *badger.Options) { o.SyncWrites = false }
}

// Open opens (creating if needed) the badger database in dir.
func Open(dir string, logger *zap.Logger, with ...Option) (*badger.DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create store dir: %w", err)
	}
	// The memtable is an arena allocated whole and counted as live heap,
	// written into (with its log file) until it flushes: at 1 MiB an idle
	// daemon holds at most about 2.5 MiB of it, and the heap it doubles
	// for the collector stays small. It also bounds a transaction to about
	// 1,600 entries or 150 KiB; removals that can be larger go in batches
	// (DeleteAllThen, UpdateInBatches).
	opts := badger.DefaultOptions(dir).
		WithLogger(badgerLogger{logger.Sugar().Named("badger")}).
		WithSyncWrites(true).
		WithMemTableSize(1 << 20).
		WithNumMemtables(2).
		WithNumLevelZeroTables(2).
		WithNumLevelZeroTablesStall(8).
		WithBaseTableSize(2 << 20).
		WithValueLogFileSize(16 << 20).
		WithValueThreshold(4 << 10).
		WithCompression(options.None).
		WithBlockCacheSize(0).
		WithIndexCacheSize(0).
		WithNumCompactors(2).
		WithNumGoroutines(2).
		WithDetectConflicts(true)
	for _, o := range with {
		o(&opts)
	}
	db, err := openWaitingForLock(opts, logger)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	return db, nil
}

// lockWait is how long Open waits for the database's directory lock.
var lockWait = 10 * time.Second

// openWaitingForLock opens the database, waiting up to lockWait while
// another process holds its directory lock. A daemon restarted at once
// after a crash (systemd's Restart=, a supervisor's kill -9) can find
// the lock still held for a moment: by its predecessor still being torn
// down, or by a child forked just before the crash that has not yet
// exec'd and closed its copy of the lock's descriptor.
func openWaitingForLock(opts badger.Options, logger *zap.Logger) (*badger.DB, error) {
	deadline := time.Now().Add(lockWait)
	warned := false
	for {
		db, err := badger.Open(opts)
		// badger formats the flock error into its message, unwrapped.
		if err == nil || !strings.Contains(err.Error(), "Cannot acquire directory lock") || time.Now().After(deadline) {
			return db, err
		}
		if !warned {
			logger.Warn("store locked by another process, waiting", zap.String("dir", opts.Dir), zap.Duration("up_to", lockWait))
			warned = true
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// badgerLogger routes badger's chatter to zap, demoting its info lines to
// debug: they describe compactions, not events an operator acts on.
type badgerLogger struct{ s *zap.SugaredLogger }

func (l badgerLogger) Errorf(f string, a ...any)   { l.s.Errorf(f, a...) }
func (l badgerLogger) Warningf(f string, a ...any) { l.s.Warnf(f, a...) }
func (l badgerLogger) Infof(f string, a ...any)    { l.s.Debugf(f, a...) }
func (l badgerLogger) Debugf(string, ...any)       {}
