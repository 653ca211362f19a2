// Command berth is the client a person uses every day against a Berth node:
// images, containers, logs, exec, networking, events and the node's health,
// over the node socket (containerd's API plus Berth's own berth.* services).
// Run `berth --help` for the commands.
package main

import (
	"os"

	"berth.dev/cmd/berth/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:])) }
