// Package stream is imaged's side of containerd's streaming protocol: the
// streams clients open with containerd.services.streaming.v1.Streaming,
// registered by namespace and id until their call ends, so that a transfer
// naming a stream id finds it (progress, credentials, archive bytes); and
// the byte streams carried on them (Data messages paced by WindowUpdate
// messages from the receiver, as containerd's transfer streams are).
package stream
