package h5

import (
	"fmt"
	"strings"
)

// maxLinkHops bounds soft-link resolution so a loop of soft links ends.
const maxLinkHops = 40

// OpenPath returns the object at an absolute path such as "/15/temperature",
// following soft links inside the file. External links are not followed.
func (f *File) OpenPath(p string) (*Object, error) {
	return f.resolve(p, 0)
}

func (f *File) resolve(p string, hops int) (*Object, error) {
	if hops > maxLinkHops {
		return nil, fmt.Errorf("h5: %s: more than %d soft links: %w", p, maxLinkHops, ErrNotFound)
	}
	root, err := f.Root()
	if err != nil {
		return nil, err
	}
	cur := root.Object
	parts := strings.Split(strings.Trim(p, "/"), "/")
	for i, name := range parts {
		if name == "" || name == "." {
			continue
		}
		g, err := cur.AsGroup()
		if err != nil {
			return nil, fmt.Errorf("h5: %s: %w", p, err)
		}
		l, err := g.Link(name)
		if err != nil {
			return nil, err
		}
		switch l.Type {
		case LinkHard:
			if cur, err = f.Object(l.Addr); err != nil {
				return nil, err
			}
		case LinkSoft:
			target := l.Target
			if !strings.HasPrefix(target, "/") {
				target = "/" + strings.Join(parts[:i], "/") + "/" + target
			}
			rest := strings.Join(parts[i+1:], "/")
			return f.resolve(target+"/"+rest, hops+1)
		default:
			return nil, fmt.Errorf("h5: %s: link %q leaves the file: %w", p, name, ErrNotFound)
		}
	}
	return cur, nil
}
