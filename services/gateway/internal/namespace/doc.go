// Package namespace keeps the node's namespace records in the gateway's
// store. Namespaces come into being explicitly (namespaces Create) or
// implicitly, the first time a client writes anything under one, as in
// containerd; deleting one asks every daemon whether it is still in use.
package namespace
