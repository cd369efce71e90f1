package fs

import "testing"

// A soft link's symlink text climbs out of only the groups its directory
// does not share with the target, never above the mount's root, and keeps
// relative targets as HDF5 stores them.
func TestSoftTarget(t *testing.T) {
	for _, c := range []struct{ dir, target, want string }{
		{"/", "/15/temperature", "15/temperature"},
		{"/x", "/15/temperature", "../15/temperature"},
		{"/t/c", "/t/a/one.txt", "../a/one.txt"},
		{"/t/c", "/t/c/d", "d"},
		{"/t/c", "/t/c", "."},
		{"/t/c", "/t", ".."},
		{"/t/c", "/", "../.."},
		{"/t/c", "//t/./a//x", "../a/x"},
		{"/t/c", "/tt/a", "../../tt/a"},
		{"/a/b", "/a/b/../c", "../c"},
		{"/", "/../x", "%2E%2E/x"},
		{"/a", "/a/../../x", "../%2E%2E/x"},
		{"/a/b", "sibling", "sibling"},
		{"/a/b", "../../../up", "../../%2E%2E/up"},
	} {
		if got := softTarget(c.dir, c.target); got != c.want {
			t.Errorf("softTarget(%q, %q) = %q, want %q", c.dir, c.target, got, c.want)
		}
	}
}
