package shim

import (
	"encoding/json"
	"os"
	"sync"
	"time"
)

// exitLog is the durable record of exits: written and synced before an
// exit is reported, so taskd learns every exit even if it was down.
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
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	f.Close()
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
