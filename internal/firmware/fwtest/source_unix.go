//go:build unix

package fwtest

import (
	"io/fs"
	"syscall"
)

// inode returns the inode number and link count of a source file.
func inode(fi fs.FileInfo) (ino uint64, nlink uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino), uint64(st.Nlink)
	}
	return 0, 1
}

// owner returns the owner and group IDs of a source file.
func owner(fi fs.FileInfo) (uid, gid int64, ok bool) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int64(st.Uid), int64(st.Gid), true
	}
	return 0, 0, false
}
