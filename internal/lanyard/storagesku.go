package lanyard

import (
	"slices"
	"strings"
)

// Storage account SKUs (sku.name), as Azure names them. The SKU says how an account's data
// is replicated; Lanyard keeps one copy whatever it is, and serves what the SKU promises to
// clients: a read-only secondary endpoint for the read-access geo-redundant ones.
const (
	SKUStandardLRS    = "Standard_LRS"
	SKUStandardGRS    = "Standard_GRS"
	SKUStandardRAGRS  = "Standard_RAGRS"
	SKUStandardZRS    = "Standard_ZRS"
	SKUStandardGZRS   = "Standard_GZRS"
	SKUStandardRAGZRS = "Standard_RAGZRS"
	SKUPremiumLRS     = "Premium_LRS"
	SKUPremiumZRS     = "Premium_ZRS"
)

// DefaultStorageSKU is the SKU of an account created without one, and of every account
// created before accounts had one.
const DefaultStorageSKU = SKUStandardLRS

var storageSKUs = []string{SKUStandardLRS, SKUStandardGRS, SKUStandardRAGRS, SKUStandardZRS, SKUStandardGZRS, SKUStandardRAGZRS, SKUPremiumLRS, SKUPremiumZRS}

// StorageSKU returns the SKU named name, spelled as Azure spells it (names are compared
// case-insensitively, as ARM compares enum values); ok is false for no SKU.
func StorageSKU(name string) (sku string, ok bool) {
	for _, s := range storageSKUs {
		if strings.EqualFold(s, name) {
			return s, true
		}
	}
	return "", false
}

// StorageSKUTier is the tier of sku (sku.tier): Standard or Premium.
func StorageSKUTier(sku string) string {
	tier, _, _ := strings.Cut(sku, "_")
	return tier
}

// ReadableSecondary reports whether sku has a secondary endpoint clients may read from
// (read-access geo-redundant storage: RA-GRS, RA-GZRS).
func ReadableSecondary(sku string) bool {
	return sku == SKUStandardRAGRS || sku == SKUStandardRAGZRS
}

// GeoRedundant reports whether sku replicates to a secondary region, readable or not.
func GeoRedundant(sku string) bool {
	return sku == SKUStandardGRS || sku == SKUStandardGZRS || ReadableSecondary(sku)
}

// redundancyFamilies are the SKUs an account may move between by an update: Azure adds or
// removes geo-replication (and read access to it) in place, while a change of the primary
// region's redundancy (LRS to ZRS) or of tier is a migration, not an update.
var redundancyFamilies = [][]string{
	{SKUStandardLRS, SKUStandardGRS, SKUStandardRAGRS},
	{SKUStandardZRS, SKUStandardGZRS, SKUStandardRAGZRS},
}

// StorageSKUChangeAllowed reports whether an update may change an account's SKU from
// from to to.
func StorageSKUChangeAllowed(from, to string) bool {
	if from == to {
		return true
	}
	for _, f := range redundancyFamilies {
		if slices.Contains(f, from) && slices.Contains(f, to) {
			return true
		}
	}
	return false
}
