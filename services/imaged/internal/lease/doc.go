// Package lease keeps leases: named holds on resources (content, snapshots,
// ingests) that keep them from garbage collection while a client works,
// for example during a pull before the image record exists.
package lease
