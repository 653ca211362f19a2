package shim

import (
	"encoding/json"
	"os"
	"sync"
	"time"
)

// exitLog is the record of exits on disk, written before an exit is
// reported, so taskd learns every exit even if it was down or the shim died
// since. It is written, not synced: it lives in the bundle under the state
// directory (/run/berth), which a reboot empties along with every task it
// could speak of, and what a crashed process wrote is in the page cache all
// the same. Syncing it cost a disk flush between a container's exit and
// its Wait answering, the only one on that path.
type exitLog struct {
	path string
	mu   sync.Mutex
}

func (l *exitLog) read() ([]Exit, error) {
	b, err := os.ReadFile(l.path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var exits []Exit
	return exits, json.Unmarshal(b, &exits)
}

func (l *exitLog) add(e Exit) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	exits, _ := l.read()
	exits = append(exits, e)
	b, err := json.Marshal(exits)
	if err != nil {
		return err
	}
	tmp := l.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp, l.path)
}

// ReadExits reads a shim's exit log directly (for a shim that is gone).
func ReadExits(dir string) ([]Exit, error) {
	return (&exitLog{path: dir + "/" + ExitsName}).read()
}

func timeNow() time.Time { return time.Now() }

// RecordExit adds an exit to the log of a shim that is gone, so that its
// task reads the same however often it is asked.
func RecordExit(dir string, e Exit) error {
	return (&exitLog{path: dir + "/" + ExitsName}).add(e)
}
