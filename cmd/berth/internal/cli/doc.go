// Package cli holds berth's commands: one file per command group, each
// turning flags into calls on the node socket through containerd's Go
// client or Berth's own APIs, and the answers into tables or JSON. Errors
// end up in one place (errors.go) that says what a person should do and
// picks docker's exit codes.
package cli
