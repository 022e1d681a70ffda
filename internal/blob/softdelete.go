package blob

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// Container soft delete, as Azure does it: with a retention period set on the account,
// Delete Container keeps the container with its blobs as a deleted version, which List
// Containers with include=deleted shows and Restore Container brings back under its
// name; once the period ends it is deleted for good.
//
// A soft-deleted container is moved (MetaStore.MoveContainer, one atomic step) into the
// store account deletedAccount under the name account/name!version. No request can
// address it there (account names are letters and digits; container names have no '/'
// or '!'), the account's listings, tag queries and blob reads do not see it, and the name
// is free for a new container at once, as in Azure. '!' sorts before every character of a
// container name, so the store lists deleted containers in the order of their names, each
// name's versions oldest first.
const deletedAccount = "$deleted"

// containerVersionLength is the length of a deleted container's version id: 16
// hexadecimal digits of the deletion's Windows file time, like Azure's (01D64EB9886F00C4).
const containerVersionLength = 16

// fileTimeEpoch is 1970-01-01 in Windows file time (100 ns ticks since 1601).
const fileTimeEpoch = 116444736000000000

func containerVersion(t time.Time) string {
	return fmt.Sprintf("%016X", uint64(t.UnixNano()/100+fileTimeEpoch))
}

func validContainerVersion(v string) bool {
	if len(v) != containerVersionLength {
		return false
	}
	_, err := strconv.ParseUint(v, 16, 64)
	return err == nil
}

// deletedName is the store name of a soft-deleted container.
func deletedName(account, name, version string) string {
	return account + "/" + name + "!" + version
}

// deletedView turns a soft-deleted container's record into what clients see: its own
// account and name, and its version.
func deletedView(c Container) (Container, bool) {
	acct, rest, ok := strings.Cut(c.Name, "/")
	if !ok {
		return Container{}, false
	}
	name, version, ok := strings.Cut(rest, "!")
	if !ok {
		return Container{}, false
	}
	c.Account, c.Name, c.Version = acct, name, version
	return c, true
}

// checkDelete checks a container deletion's lease id and conditions.
func (s *Service) checkDelete(c Container, cond Conditions) error {
	if err := c.Lease.checkUse(cond.LeaseID, true, s.now(), onContainer); err != nil {
		return err
	}
	return cond.checkWrite(true, c.ETag, c.LastModified)
}

// SoftDeleteContainer deletes a container like DeleteContainer but keeps it, with its
// blobs, as a deleted version for retain (DeleteContainer when retain is not positive),
// and returns that version as listings show it. The version loses its lease, as a
// deleted container can hold none.
func (s *Service) SoftDeleteContainer(ctx context.Context, account, name string, cond Conditions, retain time.Duration) (Container, error) {
	if retain <= 0 {
		return Container{}, s.DeleteContainer(ctx, account, name, cond)
	}
	if err := ValidateContainerName(name); err != nil {
		return Container{}, errContainerNotFound()
	}
	now := s.now()
	deleted := s.timestamp()
	for attempt := 0; ; attempt++ {
		// Two deletions of one name within a file-time tick would share a version: the
		// second moves on to the next tick.
		version := containerVersion(now.Add(time.Duration(attempt) * 100))
		c, err := s.meta.MoveContainer(ctx, account, name, func(c Container) (Container, error) {
			if err := s.checkDelete(c, cond); err != nil {
				return Container{}, err
			}
			c.Account, c.Name = deletedAccount, deletedName(account, name, version)
			c.Lease = Lease{}
			c.DeletedTime, c.RetainUntil = deleted, deleted.Add(retain)
			return c, nil
		})
		if attempt < 3 && lanyard.CodeOf(err) == CodeContainerAlreadyExists {
			continue
		}
		if err != nil {
			return Container{}, err
		}
		v, _ := deletedView(c)
		return v, nil
	}
}

// RestoreContainer brings the deleted version of a container back under its name, with
// its blobs: ContainerAlreadyExists when a container of that name exists,
// ContainerNotFound when there is no such version (or its retention has ended).
func (s *Service) RestoreContainer(ctx context.Context, account, name, version string) (Container, error) {
	if ValidateContainerName(name) != nil || !validContainerVersion(version) {
		return Container{}, errContainerNotFound()
	}
	now := s.now()
	stored := deletedName(account, name, version)
	expired := false
	c, err := s.meta.MoveContainer(ctx, deletedAccount, stored, func(c Container) (Container, error) {
		if expired = !now.Before(c.RetainUntil); expired {
			return Container{}, errContainerNotFound()
		}
		c.Account, c.Name = account, name
		c.DeletedTime, c.RetainUntil = time.Time{}, time.Time{}
		return c, nil
	})
	if expired {
		// Its purge is due: do it now rather than at the next collection.
		if perr := s.purgeDeleted(ctx, stored, now); perr != nil {
			s.log.Warn("blob: purging an expired deleted container", "container", stored, "err", perr)
		}
	}
	return c, err
}

// listDeleted returns up to limit soft-deleted containers of account, in the client's
// view, whose names start with prefix and whose listing keys (listKey) sort after after,
// leaving out those whose retention has ended.
func (s *Service) listDeleted(ctx context.Context, account, prefix, after string, limit int) ([]Container, error) {
	if strings.ContainsAny(prefix, "/!") {
		return nil, nil // no container name holds these
	}
	now := s.now()
	var out []Container
	from := account + "/" + after
	for len(out) < limit {
		want := limit - len(out)
		page, err := s.meta.ListContainers(ctx, deletedAccount, account+"/"+prefix, from, want)
		if err != nil {
			return nil, err
		}
		for _, c := range page {
			if v, ok := deletedView(c); ok && now.Before(c.RetainUntil) {
				out = append(out, v)
			}
		}
		if len(page) < want {
			break
		}
		from = page[len(page)-1].Name
	}
	return out, nil
}

// listKey orders a listing with deleted containers: each after the live container of
// its name ('!' sorts before every character of a name), by name, then version.
func listKey(c Container) string {
	if c.Version == "" {
		return c.Name
	}
	return c.Name + "!" + c.Version
}

// PurgeDeletedContainers deletes every soft-deleted container of account for good (its
// storage account is gone).
func (s *Service) PurgeDeletedContainers(ctx context.Context, account string) error {
	return s.purgeDeleted(ctx, account+"/", time.Time{})
}

// purgeDeleted deletes for good the soft-deleted containers whose store names start with
// prefix and whose retention has ended by now (every one when now is zero), freeing
// their content.
func (s *Service) purgeDeleted(ctx context.Context, prefix string, now time.Time) error {
	due := func(c Container) bool { return now.IsZero() || !now.Before(c.RetainUntil) }
	var errs []error
	after := ""
	for {
		page, err := s.meta.ListContainers(ctx, deletedAccount, prefix, after, MaxListResults)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		for _, c := range page {
			if !due(c) {
				continue
			}
			ids, err := s.meta.DeleteContainer(ctx, deletedAccount, c.Name, func(c Container) error {
				if !due(c) {
					return errContainerNotFound()
				}
				return nil
			})
			if err != nil && !lanyard.IsNotFound(err) {
				errs = append(errs, err)
				continue
			}
			s.reclaim.free(ids)
		}
		if len(page) < MaxListResults {
			return errors.Join(errs...)
		}
		after = page[len(page)-1].Name
	}
}

// RemainingRetentionDays is how many days, started days counted, a soft-deleted
// container is still kept at now (List Containers' RemainingRetentionDays).
func (c Container) RemainingRetentionDays(now time.Time) int {
	left := c.RetainUntil.Sub(now)
	if left <= 0 {
		return 0
	}
	return int((left + 24*time.Hour - 1) / (24 * time.Hour))
}
