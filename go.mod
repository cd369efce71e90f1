module github.com/h5mount/h5mount

go 1.26.8

require (
	github.com/hanwen/go-fuse/v2 v2.12.1
	github.com/klauspost/compress v1.20.3
)

require golang.org/x/sys v0.28.0 // indirect
