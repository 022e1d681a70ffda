"""Summarizes a mocha JSON report of Azurite's blob tests run against Lanyard.

Prints the counts, each failure with the group it was triaged into (docs/conformance.md
says why), and the pass rate over the tests that do not need shared key or account/service
SAS. The groups are matched on the test's title or its error; a failure that matches none
is "open" (a possible incompatibility) and counts against the rate like any other.
"""
import collections
import json
import re
import sys

# (group, where, pattern): where is "title" or "error". First match wins.
RULES = [
    # Needs shared key or account/service SAS: excluded from the rate.
    ("shared-key-or-sas", "error", r"computeHMACSHA256|Can only generate the (account )?SAS|Invalid sharedKeyCredential"),
    ("shared-key-or-sas", "title", r"^Shared Access Signature .*Copy blob across accounts (should require SAS|should error if hosts|should honor metadata|should fail if source is archived)|^Shared Access Signature .*Sync Copy blob across accounts"),
    ("shared-key-or-sas", "title", r"^Authentication Should not work without correct account (name|key)"),
    ("shared-key-or-sas", "title", r"getUserDelegationKey with (Key|SAS token) credential should fail"),
    # Not served: Lanyard answers 501 NotImplemented.
    ("501-not-served", "error", r"not implemented|501 !== 400"),
    # Public access: refused as on an Azure account that disallows it (409 PublicAccessNotPermitted).
    ("public-access-disabled", "error", r"Public access is not permitted"),
    # Azurite's own behaviour where Azure (or Azure's documentation) differs.
    ("azurite-specific", "title", r"lease condition should work|should refresh lease state"),  # lease ids that are not GUIDs
    ("azurite-specific", "title", r"setTier set default to|accessTierInferred as false"),  # x-ms-access-tier-inferred only when true
    ("azurite-specific", "title", r"create with invalid container name"),  # Azure's message says "specifed"
    ("azurite-specific", "title", r"^PageBlobAPIs uploadPages to .*(sequential|non-sequential) range|^PageBlobAPIs uploadPages with sequential pages"),  # adjacent ranges merged; Azure unverified (docs/conformance.md)
    ("azurite-specific", "title", r"resize override a sequential range"),  # a read past the end is 416 on Azure
    ("azurite-specific", "title", r"Seal append blob cannot append"),  # error message wording
    ("azurite-specific", "title", r"filter blob by tags with (invalid key chars|long key|invalid value chars|long value)|get blob tag with (invalid )?ifTags condition"),  # message wording
    ("azurite-specific", "title", r"listBlobHierarchySegment with all parameters configured"),  # include=snapshots with a delimiter is 400 on Azure
    ("azurite-specific", "title", r"Download a blob range should only return ContentMD5"),  # x-ms-blob-content-md5 only on ranged reads; the test does not await its delete
    ("azurite-specific", "title", r"Synchronized copy (append blob snapshot should work|blob should work for page blob)"),  # Copy Blob From URL copies block blobs only
    ("azurite-specific", "title", r"should list append blobs in container with sealed property"),  # the test does not await its creates and seals
]


def group_of(failure):
    message = (failure.get("err", {}).get("message") or "").replace("\n", " ")
    for group, where, pattern in RULES:
        text = failure["fullTitle"] if where == "title" else message
        if re.search(pattern, text, re.IGNORECASE):
            return group
    return "open"


report = json.load(open(sys.argv[1]))
stats = report["stats"]
groups = collections.Counter()
for failure in report["failures"]:
    group = group_of(failure)
    groups[group] += 1
    message = (failure.get("err", {}).get("message") or "").splitlines()
    print(f"FAIL [{group}] {failure['fullTitle']}: {message[0][:160] if message else ''}")
ran = stats["passes"] + stats["failures"]
excluded = groups["shared-key-or-sas"]
print(f"\ntests {stats['tests']}  passed {stats['passes']}  failed {stats['failures']}  pending {stats['pending']}")
for group, n in groups.most_common():
    print(f"  {group}: {n}")
print(f"pass rate without shared key/SAS: {stats['passes']}/{ran - excluded} = {100 * stats['passes'] / max(ran - excluded, 1):.1f}%")
