// Package daemons asks the daemons behind the gateway about themselves
// through berth.admin.v1: which plugins they serve (for introspection) and
// whether a namespace still holds resources in them (for namespace
// deletion). A daemon that is down is reported, never hidden.
package daemons
