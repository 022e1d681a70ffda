package blob

import (
	"context"
	"slices"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// CreateContainer creates an empty container.
func (s *Service) CreateContainer(ctx context.Context, account, name string, md Metadata) (Container, error) {
	if err := ValidateContainerName(name); err != nil {
		return Container{}, err
	}
	md, err := ValidateMetadata(md)
	if err != nil {
		return Container{}, err
	}
	now := s.timestamp()
	c := Container{Account: account, Name: name, Metadata: md, ETag: newETag(now), LastModified: now, CreatedAt: now}
	if err := s.meta.CreateContainer(ctx, c); err != nil {
		return Container{}, err
	}
	return c, nil
}

// GetContainer returns a container's properties and metadata.
func (s *Service) GetContainer(ctx context.Context, account, name string) (Container, error) {
	if err := ValidateContainerName(name); err != nil {
		// An invalid name cannot exist; Azure answers such reads with not found too.
		return Container{}, errContainerNotFound()
	}
	return s.meta.GetContainer(ctx, account, name)
}

// SetContainerMetadata replaces a container's metadata.
func (s *Service) SetContainerMetadata(ctx context.Context, account, name string, md Metadata, cond Conditions) (Container, error) {
	if err := ValidateContainerName(name); err != nil {
		return Container{}, errContainerNotFound()
	}
	md, err := ValidateMetadata(md)
	if err != nil {
		return Container{}, err
	}
	return s.meta.UpdateContainer(ctx, account, name, func(c Container) (Container, error) {
		// Set Container Metadata checks a lease id only when given.
		if err := c.Lease.checkUse(cond.LeaseID, false, s.now(), onContainer); err != nil {
			return Container{}, err
		}
		if err := cond.checkWrite(true, c.ETag, c.LastModified); err != nil {
			return Container{}, err
		}
		now := s.timestamp()
		c.Metadata, c.ETag, c.LastModified = md, newETag(now), now
		return c, nil
	})
}

// DeleteContainer deletes a container and every blob in it.
func (s *Service) DeleteContainer(ctx context.Context, account, name string, cond Conditions) error {
	if err := ValidateContainerName(name); err != nil {
		return errContainerNotFound()
	}
	ids, err := s.meta.DeleteContainer(ctx, account, name, func(c Container) error {
		return s.checkDelete(c, cond)
	})
	if err != nil {
		return err
	}
	s.reclaim.free(ids)
	return nil
}

// MaxAccessPolicies is the most stored access policies a container has, as in Azure.
const MaxAccessPolicies = 5

// SetContainerACL replaces a container's stored access policies.
func (s *Service) SetContainerACL(ctx context.Context, account, name string, policies []AccessPolicy, cond Conditions) (Container, error) {
	if err := ValidateContainerName(name); err != nil {
		return Container{}, errContainerNotFound()
	}
	if len(policies) > MaxAccessPolicies {
		return Container{}, lanyard.Errorf(lanyard.KindInvalid, "A container has at most %d stored access policies.", MaxAccessPolicies).WithCode(CodeInvalidXMLDocument)
	}
	seen := map[string]bool{}
	for _, p := range policies {
		if p.ID == "" || len(p.ID) > 64 || seen[p.ID] {
			return Container{}, lanyard.Errorf(lanyard.KindInvalid, "A signed identifier is empty, longer than 64 characters, or repeated.").WithCode(CodeInvalidXMLDocument)
		}
		seen[p.ID] = true
	}
	policies = slices.Clone(policies)
	return s.meta.UpdateContainer(ctx, account, name, func(c Container) (Container, error) {
		if err := cond.checkWrite(true, c.ETag, c.LastModified); err != nil {
			return Container{}, err
		}
		now := s.timestamp()
		c.AccessPolicies, c.ETag, c.LastModified = policies, newETag(now), now
		return c, nil
	})
}
