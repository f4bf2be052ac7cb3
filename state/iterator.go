package state

import ldbiter "github.com/syndtr/goleveldb/leveldb/iterator"

// iterator adapts a LevelDB iterator to goka's, skipping the offset key.
type iterator struct {
	it ldbiter.Iterator
}

// Next moves to the next pair, skipping goka's offset key.
func (i *iterator) Next() bool {
	for i.it.Next() {
		if string(i.it.Key()) != offsetKey {
			return true
		}
	}
	return false
}

// Seek moves to the first pair whose key is >= key (skipping the offset key)
// and reports whether there is one; Key and Value then return it.
func (i *iterator) Seek(key []byte) bool {
	if !i.it.Seek(key) {
		return false
	}
	if string(i.it.Key()) == offsetKey {
		return i.Next()
	}
	return true
}

// Key returns the current key; valid until the next call to Next or Seek.
func (i *iterator) Key() []byte { return i.it.Key() }

// Value returns the current value; valid until the next call to Next or Seek.
func (i *iterator) Value() ([]byte, error) { return i.it.Value(), nil }

// Err returns the error that stopped the iteration, if any.
func (i *iterator) Err() error { return i.it.Error() }

// Release releases the iterator and its snapshot.
func (i *iterator) Release() { i.it.Release() }
