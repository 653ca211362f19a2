// Package archive imports and exports image archives server-side: an OCI
// image layout or a `docker save` tar in, recorded and unpacked like a pull;
// an OCI image layout tar of recorded images out.
package archive
