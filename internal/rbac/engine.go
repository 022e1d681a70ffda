package rbac

import (
	"sync/atomic"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// Request is one access check: may the principal perform the action at the scope?
type Request struct {
	PrincipalID string
	// Groups are the object ids of the groups the principal belongs to, transitively, as
	// the caller's token lists them. Assignments to those groups count as the principal's.
	Groups []string
	// Action is the operation, e.g.
	// Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read.
	Action string
	// DataAction says whether Action is a data action. Data actions are granted only by
	// DataActions, control-plane actions only by Actions.
	DataAction bool
	// Scope is the ARM id of the target. A blob is addressed below its container as
	// {container scope}/blobs/{blob path}, so container and blob conditions can see both.
	Scope string
	// Brief skips explaining a denial (Reason and Near stay empty), which costs far more
	// than the decision. Resources decide briefly on every request and ask for the
	// explanation only when they report a denial.
	Brief bool
	// SubOperation refines the action for conditions, e.g. "Blob.List" for List Blobs.
	SubOperation string
	// Attributes supplies condition attributes Lanyard cannot derive from Scope (blob index
	// tags, request headers, principal attributes). source is Resource, Request, Principal
	// or Environment; name is the text between the brackets. ok=false means the caller
	// cannot supply it, and an assignment whose condition needs it does not grant.
	// values may be empty when the attribute is supported but absent, e.g. a missing tag.
	Attributes func(source, name string) (values []string, ok bool)
}

// Decision is the outcome of a check. When Allowed, it names the assignment and role that
// granted the action; when denied, Reason says why and Near lists the principal's closest
// assignments with what each lacks.
type Decision struct {
	Allowed     bool
	PrincipalID string
	Action      string
	DataAction  bool
	Scope       string

	AssignmentID     string
	AssignmentScope  string
	RoleDefinitionID string
	RoleName         string
	// ViaGroup is the group the granting assignment names, "" when it names the principal.
	ViaGroup string

	Reason string
	Near   []Nearby
}

// Nearby is one of the principal's assignments considered in a denial, and what it lacks.
type Nearby struct {
	AssignmentID     string
	Scope            string
	RoleDefinitionID string
	RoleName         string
	PrincipalID      string // the assignment's principal: the caller or one of its groups
	CoversScope      bool
	Lacks            string
}

// Engine answers access checks against the current Snapshot. Whoever changes role
// definitions or assignments builds a new Snapshot and swaps it in; checks in flight finish
// on the snapshot they started with, and every later check sees the new one. The zero
// Engine denies everything until a snapshot is swapped in.
type Engine struct {
	cur atomic.Pointer[Snapshot]
}

// NewEngine returns an engine serving s, or an empty snapshot (built-ins, no assignments)
// when s is nil.
func NewEngine(s *Snapshot) *Engine {
	if s == nil {
		s = NewSnapshot(nil, nil)
	}
	e := &Engine{}
	e.cur.Store(s)
	return e
}

// Snapshot returns the snapshot checks currently run against.
func (e *Engine) Snapshot() *Snapshot { return e.cur.Load() }

// Swap makes s the current snapshot and returns the previous one.
func (e *Engine) Swap(s *Snapshot) *Snapshot { return e.cur.Swap(s) }

// Update replaces the current snapshot with f(current), retrying if another writer swapped
// in between, so concurrent incremental updates (WithAssignment, WithoutAssignment) are
// never lost. f must be free of side effects: it may run more than once.
func (e *Engine) Update(f func(*Snapshot) *Snapshot) *Snapshot {
	for {
		old := e.cur.Load()
		if old == nil {
			old = NewSnapshot(nil, nil)
			next := f(old)
			if e.cur.CompareAndSwap(nil, next) {
				return next
			}
			continue
		}
		next := f(old)
		if e.cur.CompareAndSwap(old, next) {
			return next
		}
	}
}

// Decide checks one action of one principal at one scope against the current snapshot.
func (e *Engine) Decide(principalID, action string, dataAction bool, scope string) Decision {
	return e.cur.Load().Evaluate(Request{PrincipalID: principalID, Action: action, DataAction: dataAction, Scope: scope})
}

// Evaluate checks r against the current snapshot.
func (e *Engine) Evaluate(r Request) Decision { return e.cur.Load().Evaluate(r) }

// Check is the what-if form for tools such as "lanyard role check": it works out whether
// action is a data action from the catalogue (IsDataAction) and decides.
func (e *Engine) Check(principalID, action, scope string) Decision {
	return e.cur.Load().Check(principalID, action, scope)
}

// Decide checks one action of one principal at one scope against s.
func (s *Snapshot) Decide(principalID, action string, dataAction bool, scope string) Decision {
	return s.Evaluate(Request{PrincipalID: principalID, Action: action, DataAction: dataAction, Scope: scope})
}

// Check decides like Decide, taking whether action is a data action from IsDataAction.
func (s *Snapshot) Check(principalID, action, scope string) Decision {
	return s.Evaluate(Request{PrincipalID: principalID, Action: action, DataAction: IsDataAction(action), Scope: scope})
}

// Evaluate checks r against s. Azure's semantics: the union over every assignment of the
// principal (or its groups) at the scope or an ancestor; inside each permission block of
// each role, Actions minus NotActions (or DataActions minus NotDataActions); an assignment
// or block with a condition grants only when the condition evaluates to true, and one
// that cannot be evaluated does not grant.
//
// An allowed decision does not allocate unless a condition had to be evaluated.
func (s *Snapshot) Evaluate(r Request) Decision {
	d := Decision{PrincipalID: r.PrincipalID, Action: r.Action, DataAction: r.DataAction, Scope: r.Scope}
	if s == nil {
		d.Reason = "no role assignments are loaded"
		return d
	}
	if r.Action == "" || r.PrincipalID == "" {
		d.Reason = "the request names no principal or no action"
		return d
	}
	var sp scopePrefixes
	sp.init(r.Scope)
	if a, role := s.grant(r, &sp, r.PrincipalID); a != nil {
		return allow(d, a, role, "")
	}
	for _, g := range r.Groups {
		if a, role := s.grant(r, &sp, g); a != nil {
			return allow(d, a, role, a.principalID)
		}
	}
	if !r.Brief {
		d.Reason, d.Near = s.explain(r, &sp)
	}
	return d
}

func allow(d Decision, a *assignment, role *compiledRole, group string) Decision {
	d.Allowed = true
	d.AssignmentID = a.id
	d.AssignmentScope = a.rawScope
	d.RoleDefinitionID = role.def.ID
	d.RoleName = role.def.Name
	d.ViaGroup = group
	return d
}

// grant returns the first assignment of principal that grants r, with its role.
func (s *Snapshot) grant(r Request, sp *scopePrefixes, principal string) (*assignment, *compiledRole) {
	list := s.assignmentsOf(principal)
	for i := range list {
		a := &list[i]
		if !sp.mayCover(a) || !ScopeCovers(a.scope, r.Scope) {
			continue
		}
		role := s.roles[a.roleKey]
		if role == nil {
			continue
		}
		if role.grants(r) != grantYes {
			continue
		}
		if a.hasCondition() {
			if ok, _ := a.evalCondition(r); !ok {
				continue
			}
		}
		return a, role
	}
	return nil, nil
}

type grantResult uint8

const (
	grantNo          grantResult = iota
	grantYes                     // a block grants, with no condition or a condition that holds
	grantCondBlocked             // only blocks whose condition fails or cannot be evaluated grant
)

// grants reports whether some permission block of the role grants r.
func (c *compiledRole) grants(r Request) grantResult {
	res := grantNo
	for i := range c.blocks {
		b := &c.blocks[i]
		if !b.covers(r.Action, r.DataAction) {
			continue
		}
		if b.cond == nil && b.condErr == nil {
			return grantYes
		}
		if ok, _ := b.evalCondition(r); ok {
			return grantYes
		}
		res = grantCondBlocked
	}
	return res
}

// covers applies one block's subtraction: Actions minus NotActions for control-plane
// actions, DataActions minus NotDataActions for data actions. The two never mix.
func (b *compiledBlock) covers(action string, data bool) bool {
	if data {
		return firstMatch(b.dataActions, action) != nil && firstMatch(b.notDataActions, action) == nil
	}
	return firstMatch(b.actions, action) != nil && firstMatch(b.notActions, action) == nil
}

func (b *compiledBlock) evalCondition(r Request) (bool, error) {
	return evalCompiled(b.cond, b.condErr, r)
}

func (a *assignment) hasCondition() bool { return a.cond != nil || a.condErr != nil }

func (a *assignment) evalCondition(r Request) (bool, error) {
	return evalCompiled(a.cond, a.condErr, r)
}

// evalCompiled evaluates a compiled condition; a condition that did not compile is an
// error, so the caller fails closed.
func evalCompiled(c *condition, compileErr error, r Request) (bool, error) {
	if compileErr != nil {
		return false, compileErr
	}
	// Only this path needs r on the heap; keeping the copy here keeps Evaluate's own
	// request on the stack.
	rc := r
	return c.root.eval(&condEnv{req: &rc})
}

// compiledRole is a role definition with its patterns compiled once.
type compiledRole struct {
	def    lanyard.RoleDefinition
	blocks []compiledBlock
}

type compiledBlock struct {
	actions, notActions, dataActions, notDataActions []pattern
	cond                                             *condition
	condErr                                          error
}

func compileRole(d lanyard.RoleDefinition) *compiledRole {
	c := &compiledRole{def: d, blocks: make([]compiledBlock, len(d.Permissions))}
	for i, p := range d.Permissions {
		b := compiledBlock{
			actions:        compilePatterns(p.Actions),
			notActions:     compilePatterns(p.NotActions),
			dataActions:    compilePatterns(p.DataActions),
			notDataActions: compilePatterns(p.NotDataActions),
		}
		if p.Condition != "" {
			b.cond, b.condErr = compileCondition(p.Condition)
		}
		c.blocks[i] = b
	}
	return c
}

// assignment is a role assignment as the engine keeps it: the fields decisions and
// explanations need, keys pre-folded, condition pre-compiled. Assignments are stored by
// value in their principal's slice, so a check walks contiguous memory; the fields every
// check reads come first.
type assignment struct {
	scopeHash uint64 // of the folded, trimmed scope; see scopePrefixes
	scopeLen  int32
	scopeKind scopeKind
	scope     string // trailing slashes trimmed; the root stays "/"
	roleKey   string // lower-case GUID of the role definition
	cond      *condition
	condErr   error

	id          string
	rawScope    string // as assigned
	roleID      string // GUID of the role definition, as assigned
	principalID string
	condition   string
}

type scopeKind uint8

const (
	scopeHashed   scopeKind = iota // scopeHash and scopeLen are set
	scopeRoot                      // "/": covers everything
	scopeUnhashed                  // empty, non-ASCII or very deep: always compared in full
)

func newAssignment(a lanyard.RoleAssignment) assignment {
	roleID := lanyard.RoleDefinitionGUID(a.RoleDefinitionID)
	x := assignment{
		id:          a.ID,
		rawScope:    a.Scope,
		scope:       trimScope(a.Scope),
		roleID:      roleID,
		roleKey:     asciiLower(roleID),
		principalID: a.PrincipalID,
		condition:   a.Condition,
	}
	switch {
	case x.scope == "" && a.Scope != "":
		// Trimming turns the root "/" into ""; keep it the root. An empty scope stays empty
		// and covers nothing (see ScopeCovers).
		x.scope, x.scopeKind = "/", scopeRoot
	case x.scope == "" || len(x.scope) > maxHashedScope:
		x.scopeKind = scopeUnhashed
	default:
		h, ok := scopeHash(x.scope)
		if !ok {
			x.scopeKind = scopeUnhashed
		}
		x.scopeHash, x.scopeLen = h, int32(len(x.scope))
	}
	if a.Condition != "" {
		x.cond, x.condErr = compileCondition(a.Condition)
	}
	return x
}

// maxHashedScope keeps scopeLen meaningful; longer scopes are compared in full.
const maxHashedScope = 1 << 20

// scopeHash is FNV-1a over s with ASCII letters folded; ok is false when s has a
// non-ASCII byte, whose case folding the hash cannot mirror.
func scopeHash(s string) (h uint64, ok bool) {
	h = 14695981039346656037
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return 0, false
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h, true
}

// scopePrefixes holds the hash of every segment-boundary prefix of a request's scope, so a
// check rules out an assignment at an unrelated scope from its stored hash alone, without
// reading its scope string (a cache miss per assignment at 100,000 assignments). A hash
// match is still confirmed with ScopeCovers.
type scopePrefixes struct {
	ok     bool
	n      int
	lens   [48]int32
	hashes [48]uint64
}

func (p *scopePrefixes) init(scope string) {
	t := trimScope(scope)
	if t == "" || len(t) > maxHashedScope {
		return
	}
	h := uint64(14695981039346656037)
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c >= 0x80 {
			return
		}
		if c == '/' && i > 0 {
			if p.n == len(p.lens) {
				return
			}
			p.lens[p.n], p.hashes[p.n] = int32(i), h
			p.n++
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		h ^= uint64(c)
		h *= 1099511628211
	}
	if p.n == len(p.lens) {
		return
	}
	p.lens[p.n], p.hashes[p.n] = int32(len(t)), h
	p.n++
	p.ok = true
}

// mayCover reports false only when a's scope certainly does not cover the request's.
func (p *scopePrefixes) mayCover(a *assignment) bool {
	if a.scopeKind != scopeHashed || !p.ok {
		return true
	}
	for i := 0; i < p.n; i++ {
		if p.lens[i] == a.scopeLen {
			return p.hashes[i] == a.scopeHash
		}
		if p.lens[i] > a.scopeLen {
			return false
		}
	}
	return false
}
