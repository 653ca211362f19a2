// Package config loads a daemon's configuration from the environment
// (caarlos0/env), lets the usual flags override it, and prints the result
// with every variable's documentation for --print-config.
//
// A daemon's config is a struct: each field has an `env` tag, an optional
// `envDefault`, and a `doc` tag saying what it is for. Nested structs use
// `envPrefix`.
package config
