package updates

import (
	"os"
	"sync"
	"time"
)

// flushEvery is how often a flusher syncs the file system while staging
// goes on.
const flushEvery = 100 * time.Millisecond

// A flusher makes the staged files durable. It holds the staging folder
// open from before the first file is written: syncfs(2) reports the write
// errors seen since its file was opened, so a sync through a file opened
// after staging would miss an error of the writeback of a file staged and
// closed before. Where the file system can be synced whole (syncfs), it
// also syncs it every flushEvery while staging goes on, so that the disk
// makes the bytes durable as they arrive and the final sync waits only for
// the last of them, not for all of them at the end.
type flusher struct {
	f     *os.File
	syncf func(*os.File) error // syncFile; tests replace it
	stop  chan struct{}
	done  chan struct{}

	mu  sync.Mutex
	err error // the first error of a sync in the background
}

// startFlusher opens dir and, where syncs in the background help, starts
// them.
func startFlusher(dir string) (*flusher, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	return newFlusher(f, syncFile, syncsWhole), nil
}

// newFlusher returns the flusher of the open folder f, syncing it with
// syncf, in the background too when background is set.
func newFlusher(f *os.File, syncf func(*os.File) error, background bool) *flusher {
	fl := &flusher{f: f, syncf: syncf, stop: make(chan struct{}), done: make(chan struct{})}
	if !background {
		close(fl.done)
		return fl
	}
	go fl.loop()
	return fl
}

func (fl *flusher) loop() {
	defer close(fl.done)
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-fl.stop:
			return
		case <-t.C:
		}
		if err := fl.syncf(fl.f); err != nil {
			fl.mu.Lock()
			if fl.err == nil {
				fl.err = err
			}
			fl.mu.Unlock()
		}
	}
}

// halt stops the syncs in the background and waits for the one under way.
func (fl *flusher) halt() {
	select {
	case <-fl.stop:
	default:
		close(fl.stop)
	}
	<-fl.done
}

// sync stops the background syncs and makes everything staged durable. It
// returns the first error of any sync since the flusher started.
func (fl *flusher) sync() error {
	fl.halt()
	err := fl.syncf(fl.f)
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if fl.err != nil {
		return fl.err
	}
	return err
}

// close stops the flusher without a final sync (the batch failed) and
// closes its file.
func (fl *flusher) close() {
	if fl == nil {
		return
	}
	fl.halt()
	fl.f.Close()
}
