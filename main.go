// Command h5mount mounts an HDF5 file as a directory tree: groups are
// directories, datasets are files of their element bytes, attributes are
// extended attributes. See SPEC.md §1 for the command line.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/h5mount/h5mount/fs"
	"github.com/h5mount/h5mount/h5"
	"github.com/h5mount/h5mount/internal/daemon"
	"github.com/h5mount/h5mount/remote"
	"github.com/h5mount/h5mount/xattr"
	"github.com/urfave/cli/v2"
)

// version is set at build time: go build -ldflags "-X main.version=1.0.0".
var version string

// Exit statuses.
const (
	exitFail  = 1 // the mount could not be made
	exitUsage = 2 // the command line is wrong
)

const defaultCacheSize = "64MiB"

// fsType is the type of our mounts in the kernel's mount table ("fuse." and
// the name fs.Mount gives go-fuse).
const fsType = "fuse.h5mount"

// unmountWait bounds how long `h5mount unmount` waits for the mount process
// to finish its work once the kernel has let go of the mount.
const unmountWait = 60 * time.Second

// exitError is a failure to report as one line on stderr, with an exit status.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func failf(format string, a ...any) error {
	return &exitError{code: exitFail, msg: fmt.Sprintf(format, a...)}
}

func usagef(format string, a ...any) error {
	return &exitError{code: exitUsage, msg: fmt.Sprintf(format, a...)}
}

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run runs the command line args and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	args = normalizeArgs(args)
	app := newApp(args, stderr)
	app.Writer = stdout
	app.ErrWriter = stderr
	err := app.Run(args)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		fmt.Fprintf(stderr, "h5mount: %s\n", oneLine(ee.msg))
		return ee.code
	}
	fmt.Fprintf(stderr, "h5mount: %s\n", oneLine(err.Error()))
	return exitFail
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	return strings.NewReplacer("\r\n", "; ", "\n", "; ", "\r", "; ").Replace(s)
}

const description = `h5mount shows an HDF5 file as a directory tree: groups are directories,
datasets are files holding their elements' bytes in C order (as stored, so
numpy.fromfile with the dtype in user.h5.dtype reads them back), soft links
are symlinks, and attributes are extended attributes (user.NAME; dataset
properties as user.h5.dtype, user.h5.shape, user.h5.chunks, ...).

Without -f, h5mount returns once the mount is ready and serves it in the
background; it exits non-zero, with one line naming the cause, when it
cannot mount. A missing MOUNTPOINT is created, and removed at unmount.
The mount is read-write when the HDF5 file is writable by you, else
read-only. On a read-write mount every change is a change of the HDF5 file:
writes to datasets, mkdir/rmdir (groups), touch/cp (new datasets), rm, mv,
ln, ln -s (links), setfattr/setfattr -x (attributes; user.h5.dtype, shape,
chunks, compression, ... define a new dataset). sync, fsync and unmount
make changes durable; a crash loses nothing an fsync acknowledged.

Mount options (-o, comma-separated, may be repeated):
   ro                   read-only: the file is never changed (shared lock)
   rw                   read-write (the default when the file is writable;
                        an exclusive lock keeps other writers out)
   allow_other          let other users see the mount (as a normal user this
                        needs user_allow_other in /etc/fuse.conf)
   default_permissions  let the kernel check permissions from the modes shown
   debug                log every FUSE request (like --debug)
   cache_size=SIZE      chunk cache size (like --cache-size)
   cache_dir=DIR        remote mounts: blocks on disk too (like --cache-dir)
   s3_endpoint=URL, s3_region=REGION, s3_path_style   s3:// mounts (like --s3-*)
   fsname=NAME          name shown as the mount's source
   compression=SPEC     filters of datasets made by touch/cp: gzip, gzip:4,
                        shuffle,gzip:4, zstd:3, lzf, lz4, bitshuffle:lz4,
                        bitshuffle:zstd:3 (default: none)
   libver=latest        --create makes the newer file form (superblock 2)
   nosuid, nodev, noexec, noatime, atime, sync, dirsync   passed to the kernel
   defaults, auto, noauto, user, users, nofail, _netdev, dev, suid, exec,
   x-systemd.*, ...     fstab options, ignored
   Other options are ignored with a warning.

FILE.h5 may be a URL: s3://BUCKET/KEY (credentials, region and endpoint as
the AWS tools find them) or http(s)://... (any server answering Range
requests). Remote mounts are read-only; they fetch the first 4 MiB at once
and then whole 64 KiB blocks, merged, in parallel and cached.

Options may also follow FILE.h5 and MOUNTPOINT, as mount.fuse3 passes them.
As root h5mount mounts directly; a normal user needs fusermount3 (package
fuse3) on PATH and read-write access to /dev/fuse.

Examples:
   h5mount weather.h5 /mnt/w               mount in the background
   ls -la /mnt/w; getfattr -d /mnt/w/15/temperature
   h5mount unmount /mnt/w                  unmount (fusermount3 -u works too)
   h5mount -f --debug weather.h5 /mnt/w    stay in the foreground, log requests
   h5mount --cache-size 256MiB --log-file /var/log/h5mount.log weather.h5 /mnt/w
   h5mount /data/weather.h5 /mnt/w -o ro,allow_other
   h5mount --create -o compression=gzip:4 new.h5 /mnt/n    a new, empty file
   h5mount s3://bucket/weather.h5 /mnt/w   a file in S3, read-only
   h5mount --cache-dir /var/cache/h5 https://host/weather.h5 /mnt/w
   /etc/fstab:  /data/weather.h5  /mnt/w  fuse.h5mount  ro,allow_other  0 0`

// newApp builds the command line. args are the normalized arguments, which
// a background mount passes on to its child.
func newApp(args []string, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:  "h5mount",
		Usage: "mount an HDF5 file as a directory tree",
		UsageText: "h5mount [options] FILE.h5 MOUNTPOINT      mount; returns once the mount is ready\n" +
			"h5mount -f [options] FILE.h5 MOUNTPOINT   stay in the foreground; Ctrl-C or SIGTERM unmounts\n" +
			"h5mount unmount MOUNTPOINT                flush and unmount\n" +
			"h5mount recover FILE.h5                   replay the journal a crash left\n" +
			"h5mount version                           print the version",
		Description:               description,
		Version:                   versionString(),
		HideHelpCommand:           true,
		DisableSliceFlagSeparator: true,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "foreground", Aliases: []string{"f"},
				Usage: "stay in the foreground: log to stderr, unmount on Ctrl-C or SIGTERM"},
			&cli.StringSliceFlag{Name: "o",
				Usage: "mount options, comma-separated (`OPTS`: ro, rw, allow_other, default_permissions, debug, cache_size=SIZE, ...; see above)"},
			&cli.BoolFlag{Name: "read-only", Aliases: []string{"r"},
				Usage: "mount read-only, like -o ro"},
			&cli.BoolFlag{Name: "create",
				Usage: "create FILE.h5, empty, when it does not exist (in the most widely readable form; -o libver=latest for the newer one)"},
			&cli.BoolFlag{Name: "debug", Aliases: []string{"d"},
				Usage: "log every FUSE request (to stderr with -f, else to --log-file)"},
			&cli.StringFlag{Name: "log-file",
				Usage: "append the log of the mount to `PATH` (a background mount logs nowhere else)"},
			&cli.StringFlag{Name: "cache-size", Value: defaultCacheSize,
				Usage: "memory for decoded chunks: `SIZE` in bytes or with K, M, G (KiB, MiB, GiB); a remote mount uses as much again for fetched blocks"},
			&cli.StringFlag{Name: "cache-dir",
				Usage: "remote mounts: keep fetched blocks in `DIR` too, for later mounts of the same object version"},
			&cli.StringFlag{Name: "s3-endpoint",
				Usage: "s3:// mounts: the store's endpoint `URL` (default: AWS_ENDPOINT_URL, else AWS)"},
			&cli.StringFlag{Name: "s3-region",
				Usage: "s3:// mounts: the `REGION` (default: AWS_REGION, ~/.aws/config, else us-east-1)"},
			&cli.BoolFlag{Name: "s3-path-style",
				Usage: "s3:// mounts: put the bucket in the URL path, not the host name (automatic for an IP address or localhost endpoint)"},
		},
		Action: func(c *cli.Context) error { return mountAction(c, args, stderr) },
		Commands: []*cli.Command{
			{
				Name:      "unmount",
				Aliases:   []string{"umount"},
				Usage:     "flush and unmount a mount made by h5mount",
				ArgsUsage: "MOUNTPOINT",
				Action:    unmountAction,
				OnUsageError: func(c *cli.Context, err error, _ bool) error {
					return usagef("%v (see h5mount unmount --help)", err)
				},
			},
			{
				Name:      "recover",
				Usage:     "replay the journal a crashed read-write mount left beside FILE.h5 (a read-write mount does this itself)",
				ArgsUsage: "FILE.h5",
				Action:    recoverAction,
				OnUsageError: func(c *cli.Context, err error, _ bool) error {
					return usagef("%v (see h5mount recover --help)", err)
				},
			},
			{
				Name:  "version",
				Usage: "print the version",
				Action: func(c *cli.Context) error {
					fmt.Fprintf(c.App.Writer, "h5mount %s\n", versionString())
					return nil
				},
			},
		},
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return usagef("%v (see h5mount --help)", err)
		},
		// Errors are printed by run, as one line, with their own status.
		ExitErrHandler: func(*cli.Context, error) {},
	}
}

func versionString() string {
	if version != "" {
		return version
	}
	v := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " " + s.Value[:12]
			}
		}
	}
	return v
}

// Flags that take a value, in every spelling the flag package accepts.
var valueFlags = map[string]bool{
	"-o": true, "--o": true,
	"-log-file": true, "--log-file": true,
	"-cache-size": true, "--cache-size": true,
	"-cache-dir": true, "--cache-dir": true,
	"-s3-endpoint": true, "--s3-endpoint": true,
	"-s3-region": true, "--s3-region": true,
}

// commands are the first words that name a subcommand.
var commands = map[string]bool{"unmount": true, "umount": true, "version": true, "help": true, "h": true}

// normalizeArgs moves options given after the positional arguments to the
// front (mount.fuse3 calls `h5mount FILE MOUNTPOINT -o ro,allow_other`, and
// the flag package stops at the first positional), and splits the mount
// style `-oro,allow_other` into `-o ro,allow_other`. Everything after `--`
// stays positional.
func normalizeArgs(args []string) []string {
	if len(args) == 0 {
		return args
	}
	var flags, pos []string
	dashdash := false
	rest := args[1:]
	for i := 0; i < len(rest); i++ {
		s := rest[i]
		if s == "--" {
			dashdash = true
			pos = append(pos, rest[i+1:]...)
			break
		}
		if len(s) > 2 && strings.HasPrefix(s, "-o") && s[2] != '=' {
			flags = append(flags, "-o", s[2:])
			continue
		}
		if len(s) > 1 && s[0] == '-' {
			flags = append(flags, s)
			if valueFlags[s] && i+1 < len(rest) {
				flags = append(flags, rest[i+1])
				i++
			}
			continue
		}
		if len(pos) == 0 && commands[s] {
			// A subcommand parses its own arguments.
			return append(append(append([]string{args[0]}, flags...), s), rest[i+1:]...)
		}
		pos = append(pos, s)
	}
	out := append([]string{args[0]}, flags...)
	if dashdash {
		out = append(out, "--")
	}
	return append(out, pos...)
}

// mountConfig is what the command line asks of a mount.
type mountConfig struct {
	file, mountpoint   string
	foreground         bool
	debug              bool
	allowOther         bool
	defaultPermissions bool
	cacheBytes         int64
	logFile            string
	fsname             string
	kernelOptions      []string // -o options passed on to the kernel
	readOnly           bool     // -o ro or --read-only
	readWrite          bool     // -o rw: fail rather than fall back to read-only
	create             bool     // --create: make FILE.h5 when missing
	latest             bool     // -o libver=latest: new files in the newer form
	compression        []h5.Filter
	remote             bool // FILE.h5 is an s3:// or http(s):// URL
	cacheDir           string
	s3                 remote.S3Options
}

// Mount options passed on to the kernel as given: those fusermount3 knows.
var kernelOptions = map[string]bool{
	"nosuid": true, "nodev": true, "noexec": true, "sync": true, "dirsync": true,
	"atime": true, "noatime": true,
}

// Mount options that only mean something to mount(8) or /etc/fstab, or that
// FUSE mounts always have: dropped without a word.
var fstabOptions = map[string]bool{
	"defaults": true, "auto": true, "noauto": true, "user": true, "nouser": true,
	"users": true, "owner": true, "group": true, "nofail": true, "_netdev": true,
	"dev": true, "suid": true, "exec": true, "async": true, "loud": true, "silent": true,
}

func parseMountConfig(c *cli.Context) (cfg mountConfig, warnings []string, err error) {
	switch c.NArg() {
	case 2:
	case 0:
		return cfg, nil, usagef("missing FILE.h5 and MOUNTPOINT (usage: h5mount [options] FILE.h5 MOUNTPOINT; see h5mount --help)")
	case 1:
		return cfg, nil, usagef("missing MOUNTPOINT (usage: h5mount [options] FILE.h5 MOUNTPOINT; see h5mount --help)")
	default:
		return cfg, nil, usagef("too many arguments: %q (usage: h5mount [options] FILE.h5 MOUNTPOINT)", c.Args().Slice()[2:])
	}
	cfg.file, cfg.mountpoint = c.Args().Get(0), c.Args().Get(1)
	if cfg.file == "" || cfg.mountpoint == "" {
		return cfg, nil, usagef("empty FILE.h5 or MOUNTPOINT argument")
	}
	cfg.create = c.Bool("create")
	cfg.foreground = c.Bool("foreground")
	cfg.debug = c.Bool("debug")
	cfg.logFile = c.String("log-file")
	cfg.cacheBytes, err = parseSize(c.String("cache-size"))
	if err != nil {
		return cfg, nil, usagef("--cache-size: %v", err)
	}
	cfg.readOnly = c.Bool("read-only")
	cfg.cacheDir = c.String("cache-dir")
	cfg.s3 = remote.S3Options{Endpoint: c.String("s3-endpoint"), Region: c.String("s3-region"), PathStyle: c.Bool("s3-path-style")}
	for _, list := range c.StringSlice("o") {
		for _, o := range splitMountOptions(list) {
			key, val, hasVal := strings.Cut(o, "=")
			switch {
			case o == "":
			case o == "ro":
				cfg.readOnly = true
			case o == "rw":
				cfg.readWrite = true
			case o == "allow_other":
				cfg.allowOther = true
			case o == "default_permissions":
				cfg.defaultPermissions = true
			case o == "debug":
				cfg.debug = true
			case key == "cache_size" && hasVal:
				if cfg.cacheBytes, err = parseSize(val); err != nil {
					return cfg, nil, usagef("-o cache_size: %v", err)
				}
			case key == "fsname" && hasVal:
				cfg.fsname = val
			case key == "cache_dir" && hasVal:
				cfg.cacheDir = val
			case key == "s3_endpoint" && hasVal:
				cfg.s3.Endpoint = val
			case key == "s3_region" && hasVal:
				cfg.s3.Region = val
			case o == "s3_path_style":
				cfg.s3.PathStyle = true
			case key == "compression" && hasVal:
				if cfg.compression, err = xattr.ParseCompression(val); err != nil {
					return cfg, nil, usagef("-o compression=%s: %v (examples: gzip:4, shuffle,gzip:4, zstd:3, lzf, lz4)", val, err)
				}
			case key == "libver" && hasVal:
				switch val {
				case "latest":
					cfg.latest = true
				case "earliest", "default":
					cfg.latest = false
				default:
					return cfg, nil, usagef("-o libver=%s: use earliest or latest", val)
				}
			case kernelOptions[o]:
				cfg.kernelOptions = append(cfg.kernelOptions, o)
			case fstabOptions[o], strings.HasPrefix(o, "x-"), key == "comment":
			default:
				warnings = append(warnings, fmt.Sprintf("ignoring unknown mount option %q", o))
			}
		}
	}
	if remote.IsURL(cfg.file) {
		cfg.remote = true
		switch {
		case cfg.create:
			return cfg, nil, usagef("--create: %s is a URL; remote mounts are read-only", cfg.file)
		case cfg.readWrite:
			return cfg, nil, usagef("-o rw: %s is a URL; remote mounts are read-only", cfg.file)
		}
		cfg.readOnly = true
	}
	return cfg, warnings, nil
}

// splitMountOptions splits an -o list at its commas, except that the
// value of compression= is itself a comma-separated filter list
// (compression=shuffle,gzip:4): the items after it that name filters
// belong to it.
func splitMountOptions(list string) []string {
	var out []string
	inCompression := false
	for _, o := range strings.Split(list, ",") {
		key, _, hasVal := strings.Cut(o, "=")
		if inCompression && !hasVal && isFilterSpec(o) {
			out[len(out)-1] += "," + o
			continue
		}
		inCompression = key == "compression" && hasVal
		out = append(out, o)
	}
	return out
}

// isFilterSpec reports whether an -o item is a filter of a compression=
// list (gzip:4, shuffle, ...): no mount option is one.
func isFilterSpec(item string) bool {
	filters, err := xattr.ParseCompression(item)
	return err == nil && len(filters) > 0
}

// parseSize reads a byte count: a number with an optional unit, B, K/KB/KiB,
// M/MB/MiB, G/GB/GiB or T/TB/TiB, all powers of 1024 as mount tools count.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("%q is not a size (examples: 64MiB, 1G, 1048576)", s)
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is too large", s)
	}
	var shift uint
	switch strings.ToLower(strings.TrimSpace(t[i:])) {
	case "", "b":
	case "k", "kb", "kib":
		shift = 10
	case "m", "mb", "mib":
		shift = 20
	case "g", "gb", "gib":
		shift = 30
	case "t", "tb", "tib":
		shift = 40
	default:
		return 0, fmt.Errorf("%q: unknown unit (use K, M, G, KiB, MiB, GiB)", s)
	}
	if n > (1<<62)>>shift {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n << shift, nil
}

// mountAction mounts: in the foreground with -f, else by running itself
// again in the background and waiting for that child to report.
func mountAction(c *cli.Context, args []string, stderr io.Writer) error {
	cfg, warnings, err := parseMountConfig(c)
	if err != nil {
		return err
	}
	rep := daemon.Child()
	warn := func(w string) { fmt.Fprintf(stderr, "h5mount: warning: %s\n", oneLine(w)) }
	if rep == nil {
		// The child parses the same options: only one of them speaks.
		for _, w := range warnings {
			warn(w)
		}
	}
	if !cfg.foreground && rep == nil {
		childArgs := append([]string{"-f"}, args[1:]...)
		if err := daemon.Start(childArgs, cfg.logFile, warn); err != nil {
			return failf("%s", err.Error())
		}
		return nil
	}
	err = serve(cfg, rep, stderr)
	if err != nil && rep != nil {
		rep.Fail(err.Error())
	}
	return err
}

// openLog makes the mount's logger: to --log-file when given, else to
// stderr in the foreground; a background mount without a log file logs
// nothing.
func openLog(cfg mountConfig, background bool, stderr io.Writer) (*log.Logger, func(), error) {
	if cfg.logFile != "" {
		f, err := os.OpenFile(cfg.logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return nil, nil, failf("log file: %v", err)
		}
		return log.New(f, "h5mount: ", log.LstdFlags), func() { f.Close() }, nil
	}
	if background {
		return log.New(io.Discard, "", 0), func() {}, nil
	}
	return log.New(stderr, "h5mount: ", log.LstdFlags), func() {}, nil
}

// serve makes the mount and serves it until it is unmounted. rep, when not
// nil, is told once the mount is ready.
func serve(cfg mountConfig, rep *daemon.Reporter, stderr io.Writer) error {
	logger, closeLog, err := openLog(cfg, rep != nil, stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	// Foreground mounts say nothing on success unless asked to.
	info := logger
	if !cfg.debug && cfg.logFile == "" {
		info = log.New(io.Discard, "", 0)
	}

	raiseProcs()

	// Catch the signals from the start: one that comes while the mount is
	// being made unmounts it as soon as it is ready.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)

	src, err := openSource(cfg, logger)
	if err != nil {
		return err
	}
	file := src.file
	defer src.release()
	defer limitMemory(file, cfg.cacheBytes)()
	defer func() {
		// Unmount has happened: write back what is still pending.
		if err := file.Close(); err != nil {
			logger.Printf("writing back %s: %v", cfg.file, err)
		}
	}()

	if err := checkFUSE(); err != nil {
		return err
	}
	mnt, created, err := prepareMountpoint(cfg.mountpoint)
	if err != nil {
		return err
	}
	removeMnt := func() {
		if created {
			if err := os.Remove(mnt); err != nil {
				logger.Printf("removing mount point %s: %v", mnt, err)
			}
		}
	}

	abs := src.name
	opts := fs.Options{
		ReadOnly:           !file.Writable(),
		AllowOther:         cfg.allowOther,
		DefaultPermissions: cfg.defaultPermissions,
		Debug:              cfg.debug,
		FSName:             abs,
		FileMode:           src.mode,
		FileTime:           src.mtime,
		UID:                src.uid,
		GID:                src.gid,
		Logger:             logger,
		Options:            cfg.kernelOptions,
		Compression:        cfg.compression,
		Mountpoint:         mnt,
		TextCacheBytes:     metadataCacheBytes(cfg.cacheBytes),
		ListingCacheBytes:  metadataCacheBytes(cfg.cacheBytes),
	}
	if cfg.fsname != "" {
		opts.FSName = cfg.fsname
	}
	// A warning reaches the user as the mount returns, and the log.
	warn := func(w string) {
		logger.Print(w)
		if rep != nil {
			rep.Warn(w)
		} else if cfg.logFile != "" {
			fmt.Fprintf(stderr, "h5mount: warning: %s\n", w)
		}
	}
	if src.warning != "" {
		warn(src.warning)
	}
	server, err := fs.Mount(file, mnt, opts)
	if err != nil && len(opts.Options) > 0 {
		warn(fmt.Sprintf("mount options %s refused (%v); mounting without them",
			strings.Join(opts.Options, ","), oneLine(err.Error())))
		opts.Options = nil
		server, err = fs.Mount(file, mnt, opts)
	}
	if err != nil {
		removeMnt()
		return failf("%s: cannot mount: %s", cfg.mountpoint, oneLine(err.Error()))
	}

	removeRecord, err := daemon.WriteRecord(daemon.Record{Mountpoint: mnt, File: abs, Created: created})
	if err != nil {
		logger.Printf("cannot record the mount (h5mount unmount will not wait for it): %v", err)
	}
	mode := "read-write"
	if opts.ReadOnly {
		mode = "read-only"
	}
	info.Printf("%s mounted %s at %s", abs, mode, mnt)
	if rep != nil {
		rep.Ready()
	}
	// A daemon must not keep the directory it was started in busy.
	_ = os.Chdir("/")

	go func() {
		for sig := range sigs {
			info.Printf("%v: unmounting %s", sig, mnt)
			if err := server.Unmount(); err != nil {
				logger.Printf("unmount: %v; detaching now, the mount ends when its last file is closed", oneLine(err.Error()))
				if err := daemon.Unmount(mnt, true); err != nil {
					logger.Printf("lazy unmount: %v", err)
				}
			}
		}
	}()
	stopProfiling := startProfiling(logger.Printf)
	server.Wait()
	stopProfiling()
	info.Printf("%s unmounted", mnt)
	removeMnt()
	removeRecord()
	return nil
}

// source is the opened HDF5 file and what the mount shows of where it is.
type source struct {
	file     *h5.File
	name     string // the mount's source: absolute path or URL
	mode     uint32 // permission bits
	mtime    time.Time
	uid, gid uint32
	release  func() // after the file is closed: drops the lock, or the connection
	warning  string // what the user should know of how it was opened
}

// openSource opens the file or, for a URL, the remote object.
func openSource(cfg mountConfig, logger *log.Logger) (source, error) {
	if cfg.remote {
		return openRemote(cfg, logger)
	}
	file, lock, st, warning, err := openHDF5(cfg)
	if err != nil {
		return source{}, err
	}
	src := source{file: file, name: cfg.file, mode: uint32(st.Mode().Perm()), mtime: st.ModTime(),
		release: func() { lock.Close() }, warning: warning}
	if abs, err := filepath.Abs(cfg.file); err == nil {
		src.name = abs
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		src.uid, src.gid = sys.Uid, sys.Gid
	}
	return src, nil
}

// remoteConcurrency is how many chunk fetches one read of a remote file
// keeps going: requests wait on latency, not on the cores.
const remoteConcurrency = 16

// openRemote opens an HDF5 file in object storage or on a web server,
// read-only: it fetches the first few MiB, which tell the size and hold
// the superblock and usually the root group.
func openRemote(cfg mountConfig, logger *log.Logger) (source, error) {
	r, err := remote.Open(context.Background(), cfg.file, remote.Options{
		S3:         cfg.s3,
		CacheBytes: cfg.cacheBytes,
		CacheDir:   cfg.cacheDir,
		Logger:     logger,
	})
	if err != nil {
		return source{}, remoteError(cfg.file, err)
	}
	file, err := h5.Open(r, r.Size(), &h5.Options{CacheBytes: cfg.cacheBytes, ReadConcurrency: remoteConcurrency, SelfContained: true})
	if err == nil {
		if _, err = file.Root(); err != nil {
			file.Close()
		}
	}
	if err != nil {
		r.Close()
		return source{}, remoteError(cfg.file, err)
	}
	mtime := r.LastModified()
	if mtime.IsZero() {
		mtime = time.Now()
	}
	return source{
		file: file, name: cfg.file, mode: 0o444, mtime: mtime,
		uid: uint32(os.Getuid()), gid: uint32(os.Getgid()),
		release: func() {
			n, b := r.Stats()
			logger.Printf("%s: %d requests, %d bytes fetched", cfg.file, n, b)
			r.Close()
		},
	}, nil
}

// remoteError names what is wrong with a remote object in one line.
func remoteError(name string, err error) error {
	switch {
	case errors.Is(err, remote.ErrNotFound):
		return failf("%s: no such object", name)
	case errors.Is(err, remote.ErrDenied):
		return failf("%s: access denied (check the credentials)", name)
	}
	return fileError(name, err)
}

// memorySlack is the heap a mount may use beyond its chunk cache and the
// rest of what is live: chunks being decoded on every core (each a
// compressed and a decoded copy), garbage between collections, go-fuse's
// request buffers.
const memorySlack = 32 << 20

// raiseProcs gives the mount twice as many Go processors as cores (unless
// GOMAXPROCS says otherwise). Its threads block in read(2) on /dev/fuse and
// in reads of a cold file, and a processor blocked in a system call is only
// handed to runnable goroutines when the runtime's monitor notices, up to
// 10 ms later: with one processor a core, decodes waited while cores idled
// (a cold sequential read of gzip chunks spent a quarter of its time so;
// twice as many cut its time by 15%). Decoding stays bounded by the
// worker limits, which follow the processor count.
func raiseProcs() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(2 * runtime.NumCPU())
	}
}

// limitMemory keeps the heap near what is live, so that a mount reading a
// large compressed dataset stays within its cache size plus a small
// constant. Go's collector lets the heap grow to twice what is live before
// it runs, and a full cache is live: without a limit such a mount took
// about 1.5 times its cache. The rest of what is live (decoded metadata,
// the kernel's inodes: a few KB a dataset, hundreds of MB for a file of
// 100,000) is measured after each collection and added, and what of it
// is beyond the slack added twice, the room Go's collector gives any heap:
// with it added once, a find over 100,000 datasets ran the collector at
// every 20 MB of growth, and a third of its time went to marking. A
// writable mount also holds dirty chunks, up to three quarters of the
// budget, beside the cache. GOMEMLIMIT, when set, wins. The returned function stops the
// adjusting.
func limitMemory(file *h5.File, cacheBytes int64) (stop func()) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	if cacheBytes <= 0 {
		cacheBytes = h5.DefaultCacheBytes
	}
	planned := cacheBytes + 2*metadataCacheBytes(cacheBytes) // what the chunks, texts and listings held may take
	if file.Writable() {
		planned += h5.MaxDirtyBytes(cacheBytes)
	}
	set := func() {
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		metrics.Read(sample)
		cached := file.CachedBytes()
		live := cached
		if sample[0].Value.Kind() == metrics.KindUint64 {
			live = int64(sample[0].Value.Uint64())
		}
		debug.SetMemoryLimit(heapLimit(planned, cached, live))
	}
	set()
	// After every collection, when the live heap is known anew: measured
	// on a timer, the limit lagged a fast-growing heap (a find adds 100 MB
	// of metadata a second) and the collector ran at every few MB.
	var stopped atomic.Bool
	var watch func()
	watch = func() {
		runtime.AddCleanup(new(gcCycle), func(struct{}) {
			if !stopped.Load() {
				set()
				watch()
			}
		}, struct{}{})
	}
	watch()
	return func() { stopped.Store(true) }
}

// metadataCacheBytes is the share of the mount's memory for the rendered
// text of datasets that read as text, and again for the link lists of
// groups listed: a quarter of the chunk cache's each, at least 1 MiB.
func metadataCacheBytes(cacheBytes int64) int64 {
	if cacheBytes <= 0 {
		cacheBytes = h5.DefaultCacheBytes
	}
	return max(cacheBytes/4, 1<<20)
}

// heapLimit is the memory limit for a heap of which live bytes were live
// after the last collection, cached of them in chunks that the plan gave
// planned bytes. The chunks get what they were planned, or what they hold
// when that is more: the cache keeps the chunk last read even when it is
// larger than the whole cache, and a limit below the live heap has the
// collector run without end. The rest of the live heap gets the slack, and
// what of it exceeds the slack the collector's usual room.
func heapLimit(planned, cached, live int64) int64 {
	other := max(live-cached, 0)
	return max(planned, cached) + memorySlack + other + max(other-memorySlack, 0)
}

// gcCycle is garbage as soon as it is made: its cleanup runs after the
// next collection. It is big enough not to share the tiny allocator's
// blocks, whose cleanups may never run.
type gcCycle struct{ _ [32]byte }

// openHDF5 opens the HDF5 file, locks it (shared for a read-only mount,
// exclusive for a read-write one) and reads its root group, so that a file
// that is not HDF5 or is damaged fails here, before anything is mounted.
func openHDF5(cfg mountConfig) (file *h5.File, lock *os.File, st os.FileInfo, warning string, err error) {
	name := cfg.file
	st, err = os.Stat(name)
	if errors.Is(err, os.ErrNotExist) && cfg.create && !cfg.readOnly {
		created, cerr := h5.Create(name, &h5.CreateOptions{Latest: cfg.latest})
		if cerr != nil {
			return nil, nil, nil, "", fileError(name, cerr)
		}
		if cerr = created.Close(); cerr != nil {
			return nil, nil, nil, "", fileError(name, cerr)
		}
		st, err = os.Stat(name)
	}
	if err != nil {
		return nil, nil, nil, "", fileError(name, err)
	}
	if st.IsDir() {
		return nil, nil, nil, "", failf("%s: is a directory, not an HDF5 file", name)
	}
	if !st.Mode().IsRegular() {
		return nil, nil, nil, "", failf("%s: not a regular file", name)
	}
	lock, err = os.Open(name)
	if err != nil {
		return nil, nil, nil, "", fileError(name, err)
	}
	// Read-write unless asked otherwise or the file is not ours to write.
	writable := !cfg.readOnly && syscall.Access(name, 2 /* W_OK */) == nil
	if cfg.readWrite && !cfg.readOnly && !writable {
		lock.Close()
		return nil, nil, nil, "", failf("%s: not writable, cannot mount read-write (try -o ro)", name)
	}
	how := syscall.LOCK_SH
	if writable {
		how = syscall.LOCK_EX
	}
	if err := syscall.Flock(int(lock.Fd()), how|syscall.LOCK_NB); err != nil {
		lock.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, nil, nil, "", failf("%s is locked by another h5mount or writer", name)
		}
		return nil, nil, nil, "", failf("%s: cannot lock: %v", name, err)
	}
	abs, err := filepath.Abs(name)
	if err != nil {
		abs = name
	}
	if writable {
		file, err = h5.OpenFileRW(abs, &h5.Options{CacheBytes: cfg.cacheBytes})
		if errors.Is(err, h5.ErrSWMRWriter) {
			// A live SWMR writer holds no lock: writing beside it would
			// corrupt what it writes.
			if cfg.readWrite {
				lock.Close()
				return nil, nil, nil, "", failf("%s: libhdf5 marks it open by a SWMR writer; writing beside a live one would corrupt the file (h5clear -s %s if none is running, or -o ro)", name, name)
			}
			writable = false
			if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
				lock.Close()
				return nil, nil, nil, "", failf("%s: cannot lock: %v", name, err)
			}
			warning = fmt.Sprintf("%s: libhdf5 marks it open by a SWMR writer: mounted read-only (h5clear -s %s if none is running)", name, name)
		}
	}
	if !writable {
		file, err = h5.OpenFile(abs, &h5.Options{CacheBytes: cfg.cacheBytes})
	}
	if err == nil {
		if _, err = file.Root(); err != nil {
			file.Close()
		}
	}
	if err != nil {
		lock.Close()
		return nil, nil, nil, "", fileError(name, err)
	}
	return file, lock, st, warning, nil
}

// fileError names what is wrong with the HDF5 file in one line.
func fileError(name string, err error) error {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return failf("%s: no such file", name)
	case errors.Is(err, os.ErrPermission):
		return failf("%s: permission denied", name)
	case errors.Is(err, h5.ErrNotHDF5):
		return failf("%s: not an HDF5 file", name)
	case errors.Is(err, h5.ErrCorrupt):
		return failf("%s: corrupt HDF5 file: %s", name, detail(name, err))
	case errors.Is(err, h5.ErrUnsupported):
		return failf("%s: unsupported HDF5 feature: %s", name, detail(name, err))
	}
	return failf("%s: %s", name, detail(name, err))
}

// detail is an error's text without the file name h5.OpenFile puts first.
func detail(name string, err error) string {
	s := err.Error()
	for _, p := range []string{name + ": ", "open " + name + ": "} {
		s = strings.TrimPrefix(s, p)
	}
	if abs, e := filepath.Abs(name); e == nil {
		s = strings.TrimPrefix(s, abs+": ")
	}
	return s
}

// checkFUSE tells whether this process can mount at all: the kernel's FUSE
// device must be there and open for reading and writing (fusermount3 opens
// it as the calling user), and a normal user needs fusermount3, through
// which go-fuse mounts.
func checkFUSE() error {
	f, err := os.OpenFile("/dev/fuse", os.O_RDWR, 0)
	switch {
	case err == nil:
		f.Close()
	case errors.Is(err, os.ErrNotExist), errors.Is(err, syscall.ENODEV), errors.Is(err, syscall.ENXIO):
		return failf("FUSE is not available: no /dev/fuse (load the fuse kernel module)")
	case errors.Is(err, os.ErrPermission):
		return failf("no permission on /dev/fuse: FUSE mounts need read and write access to it")
	default:
		return failf("FUSE is not available: /dev/fuse: %v", err)
	}
	// As root, go-fuse can call mount(2) itself; a user needs the helper.
	if os.Geteuid() != 0 && !daemon.HaveFusermount() {
		return failf("fusermount3 not found: install the fuse3 package")
	}
	return nil
}

// prepareMountpoint checks the mount point, making it when it is missing
// (created tells), and returns its canonical path.
func prepareMountpoint(name string) (mnt string, created bool, err error) {
	abs, err := filepath.Abs(name)
	if err != nil {
		return "", false, failf("%s: %v", name, err)
	}
	if err := notMounted(name, abs); err != nil {
		return "", false, err
	}
	st, err := os.Stat(abs)
	switch {
	case errors.Is(err, syscall.ENOTCONN), errors.Is(err, syscall.ECONNABORTED):
		return "", false, failf("%s: already a mount point (its FUSE server is gone: h5mount unmount %s)", name, name)
	case errors.Is(err, os.ErrNotExist):
		if err := os.Mkdir(abs, 0o755); err != nil {
			return "", false, failf("%s: cannot create mount point: %v", name, errText(err))
		}
		created = true
	case err != nil:
		return "", false, failf("%s: %v", name, errText(err))
	case !st.IsDir():
		return "", false, failf("%s: mount point is not a directory", name)
	}
	mnt, err = filepath.EvalSymlinks(abs)
	if err != nil {
		mnt = abs
	}
	if mnt != abs {
		if err := notMounted(name, mnt); err != nil {
			return "", false, err
		}
	}
	return mnt, created, nil
}

func notMounted(name, path string) error {
	_, mounted, err := daemon.MountedAt(path)
	if err != nil {
		return failf("cannot read the mount table: %v", err)
	}
	if mounted {
		return failf("%s: already a mount point", name)
	}
	return nil
}

// errText is an error's text without the operation and path *PathError
// puts first.
func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// recoverAction replays the journal a killed read-write mount left beside
// the file, holding the file's lock so that no mount writes meanwhile.
func recoverAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return usagef("usage: h5mount recover FILE.h5")
	}
	name := c.Args().First()
	lock, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return fileError(name, err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return failf("%s is locked by another h5mount or writer", name)
	}
	replayed, err := h5.Recover(name)
	if err != nil {
		return failf("%s: %v", name, err)
	}
	if replayed {
		fmt.Printf("%s: replayed the journal of an interrupted commit\n", name)
	} else {
		fmt.Printf("%s: nothing to recover\n", name)
	}
	return nil
}

// unmountAction unmounts and waits for the mount process to finish: it has
// then flushed and closed the file and removed a mount point it created.
func unmountAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return usagef("usage: h5mount unmount MOUNTPOINT")
	}
	name := c.Args().First()
	abs, err := filepath.Abs(name)
	if err != nil {
		return failf("%s: %v", name, err)
	}
	mnt, fstype := "", ""
	for _, p := range []string{abs, canonical(abs)} {
		t, ok, err := daemon.MountedAt(p)
		if err != nil {
			return failf("cannot read the mount table: %v", err)
		}
		if ok {
			mnt, fstype = p, t
			break
		}
	}
	if mnt == "" {
		return failf("%s: not mounted", name)
	}
	if fstype != fsType {
		return failf("%s: not an h5mount mount (it is %s)", name, fstype)
	}
	rec, found := daemon.ReadRecord(mnt)
	running := found && rec.Running()
	if err := daemon.Unmount(mnt, false); err != nil {
		return failf("%s: cannot unmount: %v", name, err)
	}
	switch {
	case running:
		if !rec.WaitExit(unmountWait) {
			return failf("%s: unmounted, but its h5mount process %d has not finished", name, rec.PID)
		}
	case found:
		// The mount process died (kill -9, say): clean up after it.
		if rec.Created {
			os.Remove(mnt)
		}
		daemon.RemoveRecord(mnt)
	}
	return nil
}

func canonical(p string) string {
	if real, err := filepath.EvalSymlinks(p); err == nil {
		return real
	}
	return p
}
