// Package crilog reads container logs in the Kubernetes CRI format that
// Berth's shim writes for a crilog:// stdio URI, one entry a line:
//
//	2026-01-02T03:04:05.123456789Z stdout F hello
//
// where P marks a partial line continued by the next entry and F a full
// one. It prints them (with or without timestamps, the last N lines) and
// follows a file as it grows and across rotation.
package crilog
