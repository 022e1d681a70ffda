package rbac

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// maxNear bounds the assignments a denial describes; a principal with hundreds of
// assignments should get the few that matter, not a dump.
const maxNear = 5

// explain says why r was denied: the principal's closest assignments and what each lacks.
// Only denials pay for it, and only the few assignments reported are put into words.
func (s *Snapshot) explain(r Request, sp *scopePrefixes) (string, []Nearby) {
	type candidate struct {
		a      *assignment
		role   *compiledRole
		covers bool
		grant  grantResult // what the role grants here, scope aside
		near   int         // leading scope segments shared with the target
	}
	var buf [16]candidate
	cands := buf[:0]
	covering, condBlocked := 0, 0
	for i := -1; i < len(r.Groups); i++ {
		p := r.PrincipalID
		if i >= 0 {
			p = r.Groups[i]
		}
		list := s.assignmentsOf(p)
		for j := range list {
			a := &list[j]
			c := candidate{a: a, role: s.roles[a.roleKey], covers: sp.mayCover(a) && ScopeCovers(a.scope, r.Scope),
				near: commonSegments(a.scope, r.Scope)}
			if c.role != nil {
				c.grant = c.role.grants(r)
			}
			if c.covers {
				covering++
				if c.grant != grantNo {
					condBlocked++
				}
			}
			cands = append(cands, c)
		}
	}
	// Covering assignments first, then the right role at the wrong scope, then nearness.
	slices.SortFunc(cands, func(a, b candidate) int {
		if a.covers != b.covers {
			return boolFirst(a.covers)
		}
		if ag, bg := a.grant != grantNo, b.grant != grantNo; ag != bg {
			return boolFirst(ag)
		}
		if a.near != b.near {
			return cmp.Compare(b.near, a.near)
		}
		return cmp.Compare(a.a.id, b.a.id)
	})
	total := len(cands)
	if len(cands) > maxNear {
		cands = cands[:maxNear]
	}
	var near []Nearby
	if len(cands) > 0 {
		near = make([]Nearby, len(cands))
	}
	for i, c := range cands {
		n := Nearby{
			AssignmentID:     c.a.id,
			Scope:            c.a.rawScope,
			RoleDefinitionID: c.a.roleID,
			PrincipalID:      c.a.principalID,
			CoversScope:      c.covers,
		}
		if c.role != nil {
			n.RoleName = c.role.def.Name
		}
		n.Lacks = describe(c.a, c.role, c.covers, c.grant, r)
		near[i] = n
	}
	return denialReason(r, total, covering, condBlocked), near
}

// describe says what one assignment lacks for r.
func describe(a *assignment, role *compiledRole, covers bool, g grantResult, r Request) string {
	switch {
	case role == nil:
		return "role definition " + a.roleID + " does not exist, so the assignment grants nothing"
	case !covers && g != grantNo:
		return "assignment is at scope " + a.rawScope + ", which does not cover " + r.Scope +
			" (role " + role.def.Name + " would grant " + r.Action + " there)"
	case !covers:
		return "assignment is at scope " + a.rawScope + ", which does not cover " + r.Scope + "; besides, " + roleLacks(role, r)
	case g == grantCondBlocked:
		_, err := blockConditionResult(role, r)
		return "role " + role.def.Name + " grants " + r.Action + " only in a permission block whose condition " + conditionProblem(err)
	case g == grantYes && a.hasCondition():
		_, err := a.evalCondition(r)
		return "role " + role.def.Name + " grants " + r.Action + ", but the assignment's condition " + conditionProblem(err)
	case g == grantYes:
		// Unreachable for a denied request; say so rather than mislead.
		return "nothing: this assignment grants the action"
	}
	return roleLacks(role, r)
}

func denialReason(r Request, total, covering, condBlocked int) string {
	kind := "action "
	if r.DataAction {
		kind = "data action "
	}
	switch {
	case total == 0 && len(r.Groups) > 0:
		return "principal " + r.PrincipalID + " and its " + strconv.Itoa(len(r.Groups)) + " groups have no role assignments"
	case total == 0:
		return "principal " + r.PrincipalID + " has no role assignments"
	case covering == 0:
		return "none of the " + strconv.Itoa(total) + " role assignments of principal " + r.PrincipalID + " covers scope " + r.Scope
	case condBlocked > 0:
		return strconv.Itoa(condBlocked) + " role assignment(s) at or above " + r.Scope + " would grant the " + kind + r.Action +
			", but conditions did not allow it"
	}
	return "no role assigned to principal " + r.PrincipalID + " at " + r.Scope + " or above grants the " + kind + r.Action
}

// roleLacks says, in words, why role grants none of r's action.
func roleLacks(role *compiledRole, r Request) string {
	name := role.def.Name
	grants, denies, other := "actions", "notActions", "dataActions"
	if r.DataAction {
		grants, denies, other = "dataActions", "notDataActions", "actions"
	}
	var all []pattern
	for i := range role.blocks {
		b := &role.blocks[i]
		g, d, o := b.actions, b.notActions, b.dataActions
		if r.DataAction {
			g, d, o = b.dataActions, b.notDataActions, b.actions
		}
		if m := firstMatch(g, r.Action); m != nil {
			if x := firstMatch(d, r.Action); x != nil {
				return "role " + name + " grants " + r.Action + " through " + grants + " " + strconv.Quote(m.raw) +
					" but removes it with " + denies + " " + strconv.Quote(x.raw) + " (that subtraction holds only inside this role)"
			}
		}
		if m := firstMatch(o, r.Action); m != nil {
			if r.DataAction {
				return "role " + name + " matches " + r.Action + " only through its " + other + " " + strconv.Quote(m.raw) +
					"; control-plane actions never grant data actions"
			}
			return "role " + name + " grants " + r.Action + " only as a data action (" + other + " " + strconv.Quote(m.raw) +
				"); this check is for a control-plane action"
		}
		all = append(all, g...)
	}
	if len(all) == 0 {
		if r.DataAction {
			return "role " + name + " has no data actions, so it cannot grant the data action " + r.Action
		}
		return "role " + name + " has no control-plane actions, so it cannot grant " + r.Action
	}
	return "role " + name + " grants " + strings.Join(closest(all, r.Action, 3), ", ") + " but not " + r.Action
}

// blockConditionResult evaluates the first conditional block of role that covers r.
func blockConditionResult(role *compiledRole, r Request) (bool, error) {
	for i := range role.blocks {
		b := &role.blocks[i]
		if b.covers(r.Action, r.DataAction) && (b.cond != nil || b.condErr != nil) {
			return b.evalCondition(r)
		}
	}
	return false, nil
}

func conditionProblem(err error) string {
	if err != nil {
		return fmt.Sprintf("cannot be evaluated (%v), so it does not grant (fail closed)", err)
	}
	return "is not met"
}

// closest returns up to k raw patterns, those sharing the longest prefix with action first.
func closest(ps []pattern, action string, k int) []string {
	type scored struct {
		raw   string
		score int
	}
	ss := make([]scored, len(ps))
	for i, p := range ps {
		ss[i] = scored{p.raw, commonPrefixFold(p.raw, action)}
	}
	slices.SortStableFunc(ss, func(a, b scored) int { return cmp.Compare(b.score, a.score) })
	var out []string
	for _, s := range ss {
		if len(out) == k {
			break
		}
		if !slices.Contains(out, s.raw) {
			out = append(out, s.raw)
		}
	}
	return out
}

func commonPrefixFold(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && foldEq(a[n], b[n]) {
		n++
	}
	return n
}

// commonSegments counts the leading '/'-separated segments two scopes share.
func commonSegments(a, b string) int {
	a, b = strings.Trim(a, "/"), strings.Trim(b, "/")
	n := 0
	for a != "" && b != "" {
		as, arest, _ := strings.Cut(a, "/")
		bs, brest, _ := strings.Cut(b, "/")
		if !strings.EqualFold(as, bs) {
			break
		}
		n++
		a, b = arest, brest
	}
	return n
}

func boolFirst(a bool) int {
	if a {
		return -1
	}
	return 1
}

// String renders d for logs and for "lanyard role check".
func (d Decision) String() string {
	kind := "action"
	if d.DataAction {
		kind = "data action"
	}
	// The principal, action, scope and the reasons built from them came in a request (a
	// blob name may hold a newline): escaped, they cannot forge a line of the explanation.
	esc := lanyard.Printable
	var b strings.Builder
	if d.Allowed {
		fmt.Fprintf(&b, "allowed: principal %s may perform the %s %s at %s: role %q (%s) assigned at %s (assignment %s)",
			esc(d.PrincipalID), kind, esc(d.Action), esc(d.Scope), d.RoleName, d.RoleDefinitionID, d.AssignmentScope, d.AssignmentID)
		if d.ViaGroup != "" {
			fmt.Fprintf(&b, " to group %s", d.ViaGroup)
		}
		return b.String()
	}
	fmt.Fprintf(&b, "denied: principal %s may not perform the %s %s at %s: %s", esc(d.PrincipalID), kind, esc(d.Action), esc(d.Scope), esc(d.Reason))
	for _, n := range d.Near {
		role := n.RoleName
		if role == "" {
			role = n.RoleDefinitionID
		}
		fmt.Fprintf(&b, "\n  - assignment %s (role %q at %s): %s", n.AssignmentID, role, n.Scope, esc(n.Lacks))
	}
	return b.String()
}
