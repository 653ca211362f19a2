// Package content is imaged's content store: blobs addressed by digest,
// stored once per node under blobs/<algorithm>/<hex> and made visible per
// namespace by records in imaged's badger store; ingests under ingest/<ref>
// that can be resumed, are locked to one writer at a time, and only become
// blobs once their digest and size are verified, synced and renamed into
// place. A partial blob is never visible.
package content
