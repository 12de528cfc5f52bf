package smt

import (
	"bytes"
	"fmt"
	"slices"
)

// Change sets a key to a value hash, or removes it when Delete is set.
type Change struct {
	Key    Hash
	Value  Hash // ignored when Delete is set
	Delete bool
}

// Update applies changes to the map whose root is root and returns the
// new root and the nodes it created, which the caller writes to its store
// (in the same batch as whatever else it commits). It writes nothing and
// leaves the old root provable. Removing an absent key changes nothing;
// two changes of one key are refused. It reads and hashes the paths of
// the changed keys only: O(changes × log n) for n keys.
func Update(r NodeReader, root Hash, changes []Change) (Hash, []Node, error) {
	sorted := slices.Clone(changes)
	slices.SortFunc(sorted, func(a, b Change) int { return bytes.Compare(a.Key[:], b.Key[:]) })
	for i := 1; i < len(sorted); i++ {
		if sorted[i].Key == sorted[i-1].Key {
			return Empty, nil, fmt.Errorf("smt: key %x changed twice in one update", sorted[i].Key)
		}
	}
	u := updater{r: r}
	s, err := u.update(sub{hash: root, kind: unknown}, 0, sorted)
	if err != nil {
		return Empty, nil, err
	}
	return s.hash, u.nodes, nil
}

// Apply is Update followed by a Put of the new nodes into s.
func Apply(s NodeStore, root Hash, changes []Change) (Hash, error) {
	root, nodes, err := Update(s, root, changes)
	if err != nil {
		return Empty, err
	}
	if err := s.Put(nodes); err != nil {
		return Empty, fmt.Errorf("smt: store nodes: %w", err)
	}
	return root, nil
}

type kind byte

const (
	unknown kind = iota // not read yet (a subtree the changes do not touch)
	empty
	leaf
	internal
)

// sub is the hash of a subtree and what kind of node it is.
type sub struct {
	hash Hash
	kind kind
}

// entry is a key and value hash bound for a leaf; stored marks the leaf
// that is already in the store.
type entry struct {
	key, value Hash
	stored     bool
}

type updater struct {
	r     NodeReader
	nodes []Node // created so far
}

// update returns the subtree at depth s after changes, which are sorted
// and all lie below it.
func (u *updater) update(s sub, depth int, changes []Change) (sub, error) {
	if len(changes) == 0 {
		return s, nil
	}
	if s.hash == Empty {
		return u.build(depth, entries(changes, nil)), nil
	}
	n, err := get(u.r, s.hash)
	if err != nil {
		return sub{}, err
	}
	if n.leaf {
		if !samePrefix(n.a, changes[0].Key, depth) {
			return sub{}, fmt.Errorf("smt: leaf %x of key %x is off its key's path", s.hash, n.a)
		}
		return u.build(depth, entries(changes, &entry{key: n.a, value: n.b, stored: true})), nil
	}
	if depth >= 8*HashSize {
		return sub{}, fmt.Errorf("smt: node %x is an internal node below the deepest level", s.hash)
	}
	i := split(changes, depth)
	left, err := u.update(sub{hash: n.a, kind: unknown}, depth+1, changes[:i])
	if err != nil {
		return sub{}, err
	}
	right, err := u.update(sub{hash: n.b, kind: unknown}, depth+1, changes[i:])
	if err != nil {
		return sub{}, err
	}
	if left.hash == n.a && right.hash == n.b {
		return sub{hash: s.hash, kind: internal}, nil // the changes changed nothing
	}
	return u.join(left, right)
}

// join returns the node over left and right: empty over two empty
// subtrees, a lone leaf lifted over an empty sibling, else an internal
// node.
func (u *updater) join(left, right sub) (sub, error) {
	var err error
	switch {
	case left.hash == Empty && right.hash == Empty:
		return sub{hash: Empty, kind: empty}, nil
	case left.hash == Empty:
		if right, err = u.resolve(right); err != nil || right.kind == leaf {
			return right, err
		}
	case right.hash == Empty:
		if left, err = u.resolve(left); err != nil || left.kind == leaf {
			return left, err
		}
	}
	return u.add(newNode(nodePrefix, left.hash, right.hash), internal), nil
}

// resolve reads the kind of a subtree the changes did not touch.
func (u *updater) resolve(s sub) (sub, error) {
	if s.kind != unknown {
		return s, nil
	}
	n, err := get(u.r, s.hash)
	if err != nil {
		return sub{}, err
	}
	s.kind = internal
	if n.leaf {
		s.kind = leaf
	}
	return s, nil
}

// build returns the subtree at depth that holds exactly es, which are
// sorted by key.
func (u *updater) build(depth int, es []entry) sub {
	switch len(es) {
	case 0:
		return sub{hash: Empty, kind: empty}
	case 1:
		n := newNode(leafPrefix, es[0].key, es[0].value)
		if es[0].stored {
			return sub{hash: n.Hash, kind: leaf}
		}
		return u.add(n, leaf)
	}
	i, _ := slices.BinarySearchFunc(es, depth, func(e entry, depth int) int { return int(bit(e.key, depth)) - 1 })
	left, right := u.build(depth+1, es[:i]), u.build(depth+1, es[i:])
	return u.add(newNode(nodePrefix, left.hash, right.hash), internal)
}

func (u *updater) add(n Node, k kind) sub {
	u.nodes = append(u.nodes, n)
	return sub{hash: n.Hash, kind: k}
}

// split returns the index of the first change whose key turns right at
// depth; changes are sorted and share the bits above depth.
func split(changes []Change, depth int) int {
	i, _ := slices.BinarySearchFunc(changes, depth, func(c Change, depth int) int { return int(bit(c.Key, depth)) - 1 })
	return i
}

// entries returns the leaves that changes leave in a subtree that held
// only old (nil for an empty one), sorted by key.
func entries(changes []Change, old *entry) []entry {
	es := make([]entry, 0, len(changes)+1)
	for _, c := range changes {
		if old != nil && bytes.Compare(old.key[:], c.Key[:]) < 0 {
			es = append(es, *old)
			old = nil
		}
		e := entry{key: c.Key, value: c.Value}
		if old != nil && old.key == c.Key {
			e.stored = old.value == c.Value
			old = nil
		}
		if !c.Delete {
			es = append(es, e)
		}
	}
	if old != nil {
		es = append(es, *old)
	}
	return es
}
