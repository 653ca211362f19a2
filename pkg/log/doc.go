// Package log carries a zap logger in the context, so that every layer of a
// daemon logs with the fields of the request it serves (namespace, id,
// method) without a global logger.
package log
