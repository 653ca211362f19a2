// Package store opens the badger database a daemon keeps its records in,
// sized for a node daemon rather than a database server: small memtables,
// no block cache, synchronous writes so that an acknowledged change (and its
// outbox event) survives a crash.
package store
