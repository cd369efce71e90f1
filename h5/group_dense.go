package h5

import (
	"github.com/h5mount/h5mount/h5/internal/format"
)

func walkDenseLinks(f *File, li *format.LinkInfo, byOrder bool) ([]Link, error) {
	return nil, format.Unsupportedf(li.HeapAddr, "fractal heap", "dense link storage")
}

func lookupDenseLink(f *File, li *format.LinkInfo, name string) (Link, error) {
	return Link{}, format.Unsupportedf(li.HeapAddr, "fractal heap", "dense link storage")
}

func walkDenseAttributes(f *File, ai *format.AttributeInfo) ([]*format.AttributeMessage, error) {
	return nil, format.Unsupportedf(ai.HeapAddr, "fractal heap", "dense attribute storage")
}
