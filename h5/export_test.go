package h5

// CrashCommitAt makes the next commit of f stop at stage ("journal": after
// the journal is durable, before the file changes; "apply": after half of
// the journaled changes reached the file; "torn": with half of the journal
// written) and abandon the file as a killed process would.
func CrashCommitAt(f *File, stage string) { f.wr.crashAt = stage }

// Abandon drops f without committing, as a killed process does.
func Abandon(f *File) { f.wr.file.Close() }

// ErrCrash is the error a simulated crash returns.
var ErrCrash = errCrash

// ChunkDecodes is how many chunks f has decoded through their filters.
func ChunkDecodes(f *File) uint64 { return f.decodes.Load() }
