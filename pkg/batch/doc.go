// Package batch packs a server stream's messages several to a gRPC message
// on the way from a daemon to the gateway, which unpacks them again for the
// client: a stream of many small messages (a 500-container ListStream) then
// crosses the daemon and the gateway's receiving side as a few frames
// instead of hundreds, each of which costs both processes a wake-up. Clients
// of the node socket still receive exactly the messages the daemon would
// have sent one by one. It owns the wire format of a batch and the metadata
// asking for one, not which methods use it (the gateway's router and the
// daemon's handler decide that).
package batch
