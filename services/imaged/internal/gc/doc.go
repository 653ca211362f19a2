// Package gc is imaged's garbage collector: mark and sweep over the content
// of each namespace. Roots are image targets, the resources of unexpired
// leases and content labelled containerd.io/gc.root; edges are
// containerd.io/gc.ref.content* labels and the children a manifest or index
// names. Unmarked content is deleted (with its /content/delete event).
//
// Snapshots live in snapshotd and containers in taskd. imaged computes the
// snapshots its marked content references (containerd.io/gc.ref.snapshot.*
// labels) plus those leases hold, asks taskd which snapshots containers use,
// and asks snapshotd to remove the rest, children first. The snapshots are
// listed before the mark, which makes the split safe without a lock held
// across both daemons (see Snapshots).
package gc
