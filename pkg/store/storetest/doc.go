// Package storetest opens throwaway record stores for the unit tests of
// every daemon: a badger database sized and synced as store.Open makes it
// for production, in a temporary directory, with the outbox the daemon's
// stores record their events through, all closed when the test ends. It
// owns no records and knows no daemon.
package storetest
