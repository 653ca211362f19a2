// Package format renders what berth prints for people (aligned tables,
// human sizes, ages like "3 minutes ago") and for scripts (JSON, one value
// per line).
package format
