package storetest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store"
)

func newFederatedCredential(id lanyard.Identity, name, subject string) lanyard.FederatedCredential {
	return lanyard.FederatedCredential{
		Name:                name,
		IdentityPrincipalID: id.PrincipalID,
		IdentityResourceID:  id.ResourceID,
		Issuer:              "https://token.actions.githubusercontent.com",
		Subject:             subject,
		Audiences:           []string{lanyard.DefaultFederatedAudience},
		Description:         "Deploys from " + subject + "; \"quoted\" & accented: é.",
		CreatedAt:           at(12 * time.Minute),
		UpdatedAt:           at(13 * time.Minute),
	}
}

func normFederatedCredential(c lanyard.FederatedCredential) lanyard.FederatedCredential {
	c.Audiences = normStrings(c.Audiences)
	return c
}

func credentialName(c lanyard.FederatedCredential) string {
	return c.IdentityPrincipalID + "/" + strings.ToLower(c.Name)
}

func testFederatedCredentials(t *testing.T, s store.Store) {
	ctx := t.Context()
	u1 := newIdentity(lanyard.UserAssigned, "rg-Fed", "id-Deploy")
	u2 := newIdentity(lanyard.UserAssigned, "rg-Fed", "id-Other")
	for _, id := range []lanyard.Identity{u1, u2} {
		must(t, "CreateIdentity "+id.Name, s.CreateIdentity(ctx, id))
	}

	gh := newFederatedCredential(u1, "GitHub-Main", "repo:org/repo:ref:refs/heads/main")
	k8s := newFederatedCredential(u1, "aks_sa", "system:serviceaccount:ns:sa")
	k8s.Issuer = "https://oidc.example.test/cluster/"
	k8s.Audiences = []string{"api://AzureADTokenExchange", "api://Other"} // the store keeps any number
	k8s.Description = ""
	k8s.CreatedAt, k8s.UpdatedAt = at(time.Hour), at(2*time.Hour)
	same2 := newFederatedCredential(u2, "github-main", gh.Subject) // same name and pair, other identity
	for _, c := range []lanyard.FederatedCredential{gh, k8s, same2} {
		must(t, "CreateFederatedCredential "+c.Name, s.CreateFederatedCredential(ctx, c))
	}

	for _, name := range []string{"GitHub-Main", "github-main", "GITHUB-MAIN"} {
		got, err := s.GetFederatedCredential(ctx, u1.PrincipalID, name)
		must(t, "GetFederatedCredential "+name, err)
		same(t, "GetFederatedCredential "+name, got, gh, normFederatedCredential)
	}
	got, err := s.GetFederatedCredential(ctx, u1.PrincipalID, "AKS_SA")
	must(t, "GetFederatedCredential aks_sa", err)
	same(t, "GetFederatedCredential aks_sa", got, k8s, normFederatedCredential)
	_, err = s.GetFederatedCredential(ctx, u1.PrincipalID, "missing")
	wantNotFound(t, "GetFederatedCredential of a missing name", err)
	_, err = s.GetFederatedCredential(ctx, guid(), gh.Name)
	wantNotFound(t, "GetFederatedCredential of a missing identity", err)

	list, err := s.ListFederatedCredentials(ctx, u1.PrincipalID)
	must(t, "ListFederatedCredentials", err)
	if len(list) != 2 || list[0].Name != k8s.Name || list[1].Name != gh.Name {
		t.Errorf("ListFederatedCredentials is not ordered by name: %+v", list)
	}
	sameSet(t, "ListFederatedCredentials(u1)", list, []lanyard.FederatedCredential{gh, k8s}, normFederatedCredential, credentialName)
	list, err = s.ListFederatedCredentials(ctx, u2.PrincipalID)
	must(t, "ListFederatedCredentials(u2)", err)
	sameSet(t, "ListFederatedCredentials(u2)", list, []lanyard.FederatedCredential{same2}, normFederatedCredential, credentialName)
	list, err = s.ListFederatedCredentials(ctx, guid())
	if err != nil || len(list) != 0 {
		t.Errorf("ListFederatedCredentials of a missing identity = %v, %v; want an empty list", list, err)
	}

	// Names are unique per identity whatever their case; the issuer and subject pair is
	// unique too, compared exactly.
	dupName := newFederatedCredential(u1, "GITHUB-main", "repo:org/repo:environment:prod")
	wantConflict(t, "CreateFederatedCredential with a taken name", s.CreateFederatedCredential(ctx, dupName))
	dupPair := newFederatedCredential(u1, "another", gh.Subject)
	wantConflict(t, "CreateFederatedCredential with a taken issuer and subject", s.CreateFederatedCredential(ctx, dupPair))
	upper := newFederatedCredential(u1, "upper", strings.ToUpper(gh.Subject))
	must(t, "CreateFederatedCredential with a subject differing only in case", s.CreateFederatedCredential(ctx, upper))
	otherIssuer := newFederatedCredential(u1, "other-issuer", gh.Subject)
	otherIssuer.Issuer = gh.Issuer + "/"
	must(t, "CreateFederatedCredential with the same subject from another issuer", s.CreateFederatedCredential(ctx, otherIssuer))
	if got, err := s.GetFederatedCredential(ctx, u1.PrincipalID, gh.Name); err != nil {
		t.Errorf("GetFederatedCredential after refused creates: %v", err)
	} else {
		same(t, "credential after refused creates", got, gh, normFederatedCredential)
	}
	_, err = s.GetFederatedCredential(ctx, u1.PrincipalID, "another")
	wantNotFound(t, "a refused create left a credential behind", err)

	orphan := newFederatedCredential(lanyard.Identity{PrincipalID: guid(), ResourceID: "/x"}, "orphan", "s")
	wantNotFound(t, "CreateFederatedCredential for a missing identity", s.CreateFederatedCredential(ctx, orphan))

	// Update.
	var seen lanyard.FederatedCredential
	updated, err := s.UpdateFederatedCredential(ctx, u1.PrincipalID, "GITHUB-MAIN", func(c lanyard.FederatedCredential) (lanyard.FederatedCredential, error) {
		seen = c
		c.Subject = "repo:org/repo:environment:prod"
		c.Audiences = []string{"api://Custom"}
		c.Description = "changed"
		c.UpdatedAt = at(3 * time.Hour)
		return c, nil
	})
	must(t, "UpdateFederatedCredential", err)
	same(t, "the value UpdateFederatedCredential passes its updater", seen, gh, normFederatedCredential)
	want := gh
	want.Subject, want.Audiences, want.Description, want.UpdatedAt = "repo:org/repo:environment:prod", []string{"api://Custom"}, "changed", at(3*time.Hour)
	same(t, "UpdateFederatedCredential result", updated, want, normFederatedCredential)
	got, err = s.GetFederatedCredential(ctx, u1.PrincipalID, gh.Name)
	must(t, "GetFederatedCredential after update", err)
	same(t, "GetFederatedCredential after update", got, want, normFederatedCredential)
	// The old pair is free again.
	dupPair.Name = "reuses-old-pair"
	must(t, "CreateFederatedCredential reusing a pair freed by an update", s.CreateFederatedCredential(ctx, dupPair))

	_, err = s.UpdateFederatedCredential(ctx, u1.PrincipalID, k8s.Name, func(c lanyard.FederatedCredential) (lanyard.FederatedCredential, error) {
		c.Issuer, c.Subject = want.Issuer, want.Subject
		return c, nil
	})
	wantConflict(t, "UpdateFederatedCredential to a taken issuer and subject", err)
	boom := errors.New("boom")
	_, err = s.UpdateFederatedCredential(ctx, u1.PrincipalID, k8s.Name, func(c lanyard.FederatedCredential) (lanyard.FederatedCredential, error) {
		c.Subject = "changed"
		return c, boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("UpdateFederatedCredential with a failing updater: got %v, want the updater's error", err)
	}
	if got, err := s.GetFederatedCredential(ctx, u1.PrincipalID, k8s.Name); err != nil {
		t.Errorf("GetFederatedCredential after refused updates: %v", err)
	} else {
		same(t, "credential after refused updates", got, k8s, normFederatedCredential)
	}
	called := false
	_, err = s.UpdateFederatedCredential(ctx, u2.PrincipalID, k8s.Name, func(c lanyard.FederatedCredential) (lanyard.FederatedCredential, error) {
		called = true
		return c, nil
	})
	wantNotFound(t, "UpdateFederatedCredential of a name another identity holds", err)
	if called {
		t.Error("UpdateFederatedCredential called its updater for a missing credential")
	}

	// Delete.
	must(t, "DeleteFederatedCredential", s.DeleteFederatedCredential(ctx, u1.PrincipalID, "UPPER"))
	_, err = s.GetFederatedCredential(ctx, u1.PrincipalID, "upper")
	wantNotFound(t, "GetFederatedCredential after delete", err)
	wantNotFound(t, "DeleteFederatedCredential twice", s.DeleteFederatedCredential(ctx, u1.PrincipalID, "upper"))
	wantNotFound(t, "DeleteFederatedCredential of another identity's name", s.DeleteFederatedCredential(ctx, u2.PrincipalID, "aks_sa"))
	must(t, "CreateFederatedCredential reusing a deleted name and pair", s.CreateFederatedCredential(ctx, upper))

	// At most MaxFederatedCredentialsPerIdentity per identity, counted per identity.
	list, err = s.ListFederatedCredentials(ctx, u1.PrincipalID)
	must(t, "ListFederatedCredentials before filling", err)
	for i := len(list); i < lanyard.MaxFederatedCredentialsPerIdentity; i++ {
		c := newFederatedCredential(u1, fmt.Sprintf("fill-%02d", i), fmt.Sprintf("system:serviceaccount:ns:sa-%d", i))
		must(t, "CreateFederatedCredential "+c.Name, s.CreateFederatedCredential(ctx, c))
	}
	over := newFederatedCredential(u1, "one-too-many", "system:serviceaccount:ns:extra")
	wantCode(t, "CreateFederatedCredential past the limit", s.CreateFederatedCredential(ctx, over), lanyard.KindInvalid, lanyard.CodeFederatedCredentialLimit)
	must(t, "CreateFederatedCredential on another identity", s.CreateFederatedCredential(ctx, newFederatedCredential(u2, "second", "s2")))
	must(t, "DeleteFederatedCredential to make room", s.DeleteFederatedCredential(ctx, u1.PrincipalID, "fill-19"))
	must(t, "CreateFederatedCredential after making room", s.CreateFederatedCredential(ctx, over))

	// Deleting the identity takes its credentials with it, and only its own.
	must(t, "DeleteIdentity", s.DeleteIdentity(ctx, u1.PrincipalID))
	list, err = s.ListFederatedCredentials(ctx, u1.PrincipalID)
	if err != nil || len(list) != 0 {
		t.Errorf("credentials left after their identity was deleted: %v, %v", list, err)
	}
	_, err = s.GetFederatedCredential(ctx, u1.PrincipalID, gh.Name)
	wantNotFound(t, "GetFederatedCredential after its identity was deleted", err)
	list, err = s.ListFederatedCredentials(ctx, u2.PrincipalID)
	must(t, "ListFederatedCredentials(u2) after deleting u1", err)
	if len(list) != 2 {
		t.Errorf("deleting one identity changed another's credentials: %+v", list)
	}

	// Concurrent creates on one identity never get past the limit.
	u3 := newIdentity(lanyard.UserAssigned, "rg-Fed", "id-Busy")
	must(t, "CreateIdentity id-Busy", s.CreateIdentity(ctx, u3))
	var (
		wg         sync.WaitGroup
		created    atomic.Int32
		unexpected atomic.Value
	)
	for i := range lanyard.MaxFederatedCredentialsPerIdentity + 8 {
		wg.Go(func() {
			err := s.CreateFederatedCredential(ctx, newFederatedCredential(u3, fmt.Sprintf("race-%02d", i), fmt.Sprintf("sub-%d", i)))
			switch {
			case err == nil:
				created.Add(1)
			case lanyard.CodeOf(err) != lanyard.CodeFederatedCredentialLimit:
				unexpected.Store(err)
			}
		})
	}
	wg.Wait()
	if err, _ := unexpected.Load().(error); err != nil {
		t.Errorf("concurrent CreateFederatedCredential: %v", err)
	}
	list, err = s.ListFederatedCredentials(ctx, u3.PrincipalID)
	must(t, "ListFederatedCredentials after concurrent creates", err)
	if int(created.Load()) != lanyard.MaxFederatedCredentialsPerIdentity || len(list) != lanyard.MaxFederatedCredentialsPerIdentity {
		t.Errorf("concurrent creates: %d succeeded and %d are stored, want %d", created.Load(), len(list), lanyard.MaxFederatedCredentialsPerIdentity)
	}
}
