// Package grpcclient dials another Berth daemon's unix socket. It is the one
// place where gRPC status codes become errdefs errors again, so a daemon
// calling another sees errdefs.ErrNotFound, not a status.
package grpcclient
