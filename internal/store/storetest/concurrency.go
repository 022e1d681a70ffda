package storetest

import (
	"fmt"
	"strconv"
	"sync"
	"testing"

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
