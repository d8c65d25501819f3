package writeback

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// TestWriterWritesEveryByte writes a file in uneven pieces across several
// chunks, after bytes that are not the Writer's, and checks the file and
// which bytes the Writer has handed to the kernel's writeback: every whole
// Chunk as it is written, the rest on Flush.
func TestWriterWritesEveryByte(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head := []byte("someone else's bytes\n")
	if _, err := f.Write(head); err != nil {
		t.Fatal(err)
	}
	w := New(f, int64(len(head)))
	rng := rand.New(rand.NewPCG(1, 2))
	src := rand.NewChaCha8([32]byte{1})
	want := bytes.NewBuffer(append([]byte(nil), head...))
	total := 0
	for total < 2*Chunk+Chunk/3 {
		p := make([]byte, 1+rng.IntN(1<<20))
		src.Read(p)
		n, err := w.Write(p)
		if err != nil || n != len(p) {
			t.Fatalf("Write: %d, %v", n, err)
		}
		want.Write(p)
		total += n
		if w.off-w.fed >= Chunk {
			t.Fatalf("after %d bytes, %d written since the last writeback started (Chunk is %d)", total, w.off-w.fed, Chunk)
		}
	}
	if w.fed == int64(len(head)) {
		t.Fatal("no writeback started over more than two chunks")
	}
	w.Flush()
	if w.fed != w.off || w.off != int64(want.Len()) {
		t.Fatalf("after Flush: fed %d, off %d, want both %d", w.fed, w.off, want.Len())
	}
	w.Flush() // nothing left: harmless
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("the file differs from what was written (%d bytes, want %d)", len(got), want.Len())
	}
}

// TestWriterReportsErrors: a write that fails is returned as it is.
func TestWriterReportsErrors(t *testing.T) {
	f, err := os.Open(os.DevNull) // read-only
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := New(f, 0)
	if _, err := io.WriteString(w, "x"); err == nil {
		t.Fatal("a write to a file opened read-only succeeded")
	}
	w.Flush()
}
