// Package streaming runs commands in CRI containers and streams to them:
// ExecSync (a command whose output comes back in the reply), and the HTTP
// streaming server the kubelet is sent to for Exec, Attach and PortForward
// (SPDY and websocket, from k8s.io/cri-streaming). Processes run through
// taskd's tasks API with fifos this package creates under the state
// directory; Attach joins the init process's stdio through
// berth.tasks.v1.Tasks/Attach; port forwarding dials inside the sandbox's
// network namespace. Containers and sandboxes themselves belong to the
// runtime service; this package only needs their ids.
package streaming
