package storetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store"
)

// corsRules are kept as given, in order.
var corsRules = []lanyard.CORSRule{
	{AllowedOrigins: []string{"https://app.example"}, AllowedMethods: []string{"GET", "PUT"}, AllowedHeaders: []string{"x-ms-meta-*", "content-type"},
		ExposedHeaders: []string{"x-ms-request-id"}, MaxAgeSeconds: 600},
	{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}},
}

// analytics are Storage Analytics settings with every field set.
var analytics = lanyard.BlobAnalytics{
	Logging:       lanyard.AnalyticsLogging{Delete: true, Read: true, Write: true, RetentionDays: 5},
	HourMetrics:   lanyard.AnalyticsMetrics{Enabled: true, IncludeAPIs: true, RetentionDays: 3},
	MinuteMetrics: lanyard.AnalyticsMetrics{Enabled: true, RetentionDays: 365},
}

func testStorageAccounts(t *testing.T, s store.Store) {
	ctx := t.Context()

	a := newStorageAccount("rg-One", "stAlpha")
	b := newStorageAccount("RG-two", "stbeta")
	b.Location, b.CreatedAt, b.UpdatedAt = "eastus2", at(time.Hour), at(2*time.Hour)
	c := newStorageAccount("rg-one", "stGamma") // the same group, spelled otherwise
	for _, acc := range []lanyard.StorageAccount{a, b, c} {
		must(t, "CreateStorageAccount "+acc.Name, s.CreateStorageAccount(ctx, acc))
	}

	for _, name := range []string{"stAlpha", "stalpha", "STALPHA"} {
		got, err := s.GetStorageAccount(ctx, name)
		must(t, "GetStorageAccount "+name, err)
		same(t, "GetStorageAccount "+name, got, a, normStorageAccount)
	}
	got, err := s.GetStorageAccount(ctx, "STBETA")
	must(t, "GetStorageAccount b", err)
	same(t, "GetStorageAccount b", got, b, normStorageAccount)
	_, err = s.GetStorageAccount(ctx, "stdelta")
	wantCode(t, "GetStorageAccount of a missing account", err, lanyard.KindNotFound, "StorageAccountNotFound")

	// Names are unique across groups, whatever their case.
	for _, dup := range []lanyard.StorageAccount{
		newStorageAccount("rg-One", "STALPHA"),
		newStorageAccount("rg-Three", "stalpha"),
	} {
		dup.Location = "refused"
		err := s.CreateStorageAccount(ctx, dup)
		wantCode(t, "CreateStorageAccount with a taken name in "+dup.ResourceGroup, err, lanyard.KindConflict, "StorageAccountAlreadyTaken")
		if lanyard.IsConflict(err) && lanyard.MessageOf(err) != "The storage account named "+dup.Name+" is already taken." {
			t.Errorf("CreateStorageAccount with a taken name: message %q, want Azure's", lanyard.MessageOf(err))
		}
	}
	if got, err := s.GetStorageAccount(ctx, "stalpha"); err != nil {
		t.Errorf("GetStorageAccount after refused creates: %v", err)
	} else {
		same(t, "account after refused creates", got, a, normStorageAccount)
	}

	lists := []struct {
		group string
		want  []lanyard.StorageAccount
	}{
		{"", []lanyard.StorageAccount{a, b, c}},
		{"RG-ONE", []lanyard.StorageAccount{a, c}},
		{"rg-two", []lanyard.StorageAccount{b}},
		{"rg-three", nil},
	}
	for _, l := range lists {
		got, err := s.ListStorageAccounts(ctx, l.group)
		must(t, "ListStorageAccounts", err)
		sameSet(t, "ListStorageAccounts("+l.group+")", got, l.want, normStorageAccount, accountName)
	}

	var seen lanyard.StorageAccount
	updated, err := s.UpdateStorageAccount(ctx, "STALPHA", func(acc lanyard.StorageAccount) (lanyard.StorageAccount, error) {
		seen = acc
		acc.Tags = map[string]string{"data": "logs", "new": "tag"}
		acc.Location = "westus3"
		acc.UpdatedAt = at(3 * time.Hour)
		acc.UserDelegationKeyGeneration = 1<<40 + 7
		acc.BlobCORS = corsRules
		acc.ContainerDeleteRetentionDays = 14
		acc.BlobVersioning, acc.BlobDeleteRetentionDays = true, 7
		acc.SKU, acc.BlobAnalytics = lanyard.SKUStandardRAGZRS, analytics
		return acc, nil
	})
	must(t, "UpdateStorageAccount", err)
	same(t, "the value UpdateStorageAccount passes its updater", seen, a, normStorageAccount)
	want := a
	want.Tags, want.Location, want.UpdatedAt = map[string]string{"data": "logs", "new": "tag"}, "westus3", at(3*time.Hour)
	want.UserDelegationKeyGeneration = 1<<40 + 7
	want.BlobCORS = corsRules
	want.ContainerDeleteRetentionDays = 14
	want.BlobVersioning, want.BlobDeleteRetentionDays = true, 7
	want.SKU, want.BlobAnalytics = lanyard.SKUStandardRAGZRS, analytics
	same(t, "UpdateStorageAccount result", updated, want, normStorageAccount)
	got, err = s.GetStorageAccount(ctx, "stalpha")
	must(t, "GetStorageAccount after update", err)
	same(t, "GetStorageAccount after update", got, want, normStorageAccount)

	// Removing every tag, every CORS rule and every analytics setting must stick too.
	_, err = s.UpdateStorageAccount(ctx, "stalpha", func(acc lanyard.StorageAccount) (lanyard.StorageAccount, error) {
		acc.Tags, acc.BlobCORS, acc.BlobAnalytics = nil, nil, lanyard.BlobAnalytics{}
		return acc, nil
	})
	must(t, "UpdateStorageAccount clearing tags", err)
	if got, err := s.GetStorageAccount(ctx, "stalpha"); err != nil || len(got.Tags) != 0 || len(got.BlobCORS) != 0 || got.BlobAnalytics != (lanyard.BlobAnalytics{}) {
		t.Errorf("tags, CORS rules and analytics after clearing = %v, %v, %+v, %v; want none", got.Tags, got.BlobCORS, got.BlobAnalytics, err)
	}

	// An account created without a SKU has the default one.
	noSKU := newStorageAccount("rg-one", "stnosku")
	noSKU.SKU = ""
	must(t, "CreateStorageAccount without a SKU", s.CreateStorageAccount(ctx, noSKU))
	if got, err := s.GetStorageAccount(ctx, "stnosku"); err != nil || got.SKU != lanyard.DefaultStorageSKU {
		t.Errorf("SKU of an account created without one = %q, %v; want %s", got.SKU, err, lanyard.DefaultStorageSKU)
	}
	must(t, "DeleteStorageAccount stnosku", s.DeleteStorageAccount(ctx, "stnosku"))

	boom := errors.New("boom")
	_, err = s.UpdateStorageAccount(ctx, "stbeta", func(acc lanyard.StorageAccount) (lanyard.StorageAccount, error) {
		acc.Location = "changed"
		return acc, boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("UpdateStorageAccount with a failing updater: got %v, want the updater's error", err)
	}
	if got, err := s.GetStorageAccount(ctx, "stbeta"); err != nil || got.Location != b.Location {
		t.Errorf("a failed update changed the account: got %+v, %v", got, err)
	}

	called := false
	_, err = s.UpdateStorageAccount(ctx, "stdelta", func(acc lanyard.StorageAccount) (lanyard.StorageAccount, error) {
		called = true
		return acc, nil
	})
	wantCode(t, "UpdateStorageAccount of a missing account", err, lanyard.KindNotFound, "StorageAccountNotFound")
	if called {
		t.Error("UpdateStorageAccount called its updater for a missing account")
	}

	must(t, "DeleteStorageAccount", s.DeleteStorageAccount(ctx, strings.ToUpper(a.Name)))
	_, err = s.GetStorageAccount(ctx, a.Name)
	wantCode(t, "GetStorageAccount after delete", err, lanyard.KindNotFound, "StorageAccountNotFound")
	wantCode(t, "DeleteStorageAccount twice", s.DeleteStorageAccount(ctx, a.Name), lanyard.KindNotFound, "StorageAccountNotFound")
	list, err := s.ListStorageAccounts(ctx, "rg-one")
	must(t, "ListStorageAccounts after delete", err)
	sameSet(t, "ListStorageAccounts(rg-one) after delete", list, []lanyard.StorageAccount{c}, normStorageAccount, accountName)

	// The name is free again, in any group.
	again := newStorageAccount("rg-Two", "STALPHA")
	must(t, "CreateStorageAccount reusing a deleted name", s.CreateStorageAccount(ctx, again))
	if got, err := s.GetStorageAccount(ctx, "stalpha"); err != nil {
		t.Errorf("GetStorageAccount of the recreated account: %v", err)
	} else {
		same(t, "recreated account", got, again, normStorageAccount)
	}
	list, err = s.ListStorageAccounts(ctx, "RG-TWO")
	must(t, "ListStorageAccounts after recreating", err)
	sameSet(t, "ListStorageAccounts(RG-TWO) after recreating", list, []lanyard.StorageAccount{b, again}, normStorageAccount, accountName)
}
