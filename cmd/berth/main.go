// Command berth is the client a person uses every day against a Berth node:
// images, containers, logs, exec, networking, events and the node's health,
// over the node socket (containerd's API plus Berth's own berth.* services).
// Run `berth --help` for the commands.
package main

import (
	"os"

	"berth.dev/cmd/berth/internal/cli"
)

// Stamped by make build (-X), as for every Berth binary.
var revision, release string

func main() {
	if release != "" {
		cli.Version = release
	}
	cli.Revision = revision
	os.Exit(cli.Main(os.Args[1:]))
}
