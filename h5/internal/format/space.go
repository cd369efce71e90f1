package format

// Space is the writable side of a file as structure editors see it, in
// relative addresses. Reads go through a Reader over the same file, which
// sees every write made through the Space at once.
type Space interface {
	// Alloc reserves n bytes and returns their address.
	Alloc(n uint64) (uint64, error)
	// Free returns n bytes at addr that no structure references any more.
	// The space may be handed out again only after the change that stopped
	// referencing it is durable, which the Space (not the caller) ensures.
	Free(addr, n uint64)
	// WriteAt writes p at addr.
	WriteAt(p []byte, addr uint64) error
}
