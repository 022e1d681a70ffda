package directory

import (
	"cmp"
	"context"
	"regexp"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store"
)

var accountName = regexp.MustCompile(`^[a-z0-9]{3,24}$`)

func checkAccountName(name string) error {
	if !accountName.MatchString(name) {
		return lanyard.Errorf(lanyard.KindInvalid,
			"%s is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only.", clip(name)).
			WithCode("AccountNameInvalid")
	}
	return nil
}

func accountNotFound(name string) error {
	return lanyard.Errorf(lanyard.KindNotFound, "The storage account '%s' was not found.", clip(name)).WithCode("StorageAccountNotFound")
}

// NameAvailability says whether a name may be given to a new resource, and if not why, in
// ARM's checkNameAvailability terms.
type NameAvailability struct {
	Available bool
	Reason    string // AccountNameInvalid or AlreadyExists, when not available
	Message   string
}

// CheckStorageAccountName says whether name may be given to a new storage account: it is
// valid, and no group has an account of that name (names are global, as in Azure).
func (s *Service) CheckStorageAccountName(ctx context.Context, name string) (NameAvailability, error) {
	if err := checkAccountName(name); err != nil {
		return NameAvailability{Reason: "AccountNameInvalid", Message: lanyard.MessageOf(err)}, nil
	}
	_, err := s.store.GetStorageAccount(ctx, name)
	switch {
	case lanyard.IsNotFound(err):
		return NameAvailability{Available: true}, nil
	case err != nil:
		return NameAvailability{}, err
	}
	return NameAvailability{Reason: "AlreadyExists", Message: "The storage account named " + name + " is already taken."}, nil
}

// PutStorageAccount creates storage account name in group, or updates its tags and SKU.
// Account names are global: one taken in another group is refused. sku is a SKU name
// (lanyard.StorageSKU); "" keeps an account's SKU, and creates one with the default SKU.
func (s *Service) PutStorageAccount(ctx context.Context, group, name, location, sku string, tags map[string]string) (lanyard.StorageAccount, bool, error) {
	if err := checkAccountName(name); err != nil {
		return lanyard.StorageAccount{}, false, err
	}
	if sku != "" {
		known, ok := lanyard.StorageSKU(sku)
		if !ok {
			return lanyard.StorageAccount{}, false, invalidSKU(sku)
		}
		sku = known
	}
	return putInGroup(ctx, s, group,
		func(tx store.Store, _ lanyard.ResourceGroup) (lanyard.StorageAccount, error) {
			return tx.GetStorageAccount(ctx, name)
		},
		func(tx store.Store, g lanyard.ResourceGroup, existing lanyard.StorageAccount) (lanyard.StorageAccount, error) {
			if !lanyard.SameName(existing.ResourceGroup, g.Name) {
				return existing, lanyard.Errorf(lanyard.KindConflict, "The storage account named %s is already taken.", name).WithCode("StorageAccountAlreadyTaken")
			}
			return tx.UpdateStorageAccount(ctx, name, func(old lanyard.StorageAccount) (lanyard.StorageAccount, error) {
				if err := changeSKU(&old, sku); err != nil {
					return old, err
				}
				s.retag(&old.Tags, &old.UpdatedAt, tags)
				return old, nil
			})
		},
		func(tx store.Store, g lanyard.ResourceGroup) (lanyard.StorageAccount, error) {
			now := s.clock()
			a := lanyard.StorageAccount{
				Name: name, ResourceGroup: g.Name, Location: cmp.Or(location, g.Location), Tags: tags, CreatedAt: now, UpdatedAt: now,
				ResourceID: lanyard.ResourceIDOf(s.tenant.SubscriptionID, g.Name, lanyard.TypeStorageAccount, name),
				// Never 0 nor a deleted namesake's value: keys given out for an earlier
				// account of the same name must not come back to life.
				UserDelegationKeyGeneration: now.UnixNano(),
				SKU:                         cmp.Or(sku, lanyard.DefaultStorageSKU),
			}
			return a, tx.CreateStorageAccount(ctx, a)
		})
}

// invalidSKU is Azure's answer to a SKU name it does not know.
func invalidSKU(sku string) error {
	return lanyard.Errorf(lanyard.KindInvalid, "The SKU %s specified is not valid.", clip(sku)).WithCode("InvalidAccountType")
}

// changeSKU sets a's SKU to sku ("" keeps it), refusing the changes Azure does not make
// in place (see lanyard.StorageSKUChangeAllowed).
func changeSKU(a *lanyard.StorageAccount, sku string) error {
	if sku == "" || sku == a.SKU {
		return nil
	}
	if !lanyard.StorageSKUChangeAllowed(a.SKU, sku) {
		return lanyard.Errorf(lanyard.KindInvalid, "Storage account %s of SKU %s cannot be converted to SKU %s: an update may only add or remove geo-replication and its read access (Standard_LRS, Standard_GRS, Standard_RAGRS; Standard_ZRS, Standard_GZRS, Standard_RAGZRS).",
			a.Name, a.SKU, sku).WithCode("StorageAccountTypeConversionNotAllowed")
	}
	a.SKU = sku
	return nil
}

// RevokeUserDelegationKeys invalidates every user delegation key given out for account
// name in group, and so every SAS signed with one, on every node at once.
func (s *Service) RevokeUserDelegationKeys(ctx context.Context, group, name string) error {
	if _, err := s.GetStorageAccount(ctx, group, name); err != nil {
		return err
	}
	_, err := s.store.UpdateStorageAccount(ctx, name, func(a lanyard.StorageAccount) (lanyard.StorageAccount, error) {
		a.UserDelegationKeyGeneration++
		return a, nil
	})
	if lanyard.IsNotFound(err) {
		return accountNotFound(name)
	}
	return err
}

// BlobProtectionChange changes an account's blob data protection settings; a nil field
// leaves its setting as it is.
type BlobProtectionChange struct {
	Versioning             *bool // blob versioning (isVersioningEnabled)
	BlobRetentionDays      *int  // blob soft delete (deleteRetentionPolicy), 0: off
	ContainerRetentionDays *int  // container soft delete (containerDeleteRetentionPolicy), 0: off
}

// SetBlobProtection changes the blob data protection settings of account name in group
// ("" for any group); the caller checks the ranges.
func (s *Service) SetBlobProtection(ctx context.Context, group, name string, c BlobProtectionChange) (lanyard.StorageAccount, error) {
	if _, err := s.GetStorageAccount(ctx, group, name); err != nil {
		return lanyard.StorageAccount{}, err
	}
	acct, err := s.store.UpdateStorageAccount(ctx, name, func(a lanyard.StorageAccount) (lanyard.StorageAccount, error) {
		if c.Versioning != nil {
			a.BlobVersioning = *c.Versioning
		}
		if c.BlobRetentionDays != nil {
			a.BlobDeleteRetentionDays = *c.BlobRetentionDays
		}
		if c.ContainerRetentionDays != nil {
			a.ContainerDeleteRetentionDays = *c.ContainerRetentionDays
		}
		return a, nil
	})
	if lanyard.IsNotFound(err) {
		return acct, accountNotFound(name)
	}
	return acct, err
}

// GetStorageAccount returns account name, which must be in group ("" for any group).
func (s *Service) GetStorageAccount(ctx context.Context, group, name string) (lanyard.StorageAccount, error) {
	a, err := s.store.GetStorageAccount(ctx, name)
	if lanyard.IsNotFound(err) || err == nil && group != "" && !lanyard.SameName(a.ResourceGroup, group) {
		return lanyard.StorageAccount{}, accountNotFound(name)
	}
	return a, err
}

// ListStorageAccounts lists the accounts in group ("" for all).
func (s *Service) ListStorageAccounts(ctx context.Context, group string) ([]lanyard.StorageAccount, error) {
	if err := s.groupExists(ctx, group); err != nil {
		return nil, err
	}
	return s.store.ListStorageAccounts(ctx, group)
}

// ListStorageAccountsPage lists up to limit accounts in group ("" for all groups) whose
// names sort after after (compared case-insensitively; "" for the first page), ordered by
// name, unique across groups, as store.StorageAccounts.ListStorageAccountsPage orders
// them: passing the last name of each page walks every account once. A missing group is
// NotFound.
func (s *Service) ListStorageAccountsPage(ctx context.Context, group, after string, limit int) ([]lanyard.StorageAccount, error) {
	if err := s.groupExists(ctx, group); err != nil {
		return nil, err
	}
	return s.store.ListStorageAccountsPage(ctx, group, after, limit)
}

// DeleteStorageAccount deletes account name from group. The account's data is deleted by
// whoever listens to OnAccountDeleted.
func (s *Service) DeleteStorageAccount(ctx context.Context, group, name string) error {
	var (
		a       lanyard.StorageAccount
		removed []string
	)
	err := s.store.InTx(ctx, func(tx store.Store) error {
		var err error
		a, err = tx.GetStorageAccount(ctx, name)
		if lanyard.IsNotFound(err) || err == nil && !lanyard.SameName(a.ResourceGroup, group) {
			return accountNotFound(name)
		}
		if err != nil {
			return err
		}
		if removed, err = removeAssignmentsUnder(ctx, tx, a.ResourceID); err != nil {
			return err
		}
		return tx.DeleteStorageAccount(ctx, a.Name)
	})
	if err != nil {
		return err
	}
	s.assignmentsRemoved(removed)
	// The stored name, not the one asked for: ARM names are case-insensitive, Blob data
	// is kept under the stored name.
	s.accountDeleted(ctx, a.Name)
	return nil
}

func (s *Service) accountDeleted(ctx context.Context, name string) {
	if s.OnAccountDeleted != nil {
		s.OnAccountDeleted(ctx, name)
	}
}

// StorageAccounts answers what the Blob endpoint asks of storage accounts; the store
// behind the Service caches them.
type StorageAccounts struct{ Directory *Service }

// ResourceID returns account name's ARM id, the scope its role assignments are under.
func (a StorageAccounts) ResourceID(ctx context.Context, name string) (string, error) {
	acct, err := a.Directory.GetStorageAccount(ctx, "", name)
	return acct.ResourceID, err
}

// UserDelegationKeyGeneration returns the generation mixed into account name's user
// delegation keys (see Service.RevokeUserDelegationKeys).
func (a StorageAccounts) UserDelegationKeyGeneration(ctx context.Context, name string) (int64, error) {
	acct, err := a.Directory.GetStorageAccount(ctx, "", name)
	return acct.UserDelegationKeyGeneration, err
}

// BlobCORS returns account name's Blob CORS rules.
func (a StorageAccounts) BlobCORS(ctx context.Context, name string) ([]lanyard.CORSRule, error) {
	acct, err := a.Directory.GetStorageAccount(ctx, "", name)
	return acct.BlobCORS, err
}

// SetBlobCORS replaces account name's Blob CORS rules.
func (a StorageAccounts) SetBlobCORS(ctx context.Context, name string, rules []lanyard.CORSRule) error {
	_, err := a.Directory.store.UpdateStorageAccount(ctx, name, func(acct lanyard.StorageAccount) (lanyard.StorageAccount, error) {
		acct.BlobCORS = rules
		return acct, nil
	})
	return err
}

// ContainerDeleteRetention returns how long account name keeps a deleted container; 0
// when it does not.
func (a StorageAccounts) ContainerDeleteRetention(ctx context.Context, name string) (time.Duration, error) {
	acct, err := a.Directory.GetStorageAccount(ctx, "", name)
	return time.Duration(acct.ContainerDeleteRetentionDays) * 24 * time.Hour, err
}

// BlobDataProtection returns account name's blob versioning setting and its blob soft
// delete retention in days (0: off).
func (a StorageAccounts) BlobDataProtection(ctx context.Context, name string) (versioning bool, retentionDays int, err error) {
	acct, err := a.Directory.GetStorageAccount(ctx, "", name)
	return acct.BlobVersioning, acct.BlobDeleteRetentionDays, err
}

// SetBlobDataProtection changes account name's blob versioning and soft delete settings;
// a nil argument leaves its setting as it is.
func (a StorageAccounts) SetBlobDataProtection(ctx context.Context, name string, versioning *bool, retentionDays *int) error {
	_, err := a.Directory.SetBlobProtection(ctx, "", name, BlobProtectionChange{Versioning: versioning, BlobRetentionDays: retentionDays})
	return err
}

// AccountSKU returns the SKU of account name; ok is false when there is no such account.
// Only the account's own name, not a case variant of it, names it: Blob data is kept
// under the name as given.
func (a StorageAccounts) AccountSKU(ctx context.Context, name string) (sku string, ok bool, err error) {
	acct, err := a.Directory.GetStorageAccount(ctx, "", name)
	if lanyard.IsNotFound(err) || err == nil && acct.Name != name {
		return "", false, nil
	}
	return acct.SKU, err == nil, err
}

// BlobAnalytics returns account name's Storage Analytics settings.
func (a StorageAccounts) BlobAnalytics(ctx context.Context, name string) (lanyard.BlobAnalytics, error) {
	acct, err := a.Directory.GetStorageAccount(ctx, "", name)
	return acct.BlobAnalytics, err
}

// SetBlobAnalytics changes account name's Storage Analytics settings; a nil argument
// leaves its setting as it is.
func (a StorageAccounts) SetBlobAnalytics(ctx context.Context, name string, logging *lanyard.AnalyticsLogging, hour, minute *lanyard.AnalyticsMetrics) error {
	_, err := a.Directory.store.UpdateStorageAccount(ctx, name, func(acct lanyard.StorageAccount) (lanyard.StorageAccount, error) {
		if logging != nil {
			acct.BlobAnalytics.Logging = *logging
		}
		if hour != nil {
			acct.BlobAnalytics.HourMetrics = *hour
		}
		if minute != nil {
			acct.BlobAnalytics.MinuteMetrics = *minute
		}
		return acct, nil
	})
	if lanyard.IsNotFound(err) {
		return accountNotFound(name)
	}
	return err
}
