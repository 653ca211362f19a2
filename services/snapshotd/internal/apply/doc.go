// Package apply unpacks an OCI layer (a tar stream, gzip or zstd compressed
// or not) into a directory: whiteouts and opaque directories, hardlinks,
// symlinks, xattrs, ownership, modes and mtimes. Every path is resolved
// inside the root, following symlinks as if the root were "/", so neither
// "..", absolute names nor symlinks planted by earlier entries or lower
// layers can make a write land outside it. Applying onto an overlay upper
// directory turns OCI whiteouts into overlay whiteouts.
package apply
