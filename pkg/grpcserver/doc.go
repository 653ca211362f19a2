// Package grpcserver builds the gRPC server every Berth daemon serves on its
// unix socket. Its interceptors are the one place where a request's
// namespace and logger enter the context and where errdefs errors become
// gRPC status codes, so handlers return plain wrapped errors, and where a
// handler's panic is logged with its stack and answered with Internal
// instead of ending the daemon. Its codec sends an Encoded message (an
// answer a handler keeps encoded) as it is.
package grpcserver
