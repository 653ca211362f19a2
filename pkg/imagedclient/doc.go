// Package imagedclient is the one client other daemons use to reach imaged:
// reading blobs from its content store and holding resources under the
// caller's lease.
package imagedclient
