-- A storage account's SKU (sku.name), Standard_LRS for the accounts made before accounts
-- had one, which is what they were reported as; and the Blob service's Storage Analytics
-- settings (Logging, HourMetrics, MinuteMetrics) as JSON, '' when all are off.
ALTER TABLE storage_accounts ADD COLUMN sku TEXT NOT NULL DEFAULT 'Standard_LRS';
ALTER TABLE storage_accounts ADD COLUMN blob_analytics TEXT NOT NULL DEFAULT '';
