package storetest

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store"
)

func testConcurrency(t *testing.T, s store.Store) {
	ctx := t.Context()

	// Two writers each make many read-modify-write updates to one row; every one must land.
	t.Run("NoLostUpdates", func(t *testing.T) {
		const workers, perWorker = 2, 25
		id := newIdentity(lanyard.UserAssigned, "rg-race", "id")
		id.Tags = map[string]string{"n": "0"}
		must(t, "CreateIdentity", s.CreateIdentity(ctx, id))

		start := make(chan struct{})
		errs := make(chan error, workers*perWorker)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				<-start
				for i := range perWorker {
					_, err := s.UpdateIdentity(ctx, id.PrincipalID, func(cur lanyard.Identity) (lanyard.Identity, error) {
						n, err := strconv.Atoi(cur.Tags["n"])
						if err != nil {
							return cur, err
						}
						// Copy rather than write into cur.Tags: the updater may run again.
						tags := map[string]string{}
						for k, v := range cur.Tags {
							tags[k] = v
						}
						tags["n"] = strconv.Itoa(n + 1)
						tags[fmt.Sprintf("w%d-%d", w, i)] = "x"
						cur.Tags = tags
						return cur, nil
					})
					if err != nil {
						errs <- err
					}
				}
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("UpdateIdentity: %v", err)
		}
		got, err := s.GetIdentity(ctx, id.PrincipalID)
		must(t, "GetIdentity", err)
		if got.Tags["n"] != strconv.Itoa(workers*perWorker) || len(got.Tags) != workers*perWorker+1 {
			t.Errorf("after %d concurrent updates: n = %s and %d tags; want n = %d and %d tags",
				workers*perWorker, got.Tags["n"], len(got.Tags), workers*perWorker, workers*perWorker+1)
		}
	})

	// Racing creators of one name: exactly one wins, the other gets Conflict.
	t.Run("OneCreatorWins", func(t *testing.T) {
		for round := range 10 {
			name := fmt.Sprintf("rg-race-%d", round)
			names := []string{name, "RG-RACE-" + strconv.Itoa(round)}
			var (
				start   = make(chan struct{})
				wg      sync.WaitGroup
				errs    = make([]error, 2)
				setErrs = make([]error, 2)
			)
			for i := range 2 {
				wg.Go(func() {
					<-start
					errs[i] = s.CreateGroup(ctx, newGroup(names[i]))
					setErrs[i] = s.CreateSetting(ctx, name, []byte(strconv.Itoa(i)))
				})
			}
			close(start)
			wg.Wait()
			oneWins(t, "CreateGroup "+name, errs)
			oneWins(t, "CreateSetting "+name, setErrs)
		}
	})

	// Racing creators of one Service Bus namespace name (in two groups), and of one queue
	// or topic name in a namespace (queues and topics share names): one wins.
	t.Run("OneServiceBusNameWins", func(t *testing.T) {
		for round := range 10 {
			name := fmt.Sprintf("sb-race-%d", round)
			spaces := []lanyard.ServiceBusNamespace{newServiceBusNamespace("rg-race-a", name), newServiceBusNamespace("rg-race-b", strings.ToUpper(name))}
			var (
				start             = make(chan struct{})
				wg                sync.WaitGroup
				errs, entityErrs  = make([]error, 2), make([]error, 2)
				queue, topic      = newServiceBusQueue(name, "entity"), lanyard.NewServiceBusTopic(name, "ENTITY")
				createInNamespace = []func() error{
					func() error { return s.CreateServiceBusQueue(ctx, queue) },
					func() error { return s.CreateServiceBusTopic(ctx, topic) },
				}
			)
			for i := range 2 {
				wg.Go(func() {
					<-start
					errs[i] = s.CreateServiceBusNamespace(ctx, spaces[i])
				})
			}
			close(start)
			wg.Wait()
			oneWinsWithCode(t, "CreateServiceBusNamespace "+name, errs, "NameInUse")
			start = make(chan struct{})
			for i := range 2 {
				wg.Go(func() {
					<-start
					entityErrs[i] = createInNamespace[i]()
				})
			}
			close(start)
			wg.Wait()
			oneWinsWithCode(t, "a queue and a topic named alike in "+name, entityErrs, "Conflict")
		}
	})

	// Racing creators of one PostgreSQL server name (in two groups), of one listen
	// address, of one role on a server and of one administrator: one wins.
	t.Run("OnePostgresBindingWins", func(t *testing.T) {
		for round := range 10 {
			name := fmt.Sprintf("pg-race-%d", round)
			servers := []lanyard.PostgresServer{newPostgresServer("rg-race-a", name, 8000+2*round), newPostgresServer("rg-race-b", strings.ToUpper(name), 8001+2*round)}
			listens := []lanyard.PostgresServer{newPostgresServer("rg-race-a", name+"-x", 8100+round), newPostgresServer("rg-race-a", name+"-y", 8100+round)}
			var (
				start               = make(chan struct{})
				wg                  sync.WaitGroup
				errs, listenErrs    = make([]error, 2), make([]error, 2)
				roleErrs, adminErrs = make([]error, 2), make([]error, 2)
				oid                 = guid()
				bind                = func(srv lanyard.PostgresServer, role, oid string, admin bool) lanyard.PostgresPrincipal {
					return lanyard.PostgresPrincipal{ServerID: srv.ResourceID, Role: role, ObjectID: oid, Type: lanyard.PostgresService, Admin: admin, CreatedAt: at(time.Minute)}
				}
			)
			for i := range 2 {
				wg.Go(func() {
					<-start
					errs[i] = s.CreatePostgresServer(ctx, servers[i])
					listenErrs[i] = s.CreatePostgresServer(ctx, listens[i])
				})
			}
			close(start)
			wg.Wait()
			oneWinsWithCode(t, "CreatePostgresServer "+name, errs, "ServerNameAlreadyExists")
			oneWinsWithCode(t, "CreatePostgresServer on one address", listenErrs, "ListenAddressInUse")
			var srv lanyard.PostgresServer
			for i, err := range errs {
				if err == nil {
					srv = servers[i]
				}
			}
			start = make(chan struct{})
			for i := range 2 {
				wg.Go(func() {
					<-start
					roleErrs[i] = s.CreatePostgresPrincipal(ctx, bind(srv, "app", guid(), false))
					adminErrs[i] = s.CreatePostgresPrincipal(ctx, bind(srv, fmt.Sprintf("admin%d", i), oid, true))
				})
			}
			close(start)
			wg.Wait()
			oneWins(t, "CreatePostgresPrincipal of one role", roleErrs)
			oneWins(t, "CreatePostgresPrincipal of one administrator", adminErrs)
		}
	})

	// Racing creators of one role assignment (under two ids, spelled in two cases), of one
	// role name and of one storage account name: one wins, the other gets the conflict
	// Azure reports.
	t.Run("OneAssignmentWins", func(t *testing.T) {
		for round := range 10 {
			scope := groupScope(fmt.Sprintf("rg-Race-%d", round))
			role, principal := guid(), guid()
			assignments := []lanyard.RoleAssignment{
				newRoleAssignment(scope, role, principal),
				newRoleAssignment(strings.ToUpper(scope), strings.ToUpper(role), strings.ToUpper(principal)),
			}
			roleNames := []string{fmt.Sprintf("Race Role %d", round), fmt.Sprintf("RACE role %d", round)}
			accounts := []lanyard.StorageAccount{
				newStorageAccount("rg-race-a", fmt.Sprintf("strace%d", round)),
				newStorageAccount("rg-race-b", fmt.Sprintf("STRACE%d", round)),
			}
			var (
				start                       = make(chan struct{})
				wg                          sync.WaitGroup
				errs, roleErrs, accountErrs = make([]error, 2), make([]error, 2), make([]error, 2)
			)
			for i := range 2 {
				wg.Go(func() {
					<-start
					errs[i] = s.CreateRoleAssignment(ctx, assignments[i])
					roleErrs[i] = s.CreateRoleDefinition(ctx, newRoleDefinition(roleNames[i]))
					accountErrs[i] = s.CreateStorageAccount(ctx, accounts[i])
				})
			}
			close(start)
			wg.Wait()
			oneWinsWithCode(t, "CreateRoleAssignment in "+scope, errs, "RoleAssignmentExists")
			oneWinsWithCode(t, "CreateRoleDefinition "+roleNames[0], roleErrs, "RoleDefinitionWithSameNameExists")
			oneWinsWithCode(t, "CreateStorageAccount "+accounts[0].Name, accountErrs, "StorageAccountAlreadyTaken")
			n, err := s.CountRoleAssignmentsOfRole(ctx, role)
			must(t, "CountRoleAssignmentsOfRole", err)
			if n != 1 {
				t.Errorf("after racing creates in %s: %d assignments of the role, want 1", scope, n)
			}
		}
	})
}

// oneWinsWithCode is oneWins where the loser's conflict must carry code.
func oneWinsWithCode(t *testing.T, what string, errs []error, code string) {
	t.Helper()
	oneWins(t, what, errs)
	for _, err := range errs {
		if lanyard.IsConflict(err) && lanyard.CodeOf(err) != code {
			t.Errorf("%s: the conflict carries code %q, want %q (%v)", what, lanyard.CodeOf(err), code, err)
		}
	}
}

func oneWins(t *testing.T, what string, errs []error) {
	t.Helper()
	ok, conflicts := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case lanyard.IsConflict(err):
			conflicts++
		default:
			t.Errorf("%s: unexpected error %v", what, err)
		}
	}
	if ok != 1 || conflicts != len(errs)-1 {
		t.Errorf("%s: %d succeeded and %d conflicted; want exactly one success", what, ok, conflicts)
	}
}
