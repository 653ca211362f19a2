package cli

// Labels berth records on the containers it creates: what later commands
// (ps, logs, rm, start) need to know about how a container was run.
const (
	labelLogPath  = "berth.dev/log-path"
	labelRestart  = "berth.dev/restart"
	labelNet      = "berth.dev/net"
	labelNetns    = "berth.dev/netns"
	labelCNIConf  = "berth.dev/cni-conflist"
	labelPorts    = "berth.dev/ports"
	labelIP       = "berth.dev/ip"
	labelExitCode = "berth.dev/exit-code"
	labelExitedAt = "berth.dev/exited-at"
	labelStarted  = "berth.dev/started-at"
	labelTTY      = "berth.dev/tty"
)
