// Package snapshot implements Berth's snapshotters with containerd's
// semantics: snapshots named by keys in a namespace, active (writable),
// view (read-only) or committed (an immutable parent for others). Metadata
// lives in snapshotd's badger store; data under <root>/<snapshotter>/<id>.
// Two drivers decide what a snapshot's mounts are: overlayfs (layers stacked
// as lowerdirs, the default) and native (each snapshot a full copy, for
// filesystems without overlay).
package snapshot
