//go:build !unix

package fwtest

import "io/fs"

func inode(fs.FileInfo) (uint64, uint64) { return 0, 1 }

func owner(fs.FileInfo) (int64, int64, bool) { return 0, 0, false }
