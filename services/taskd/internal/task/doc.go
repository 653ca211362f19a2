// Package task runs containers' tasks through one berth-shim each. It
// builds the bundle (config.json from the container's spec, the rootfs
// mounted from the snapshot mounts the client passed), starts and connects
// to the shim, turns shim answers into containerd's task model, and records
// every lifecycle event through the outbox. Exits are published exactly
// once, also those that happened while taskd was down: each published exit
// leaves a marker in the same transaction as its event.
package task
