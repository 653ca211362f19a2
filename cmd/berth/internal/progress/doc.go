// Package progress shows a server-side pull's progress stream to a person:
// live per-layer bars (bytes, rate, state) on a terminal, one plain line per
// layer event otherwise. It only renders; the stream is read by the caller.
package progress
