//go:build !linux

package h5

import "os"

// Where there is no sync_file_range or fallocate, the file system is left
// to itself: the commit's fsync still writes everything.

func startWriteback(*os.File) {}

func reserveBlocks(*os.File, int64, int64) {}

type hintedFile struct{ *os.File }

func (hintedFile) WillNeed(int64, int64) {}

func adviseSequential(*os.File) {}
