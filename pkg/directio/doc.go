// Package directio writes large files around the page cache (O_DIRECT):
// a pulled blob and the files a layer unpacks to must reach the disk
// before the image is recorded anyway, and copying them into freshly
// allocated page-cache pages first costs more CPU than the rest of the
// write (on a VM, every new page may also fault in the hypervisor). What
// the file system refuses to write directly, and the unaligned tail of a
// file, goes through the page cache as before; durability stays with the
// caller's fsync or syncfs, which the file's metadata still needs.
package directio
