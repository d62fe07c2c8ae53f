package vuln

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// swapIn puts the folder tmp in the place of dir. When dir does not exist
// it is one rename. Otherwise the two folders are exchanged in one step
// where the system can (Linux renameat2 RENAME_EXCHANGE), so that a scan
// starting meanwhile sees the old database or the new one, never none;
// elsewhere the old folder is moved aside first. The old database is
// removed afterwards.
func swapIn(tmp, dir string) error {
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.Rename(tmp, dir); err != nil {
			return fmt.Errorf("vuln: install database in %s: %w", dir, err)
		}
		return nil
	}
	if err := exchange(tmp, dir); err == nil {
		// tmp now holds the old database.
		if err := os.RemoveAll(tmp); err != nil {
			return fmt.Errorf("vuln: new database installed in %s, but the old one in %s could not be removed: %w", dir, tmp, err)
		}
		return nil
	}
	old, err := os.MkdirTemp(filepath.Dir(dir), ".netvet-db-old-")
	if err != nil {
		return fmt.Errorf("vuln: %w", err)
	}
	if err := os.Remove(old); err != nil {
		return fmt.Errorf("vuln: %w", err)
	}
	if err := os.Rename(dir, old); err != nil {
		return fmt.Errorf("vuln: move the old database aside: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if rerr := os.Rename(old, dir); rerr != nil {
			return fmt.Errorf("vuln: install database in %s: %w (and the old one could not be put back from %s: %v)", dir, err, old, rerr)
		}
		return fmt.Errorf("vuln: install database in %s: %w", dir, err)
	}
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("vuln: new database installed in %s, but the old one in %s could not be removed: %w", dir, old, err)
	}
	return nil
}
