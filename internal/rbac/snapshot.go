package rbac

import (
	"maps"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// Snapshot is an immutable view of role definitions and assignments, indexed for checks.
// Build one with NewSnapshot; derive changed ones with the With/Without methods, which
// share everything they do not change. A Snapshot is safe for concurrent use.
type Snapshot struct {
	roles      map[string]*compiledRole // by lower-case GUID
	principals index[[]assignment]      // by lower-case principal id
	ids        index[string]            // lower-case assignment id → lower-case principal id
	count      int
}

// NewSnapshot indexes defs and assigns. The built-in catalogue is always included; a
// definition in defs with a built-in's id replaces it. Assignments whose role is unknown
// are kept (the role may be added later) but grant nothing. When two assignments share an
// id, the later one wins. The snapshot keeps references to the strings it is given; it
// never changes them.
func NewSnapshot(defs []lanyard.RoleDefinition, assigns []lanyard.RoleAssignment) *Snapshot {
	s := &Snapshot{roles: make(map[string]*compiledRole, len(loadCatalogue().roles)+len(defs))}
	for _, d := range loadCatalogue().roles {
		s.roles[asciiLower(d.ID)] = compileRole(d)
	}
	for _, d := range defs {
		s.roles[asciiLower(lanyard.RoleDefinitionGUID(d.ID))] = compileRole(d)
	}
	for _, a := range assigns {
		x := newAssignment(a)
		idKey, pKey := asciiLower(a.ID), asciiLower(a.PrincipalID)
		// The indexes are still private to this function, so they change in place.
		if old, ok := s.ids.lookup(idKey); ok {
			s.principals.setInPlace(old, withoutID(s.principals.get(old), idKey))
			s.count--
		}
		s.ids.setInPlace(idKey, pKey)
		s.principals.setInPlace(pKey, append(s.principals.get(pKey), x))
		s.count++
	}
	// Appends leave up to half of each list as slack; at 100,000 assignments that is
	// megabytes, so give each list exactly its length.
	s.principals.mapInPlace(func(list []assignment) []assignment {
		if cap(list) == len(list) {
			return list
		}
		return append(make([]assignment, 0, len(list)), list...)
	})
	return s
}

// Len returns the number of role assignments in s.
func (s *Snapshot) Len() int { return s.count }

// RoleDefinition returns the definition with the given GUID (or ARM id).
func (s *Snapshot) RoleDefinition(id string) (lanyard.RoleDefinition, bool) {
	r := s.roles[asciiLower(lanyard.RoleDefinitionGUID(id))]
	if r == nil {
		return lanyard.RoleDefinition{}, false
	}
	return cloneDefinition(r.def), true
}

// WithAssignment returns a snapshot with a added, replacing any assignment with its id.
func (s *Snapshot) WithAssignment(a lanyard.RoleAssignment) *Snapshot {
	n := s.clone()
	x := newAssignment(a)
	idKey, pKey := asciiLower(a.ID), asciiLower(a.PrincipalID)
	if old, ok := s.ids.lookup(idKey); ok {
		n.removePrincipalEntry(old, idKey)
		n.count--
	}
	n.ids.set(idKey, pKey)
	cur := n.principals.get(pKey)
	// A fresh slice: the old one may be shared with s and with snapshots derived from it.
	list := make([]assignment, len(cur), len(cur)+1)
	copy(list, cur)
	n.principals.set(pKey, append(list, x))
	n.count++
	return n
}

// WithoutAssignment returns a snapshot without the assignment with the given id (GUID);
// s itself when there is none.
func (s *Snapshot) WithoutAssignment(id string) *Snapshot {
	idKey := asciiLower(id)
	old, ok := s.ids.lookup(idKey)
	if !ok {
		return s
	}
	n := s.clone()
	n.ids.del(idKey)
	n.removePrincipalEntry(old, idKey)
	n.count--
	return n
}

// WithRoleDefinition returns a snapshot with d added or replacing the definition with its
// id. Assignments refer to roles by id, so they see the new definition at once.
func (s *Snapshot) WithRoleDefinition(d lanyard.RoleDefinition) *Snapshot {
	n := s.clone()
	n.roles = maps.Clone(s.roles)
	n.roles[asciiLower(lanyard.RoleDefinitionGUID(d.ID))] = compileRole(d)
	return n
}

// WithoutRoleDefinition returns a snapshot without the definition with the given id. Its
// assignments stay and grant nothing; Azure refuses to delete a role that still has
// assignments, and so should the store.
func (s *Snapshot) WithoutRoleDefinition(id string) *Snapshot {
	key := asciiLower(lanyard.RoleDefinitionGUID(id))
	if _, ok := s.roles[key]; !ok {
		return s
	}
	n := s.clone()
	n.roles = maps.Clone(s.roles)
	delete(n.roles, key)
	return n
}

// clone copies the top of the indexes; their set and del copy what lies below.
func (s *Snapshot) clone() *Snapshot {
	n := *s
	return &n
}

// removePrincipalEntry drops the assignment with idKey from principal's list in s, which
// must be a clone private to the caller.
func (s *Snapshot) removePrincipalEntry(principal, idKey string) {
	rest := withoutID(s.principals.get(principal), idKey)
	if len(rest) == 0 {
		s.principals.del(principal)
	} else {
		s.principals.set(principal, rest)
	}
}

// withoutID returns a new slice holding list minus the assignment with idKey.
func withoutID(list []assignment, idKey string) []assignment {
	out := make([]assignment, 0, len(list))
	for _, a := range list {
		if !asciiEqualFold(a.id, idKey) {
			out = append(out, a)
		}
	}
	return out
}

// assignmentsOf returns the assignments naming principal, compared case-insensitively.
// It does not allocate for ids up to 64 bytes (every GUID).
func (s *Snapshot) assignmentsOf(principal string) []assignment {
	var buf [64]byte
	return s.principals.getBytes(lowerInto(buf[:0], principal))
}
