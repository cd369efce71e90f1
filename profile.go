package main

import (
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof on the default mux, served only when asked
	"os"
	"runtime"
	"runtime/pprof"
)

// Profiling is a debugging aid for performance work, switched on through
// the environment so that it reaches a mount that re-executed itself into
// the background:
//
//	H5MOUNT_PPROF=127.0.0.1:6060   serve net/http/pprof while mounted
//	H5MOUNT_CPUPROFILE=FILE        CPU profile from mount to unmount
//	H5MOUNT_MEMPROFILE=FILE        heap (allocation) profile at unmount
//
// startProfiling returns the function that ends it; failures are logged and
// never stop the mount.
func startProfiling(logf func(string, ...any)) (stop func()) {
	if addr := os.Getenv("H5MOUNT_PPROF"); addr != "" {
		go func() {
			if err := http.ListenAndServe(addr, nil); err != nil {
				logf("H5MOUNT_PPROF %s: %v", addr, err)
			}
		}()
	}
	var cpu *os.File
	if name := os.Getenv("H5MOUNT_CPUPROFILE"); name != "" {
		f, err := os.Create(name)
		if err == nil {
			err = pprof.StartCPUProfile(f)
			if err != nil {
				f.Close()
			}
		}
		if err != nil {
			logf("H5MOUNT_CPUPROFILE: %v", err)
		} else {
			cpu = f
		}
	}
	return func() {
		if cpu != nil {
			pprof.StopCPUProfile()
			if err := cpu.Close(); err != nil {
				logf("H5MOUNT_CPUPROFILE: %v", err)
			}
		}
		if name := os.Getenv("H5MOUNT_MEMPROFILE"); name != "" {
			f, err := os.Create(name)
			if err == nil {
				runtime.GC() // the profile's in-use figures as of the last GC
				err = pprof.Lookup("allocs").WriteTo(f, 0)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
			if err != nil {
				logf("H5MOUNT_MEMPROFILE: %v", err)
			}
		}
	}
}
