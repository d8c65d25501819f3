// Package writeback writes large files so that their final fsync is
// short: every Chunk bytes written, it asks the kernel to start writing
// them to disk (sync_file_range(2) on Linux; elsewhere the fsync does it
// all), so the disk works while the bytes still arrive and the page cache
// does not fill with dirty pages.
package writeback

import "os"

// Chunk is how many bytes are written before their writeback starts.
const Chunk = 8 << 20

// Writer writes to a file at its current offset and starts the writeback
// of each Chunk written.
type Writer struct {
	f        *os.File
	off, fed int64
}

// New returns a Writer for f, whose offset is off (the bytes before it are
// someone else's to sync).
func New(f *os.File, off int64) *Writer { return &Writer{f: f, off: off, fed: off} }

// Write writes p to the file.
func (w *Writer) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if w.off-w.fed >= Chunk {
		start(w.f, w.fed, w.off-w.fed)
		w.fed = w.off
	}
	return n, err
}

// Flush starts the writeback of what was written since the last Chunk: a
// file written whole (a staged file of an update) then goes to disk while
// the next ones are written, and the final sync has little left to do.
func (w *Writer) Flush() {
	if w.off > w.fed {
		start(w.f, w.fed, w.off-w.fed)
		w.fed = w.off
	}
}
